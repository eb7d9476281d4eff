"""Maps drawn on the server: decoding the boundaries, and the maps on the partnership page, the
municipality page and the national overview (/kaart/)."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from cooperation import geo, map_views, services
from cooperation.models import Municipality, Partnership, Source

SVM_URL = "/partnerships/schiedam-vlaardingen-maassluis-ict/"
MSG_URL = "/partnerships/maastricht-sittard-geleen-ict/"
CREDIT = "Kaartgegevens: CBS / Kadaster (PDOK), 2025"


@pytest.fixture(scope="module")
def topology():
    return geo.load()


@pytest.fixture(scope="module")
def raw_shapes(topology):
    return {shape.code: shape for shape in geo.shapes(topology)}


# --- Decoding ----------------------------------------------------------------------------------


def test_the_topology_holds_342_municipalities(topology, raw_shapes):
    assert len(topology["objects"][geo.OBJECT]["geometries"]) == 342
    assert len(raw_shapes) == 342
    assert geo.codes() == frozenset(raw_shapes)


@pytest.mark.django_db
def test_every_cbs_code_is_a_current_municipality_of_the_register(raw_shapes):
    current = set(Municipality.objects.current().values_list("cbs_code", flat=True))
    assert set(raw_shapes) == current


def test_arcs_are_delta_decoded_and_translated(topology):
    # The first arc starts at quantized [233829, 282437], then moves by [-4894, -3090].
    first = geo.decode_arcs(topology)[0]
    assert first[0] == (233829 + 13565, 282437 + 306960)
    assert first[1] == (233829 - 4894 + 13565, 282437 - 3090 + 306960)


def test_every_ring_is_closed_before_and_after_simplification(topology, raw_shapes):
    simplified = geo.shapes(topology, geo.simplify_arcs(geo.decode_arcs(topology), geo.TOLERANCE))
    for shape in [*raw_shapes.values(), *simplified]:
        for ring in shape.rings:
            assert len(ring) >= 4, shape.code
            assert ring[0] == ring[-1], shape.code


def test_every_coordinate_lies_in_the_rd_box_of_the_netherlands(raw_shapes):
    min_x, min_y, max_x, max_y = geo.RD_BOX
    for shape in raw_shapes.values():
        for x, y in (point for ring in shape.rings for point in ring):
            assert min_x <= x <= max_x and min_y <= y <= max_y, shape.code


# Computed once, independently of geo.py: the topology converted to GeoJSON by the reference
# decoder (npm topojson-client 3, `feature()`), measured with shapely 2 (planar, RD metres).
KNOWN = {
    "GM0606": ("Schiedam", 18_518_471.0, (86_011.41, 438_072.35)),  # one polygon
    "GM0363": ("Amsterdam", 223_325_821.5, (122_460.20, 486_398.07)),  # a multipolygon
}


@pytest.mark.parametrize("code", sorted(KNOWN))
def test_area_and_centroid_of_known_municipalities(raw_shapes, code):
    name, area, (x, y) = KNOWN[code]
    shape = raw_shapes[code]
    assert shape.name == name
    assert geo.area(shape) == pytest.approx(area, rel=0.01)
    centroid = geo.centroid(shape)
    assert centroid[0] == pytest.approx(x, rel=0.01) and centroid[1] == pytest.approx(y, rel=0.01)


def test_simplification_keeps_every_area_within_two_percent(topology, raw_shapes):
    simplified = geo.shapes(topology, geo.simplify_arcs(geo.decode_arcs(topology), geo.TOLERANCE))
    for shape in simplified:
        assert geo.area(shape) == pytest.approx(geo.area(raw_shapes[shape.code]), rel=0.02), shape.code


def test_douglas_peucker_drops_small_bumps_and_keeps_large_ones():
    line = [(0, 0), (50, 10), (100, 0), (150, 400), (200, 0)]
    assert geo.simplify(line, 150) == [(0, 0), (150, 400), (200, 0)]
    assert geo.simplify(line, 5) == line
    square = [(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)]
    closed = geo.simplify(square, 1_000)
    assert closed[0] == closed[-1] and len(closed) >= 4


def test_svg_path_is_compact_relative_path_data_flipped_north_up():
    data = geo.map_data()
    assert (data.frame.width, data.frame.height) == (2650, 3140)
    schiedam = geo.path("GM0606")
    assert re.fullmatch(r"(M\d+ \d+l[-\d ]+z)+", schiedam)
    # North is up: Groningen (north) has smaller y than Maastricht (south).
    assert data.boxes["GM0014"][3] < data.boxes["GM0935"][1]
    assert geo.path("GM9999") == ""


def test_the_static_outline_is_built_from_the_boundaries_and_carries_the_credit():
    call_command("build_map", "--check")  # raises SystemExit when stale
    svg = geo.outline_svg()
    assert CREDIT in svg and svg.count("<path id=") == 342


# Closing WhiteNoise's response sends request_finished, which checks the database connection.
@pytest.mark.django_db
def test_the_country_is_one_static_file_cached_for_a_year_that_the_maps_use(collected):
    from whitenoise.middleware import WhiteNoiseMiddleware

    url = staticfiles_storage.url("map/gemeenten.svg")
    assert url != "/static/map/gemeenten.svg"  # a hashed name
    with override_settings(DEBUG=False, WHITENOISE_AUTOREFRESH=False):
        middleware = WhiteNoiseMiddleware(lambda request: None)
    response = middleware(RequestFactory().get(url, HTTP_ACCEPT_ENCODING="gzip"))
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
    assert "max-age=315360000" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]
    response.close()
    # The maps draw it by that hashed name (the same include serves all three).
    html = render_to_string("cooperation/_map_partnership.html", map_views.partnership_map([], {}))
    assert f'<image href="{url}"' in html


# --- Areas of former municipalities ------------------------------------------------------------


@pytest.mark.django_db
def test_a_former_municipality_lies_in_the_area_at_the_end_of_its_successor_chain(municipality):
    geleen, grevenbicht, schiedam = municipality("GM0906"), municipality("GM0910"), municipality("GM0606")
    with CaptureQueriesContext(connection) as queries:
        assert map_views.areas_of([schiedam]) == {schiedam.pk: ("GM0606", "Schiedam")}
    assert len(queries) == 0
    # Grevenbicht merged into Born (1982), Born into Sittard-Geleen (2001).
    areas = map_views.areas_of([geleen, grevenbicht])
    assert areas == {geleen.pk: ("GM1883", "Sittard-Geleen"), grevenbicht.pk: ("GM1883", "Sittard-Geleen")}


# --- Pages -------------------------------------------------------------------------------------


def text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def map_of(page: str) -> str:
    return re.search(r'<figure class="map[^"]*" id="map".*?</figure>', page, re.S).group(0)


def highlighted(page: str) -> dict[str, str]:
    """{CBS code of the area drawn: state class} of the linked areas on the page's map."""
    code_of = {path: code for code, path in geo.map_data().paths.items()}
    link = r'<a href="[^"]+" class="map__area map__area--([\w-]+)">.*?<path d="([^"]+)"/></a>'
    areas = re.findall(link, map_of(page))
    return {code_of[path]: state for state, path in areas}


def titles(page: str) -> list[str]:
    return re.findall(r'class="map__area[^"]*"><title>([^<]*)</title>', map_of(page))


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.fixture
def geleen_partnership(db, municipality):
    """A partnership of a former municipality: Geleen and Stein, 1995, before Geleen merged."""
    partnership = Partnership.objects.create(name="ICT Westelijke Mijnstreek", slug="ict-westelijke-mijnstreek")
    source = Source.objects.create(title="Raadsbesluit", url="https://example.org/wm")
    services.event_record(
        partnership=partnership,
        kind="signed",
        date_text="1995-03-01",
        municipalities=[municipality("GM0906"), municipality("GM0971")],
        sources=[source],
    )
    return partnership


@pytest.mark.django_db
class TestPartnershipMap:
    def test_members_are_highlighted_by_state_with_links_and_titles(self, client):
        page = text(client.get(SVM_URL))
        assert highlighted(page) == {"GM0606": "active", "GM0622": "active", "GM0556": "ended"}
        assert "Maassluis: uitgetreden" in titles(page) and "Schiedam: lid" in titles(page)
        assert CREDIT in map_of(page)
        # The text equivalent on the same page.
        assert re.search(r"<dt>Uitgetreden</dt>\s*<dd><a href=\"/municipalities/GM0556/\">Maassluis</a></dd>", page)

    def test_the_other_seed_partnership(self, client):
        page = text(client.get(MSG_URL))
        assert highlighted(page) == {"GM0935": "active", "GM1883": "active"}
        assert CREDIT in map_of(page)

    def test_planned_members_and_municipalities_only_named_in_a_plan(self, client, msg, municipality):
        source = Source.objects.create(title="Plan", url="https://example.org/plan")
        services.event_record(
            partnership=msg,
            kind="joined",
            status="planned",
            date_text="2027",
            municipalities=[municipality("GM0917")],
            sources=[source],
        )
        services.event_record(
            partnership=msg,
            kind="study_commissioned",
            status="planned",
            date_text="",
            municipalities=[municipality("GM0983")],
            sources=[source],
        )
        page = text(client.get(MSG_URL))
        assert highlighted(page) == {"GM0935": "active", "GM1883": "active", "GM0917": "planned", "GM0983": "plan"}
        assert "Heerlen: gepland lid" in titles(page) and "Venlo: alleen genoemd in een plan" in titles(page)
        in_words = r"<dt>Alleen genoemd in een plan</dt>\s*<dd><a href=\"/municipalities/GM0983/\">Venlo</a>"
        assert re.search(in_words, page)

    def test_the_year_selector_redraws_membership_as_of_that_year(self, client):
        in_2015 = text(client.get(SVM_URL + "?year=2015"))
        assert highlighted(in_2015)["GM0556"] == "active"
        assert "Kaart van de leden in 2015" in in_2015
        in_2018 = text(client.get(SVM_URL + "?year=2018"))
        assert highlighted(in_2018)["GM0556"] == "ended"
        assert "uitgetreden vóór 2018" in in_2018
        before = text(client.get(SVM_URL + "?year=2010"))
        assert highlighted(before) == {}
        assert "nog geen lid in 2010" in before

    def test_a_bad_year_gets_a_dutch_message_and_the_present(self, client):
        page = text(client.get(SVM_URL + "?year=abc"))
        assert "Voer een geheel getal in." in page
        assert highlighted(page)["GM0556"] == "ended"
        assert "Zorg ervoor dat deze waarde hoogstens 2100 is." in text(client.get(SVM_URL + "?year=3000"))

    def test_a_former_municipality_is_drawn_as_part_of_its_successor(self, client, geleen_partnership):
        page = text(client.get(geleen_partnership.get_absolute_url()))
        assert highlighted(page) == {"GM1883": "active", "GM0971": "active"}
        assert "Geleen, nu deel van Sittard-Geleen: lid" in titles(page)
        assert "Geleen</a> (Geleen, nu deel van Sittard-Geleen)" in page
        # The link of the area goes to the member itself.
        assert '<a href="/municipalities/GM0906/" class="map__area map__area--active">' in page

    def test_query_count_is_unchanged_and_the_year_costs_none(self, client, svm):
        # partnership, pillars, agreements, their documents, latest verification, events, municipalities,
        # sources, participants, the events' documents
        assert count_queries(client, SVM_URL) == 10
        # cached: partnership, pillars, latest verification; the map of any year from the cache
        assert count_queries(client, SVM_URL + "?year=2015") == 3

    def test_a_former_member_costs_one_query_for_its_successor_chain(self, client, geleen_partnership):
        # the 10 of every partnership page less the documents of agreements (it has none; Geleen's
        # successor comes with the events' municipalities), + Geleen's area along its merged_into chain
        assert count_queries(client, geleen_partnership.get_absolute_url()) == 10
        # cached: as SVM's
        assert count_queries(client, geleen_partnership.get_absolute_url()) == 3

    def test_page_weight_grows_by_a_few_kilobytes(self, client):
        page = text(client.get(SVM_URL))
        start = page.index('<figure class="map')
        end = page.index("</dl>", page.index('class="map__text"'))
        # The map, its legend and credit, the year form and the text equivalent.
        assert len(page[start:end].encode()) < 4_500
        # The whole page: 30.7 KB before the map (same data), 34.8 KB with it, 39.9 KB with the
        # chart's complete legend and its layout for phones (names kept in view), and the links to
        # the agreements' own pages.
        assert len(page.encode()) < 42_000
        # The country itself is not inline: it is the static, cacheable background image.
        assert map_of(page).count("<path") == 3 + 1  # the members, one fill pattern
        assert 'href="/static/map/gemeenten.svg"' in page


@pytest.mark.django_db
class TestMunicipalityMap:
    def test_where_it_lies_and_its_partners_shaded_and_linked(self, client):
        page = text(client.get("/municipalities/GM0606/"))
        assert highlighted(page) == {"GM0622": "shade-3", "GM0556": "shade-3", "GM0606": "self"}
        assert "Vlaardingen: 1 gedeeld samenwerkingsverband" in titles(page)
        assert "Gemeenten waarmee Schiedam samenwerkte" in page
        assert '<td><a href="/municipalities/GM0622/">Vlaardingen</a></td><td>1</td>' in page
        assert CREDIT in map_of(page)

    def test_shading_follows_the_number_of_shared_partnerships(self, client, municipality):
        partnership = Partnership.objects.create(name="Tweede verband", slug="tweede-verband")
        services.event_record(
            partnership=partnership,
            kind="signed",
            date_text="2020",
            municipalities=[municipality("GM0606"), municipality("GM0622")],
            sources=[Source.objects.create(title="Bron", url="https://example.org/2")],
        )
        page = text(client.get("/municipalities/GM0606/"))
        assert highlighted(page) == {"GM0622": "shade-5", "GM0556": "shade-1", "GM0606": "self"}
        assert '<td><a href="/municipalities/GM0622/">Vlaardingen</a></td><td>2</td>' in page

    def test_a_former_municipality_is_shown_in_its_successors_area(self, client, geleen_partnership):
        page = text(client.get("/municipalities/GM0906/"))
        assert highlighted(page) == {"GM0971": "shade-3", "GM1883": "self"}
        assert "Geleen, nu deel van Sittard-Geleen" in titles(page)
        # Sittard-Geleen's own partners: Geleen's partnership stays on Geleen's page.
        successor = text(client.get("/municipalities/GM1883/"))
        assert highlighted(successor) == {"GM0935": "shade-3", "GM1883": "self"}

    def test_internal_partnerships_leave_no_trace_for_the_public(self, client, municipality):
        partnership = Partnership.objects.create(name="Intern verband", slug="intern-verband", visibility="internal")
        services.event_record(
            partnership=partnership,
            kind="signed",
            date_text="2020",
            municipalities=[municipality("GM0606"), municipality("GM0014")],
            sources=[Source.objects.create(title="Bron", url="https://example.org/3")],
        )
        assert "GM0014" not in highlighted(text(client.get("/municipalities/GM0606/")))
        assert "Groningen" not in text(client.get("/kaart/?order=-count")).split("</tr>")[1]
        client.force_login(get_user_model().objects.create_user("ambtenaar", password="correct-horse-battery-9"))
        assert "GM0014" in highlighted(text(client.get("/municipalities/GM0606/")))

    def test_query_count_cold_and_warm(self, client):
        # municipality, predecessors, stamp, count and page of memberships, latest events, partners
        assert count_queries(client, "/municipalities/GM0606/") == 7
        # municipality, predecessors, stamp: the partnerships and the map come from the cache
        assert count_queries(client, "/municipalities/GM0606/") == 3


def table_counts(page: str) -> dict[str, int]:
    rows = re.findall(r'<tr><td><a href="/(?:en/)?municipalities/GM\d{4}/">([^<]+)</a>.*?<td>(\d+)</td></tr>', page)
    return {name: int(count) for name, count in rows}


@pytest.mark.django_db
class TestCountryMap:
    def test_every_municipality_is_counted_and_the_active_ones_shaded(self, client):
        page = text(client.get("/kaart/"))
        counts = table_counts(page)
        assert len(counts) == 342
        assert {name for name, count in counts.items() if count} == {
            "Schiedam",
            "Vlaardingen",
            "Maassluis",
            "Maastricht",
            "Sittard-Geleen",
        }
        assert set(highlighted(page)) == {"GM0606", "GM0622", "GM0556", "GM0935", "GM1883"}
        assert "Schiedam: 1 samenwerkingsverband" in titles(page)
        assert CREDIT in map_of(page)
        assert "niet vastgelegd" in map_of(page)  # the legend's "none", distinct from "no data"

    def test_english_path(self, client):
        page = text(client.get("/en/map/"))
        assert "Map: number of partnerships per municipality" in page
        assert set(highlighted(page)) == {"GM0606", "GM0622", "GM0556", "GM0935", "GM1883"}

    def test_filters_pillar_legal_form_and_year(self, client):
        procurement = table_counts(text(client.get("/kaart/?pillar=joint_procurement&year=2020")))
        assert {name for name, count in procurement.items() if count} == {"Maastricht", "Sittard-Geleen"}
        in_2018 = table_counts(text(client.get("/kaart/?year=2018")))
        assert in_2018["Maassluis"] == 0 and in_2018["Schiedam"] == 1
        assert table_counts(text(client.get("/kaart/?year=2015")))["Maassluis"] == 1
        public_bodies = text(client.get("/kaart/?legal_form=wgr_public_body"))
        assert highlighted(public_bodies) == {} and "0 gemeenten namen deel" in public_bodies

    def test_bad_filters_are_reported_and_ignored(self, client):
        page = text(client.get("/kaart/?pillar=nonsense&year=abc"))
        assert "Sommige filters konden niet worden gebruikt" in page
        assert table_counts(page)["Schiedam"] == 1
        # The list's other parameters are not this page's filters: ignored without a message.
        assert "Sommige filters" not in text(client.get("/kaart/?municipality=GM0606&status=bogus"))

    def test_the_table_sorts_by_get_parameter(self, client):
        by_count = list(table_counts(text(client.get("/kaart/"))))
        assert by_count[:5] == ["Maassluis", "Maastricht", "Schiedam", "Sittard-Geleen", "Vlaardingen"]
        by_name = text(client.get("/kaart/?order=name&year=2015"))
        names = list(table_counts(by_name))
        assert names == sorted(names, key=str.casefold) and "Aalsmeer" in names[:5]
        assert 'aria-sort="ascending"><a href="?year=2015&amp;order=-name#map-table">Gemeente</a>' in by_name
        descending = list(table_counts(text(client.get("/kaart/?order=-name"))))
        assert descending[0] == "Zwolle"
        assert client.get("/kaart/?order=evil").status_code == 200

    def test_a_former_municipalitys_partnerships_count_for_its_successor(self, client, geleen_partnership):
        counts = table_counts(text(client.get("/kaart/")))
        assert counts["Sittard-Geleen"] == 2 and counts["Stein"] == 1
        assert table_counts(text(client.get("/kaart/?year=1996")))["Sittard-Geleen"] == 1

    def test_no_data_is_visibly_different_from_none(self, client):
        Municipality.objects.filter(cbs_code="GM0014").update(existed_until=datetime.date(2025, 1, 1))
        page = text(client.get("/kaart/"))
        assert '<g class="map__area map__area--nodata"><title>Groningen: geen gegevens</title>' in page
        assert "Geen gegevens: Groningen (GM0014)" in page

    def test_query_count_cold_and_warm(self, client):
        # stamp, counts per area, the current municipalities
        assert count_queries(client, "/kaart/?pillar=joint_procurement") == 3
        # stamp: the rendered map and table come from the cache
        assert count_queries(client, "/kaart/?pillar=joint_procurement") == 1

    def test_page_weight(self, client):
        page = text(client.get("/kaart/"))
        # Only the shaded municipalities are inline; the country is the static background.
        assert map_of(page).count("<path") == 5 + 1  # the five municipalities, one fill pattern
        assert len(page.encode()) < 50_000


def test_shade_classes():
    assert map_views.shade_classes(0) == []
    assert map_views.shade_classes(1) == [(1, 1, 3)]
    assert map_views.shade_classes(2) == [(1, 1, 1), (2, 2, 5)]
    assert map_views.shade_classes(52) == [(1, 10, 1), (11, 21, 2), (22, 31, 3), (32, 42, 4), (43, 52, 5)]

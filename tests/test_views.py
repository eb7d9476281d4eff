"""The public pages: content, filters, visibility and a fixed query count."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from cooperation import services, views
from cooperation.models import Event, Membership, Municipality, Partnership
from tests.factories import grow_register

pytestmark = pytest.mark.django_db

SVM_URL = "/partnerships/schiedam-vlaardingen-maassluis-ict/"
MSG_URL = "/partnerships/maastricht-sittard-geleen-ict/"


def text(response) -> str:
    return response.content.decode()


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


PAGES = [
    "/",
    "/partnerships/",
    "/partnerships/?q=samenwerking&pillar=joint_procurement&sort=name",
    "/partnerships/?province=Zuid-Holland&status=ending&year=2015",
    SVM_URL,
    "/municipalities/GM0606/",
    "/pillars/joint_procurement/",
    "/about/",
]


def cold_queries(client, url) -> int:
    """Queries of a page with nothing cached: no page has rendered anything it could reuse."""
    cache.clear()
    return count_queries(client, url)


def test_every_page_costs_the_same_queries_on_small_and_larger_data(client):
    small = {url: cold_queries(client, url) for url in PAGES}
    grow_register(30)
    large = {url: cold_queries(client, url) for url in PAGES}
    assert large == small
    # The partnership page is the dearest: 10 with the documents of its agreements and events.
    assert max(small.values()) <= 10


@pytest.mark.parametrize(
    ("url", "cold", "warm"),
    [
        # register stamp, active count, member count, latest events, their municipalities
        ("/", 5, 1),
        # stamp, municipality choices, count, the page's ids, the page, pillars, memberships;
        # warm: stamp and the page (its entries are cached)
        ("/partnerships/", 7, 2),
        ("/partnerships/?q=Schiedam&province=Zuid-Holland&sort=-first_date", 7, 2),
        # municipality, predecessors, stamp, count and page of memberships, latest events, partners on the map
        ("/municipalities/GM0606/", 7, 3),
        # pillar, stamp, count, the page's ids, the page, pillars, memberships
        ("/pillars/joint_procurement/", 7, 3),
    ],
)
def test_register_pages_query_counts_are_pinned_cold_and_warm(client, django_assert_num_queries, url, cold, warm):
    """Cold: nothing cached yet. Warm: what is read across the register comes from the cache,
    keyed on the register stamp; the rows shown are still read."""
    with django_assert_num_queries(cold):
        assert client.get(url).status_code == 200
    with django_assert_num_queries(warm):
        assert client.get(url).status_code == 200


def test_partnership_page_query_count_is_pinned(client, django_assert_num_queries, svm):
    with translation.override("nl"):
        # partnership, pillars, agreements, their documents, latest verification, events,
        # municipalities, sources, participants, the events' documents
        with django_assert_num_queries(10):
            assert client.get(SVM_URL).status_code == 200
        # the status, chart, timeline and agreements come from the cache: partnership, pillars,
        # latest verification
        with django_assert_num_queries(3):
            assert client.get(SVM_URL).status_code == 200


class TestPartnershipPage:
    def test_reads_who_left_when(self, client):
        page = text(client.get(SVM_URL))
        assert "Ondertekend op 16 april 2013 door Maassluis, Schiedam en Vlaardingen" in page
        assert "Maassluis trad uit in najaar 2016 – 2017" in page
        assert "Schiedam besloot in 2019 tot opzegging" in page
        assert '<time datetime="2013-04-16">16 april 2013</time>' in page
        assert "afgeblazen" in page  # the joint ICT organisation
        assert "Kor Kegel" in page and "8 mei 2019" in page
        assert "Nog te bepalen" in page  # the cost note, as the article says
        assert "kosten nog niet bekend" not in page

    def test_english_version(self, client):
        page = text(client.get("/en" + SVM_URL))
        assert '<html lang="en">' in page
        assert "Signed on 16 April 2013 by Maassluis, Schiedam and Vlaardingen" in page
        assert "Maassluis left in autumn 2016 – 2017" in page
        assert "autumn 2016" in page

    def test_chart_draws_lanes_and_vague_ranges(self, client):
        page = text(client.get(SVM_URL))
        assert page.count('class="chart__lane') == 3
        assert 'fill="url(#hatch)"' in page  # vague end of Maassluis drawn as a range
        assert "chart__marker--abandoned" in page

    def test_unknown_partnership_is_a_404_in_the_site_style(self, client):
        response = client.get("/partnerships/bestaat-niet/")
        assert response.status_code == 404
        assert "Pagina niet gevonden" in text(response)


class TestVisibility:
    @pytest.fixture
    def internal_event(self, svm, municipality):
        return services.event_record(
            partnership=svm,
            kind="evaluated",
            date_text="2018-06",
            municipalities=[municipality("Schiedam")],
            title="Vertrouwelijke evaluatie",
            visibility="internal",
        )

    def test_internal_event_is_hidden_from_the_public(self, client, internal_event):
        assert "Vertrouwelijke evaluatie" not in text(client.get(SVM_URL))
        assert "Vertrouwelijke evaluatie" not in text(client.get("/"))
        assert "Vertrouwelijke evaluatie" not in text(client.get("/municipalities/GM0606/"))

    def test_staff_see_internal_events_marked_internal(self, client, internal_event):
        staff = get_user_model().objects.create_user("ambtenaar", password="x-very-long-pw-1", is_staff=True)
        client.force_login(staff)
        page = text(client.get(SVM_URL))
        assert "Vertrouwelijke evaluatie" in page
        assert "badge--internal" in page

    def test_internal_partnership_is_a_404_for_the_public(self, client, svm):
        Partnership.objects.filter(pk=svm.pk).update(visibility="internal")
        assert client.get(SVM_URL).status_code == 404
        assert svm.name not in text(client.get("/partnerships/"))


class TestList:
    def results(self, client, query):
        response = client.get("/partnerships/?" + query)
        assert response.status_code == 200
        return {p.slug for p in response.context["page"].object_list}

    def test_search_finds_by_municipality_and_event_text(self, client):
        assert self.results(client, "q=Schiedam") == {"schiedam-vlaardingen-maassluis-ict"}
        assert self.results(client, "q=aanbesteding") == {"maastricht-sittard-geleen-ict"}
        # Dutch stemming: "ontvlechting" finds "ontvlochten"/"ontvlechting".
        assert "schiedam-vlaardingen-maassluis-ict" in self.results(client, "q=ontvlechting")

    @pytest.mark.parametrize(
        "query, expected",
        [
            ("municipality=GM0556", {"schiedam-vlaardingen-maassluis-ict"}),
            ("province=Limburg", {"maastricht-sittard-geleen-ict"}),
            ("pillar=joint_procurement", {"maastricht-sittard-geleen-ict"}),
            ("legal_form=covenant", {"maastricht-sittard-geleen-ict", "schiedam-vlaardingen-maassluis-ict"}),
            # Both rest on sources older than the horizon (2010, 2019): their status today is unknown.
            ("status=ending", set()),
            ("status=active", set()),
            ("status=unknown", {"maastricht-sittard-geleen-ict", "schiedam-vlaardingen-maassluis-ict"}),
            # The 2009 cooperation was the precursor; membership starts with the 2010 agreement.
            ("year=2009", set()),
            ("year=2010", {"maastricht-sittard-geleen-ict"}),
            ("year=2014", {"maastricht-sittard-geleen-ict", "schiedam-vlaardingen-maassluis-ict"}),
            ("q=Schiedam&pillar=joint_procurement", set()),
            ("q=Maastricht&pillar=joint_procurement", {"maastricht-sittard-geleen-ict"}),
        ],
    )
    def test_filters(self, client, query, expected):
        assert self.results(client, query) == expected

    @pytest.mark.parametrize("query", ["year=abc", "status=zzz", "pillar=<script>", "municipality=GM9999", "page=999"])
    def test_invalid_filter_values_get_a_message_not_a_500(self, client, query):
        response = client.get("/partnerships/?" + query)
        assert response.status_code == 200
        if "page" not in query:
            assert "error-summary" in text(response)
        assert "<script>" not in text(response)

    def test_empty_result_explains_itself(self, client):
        page = text(client.get("/partnerships/?q=Schiedam&pillar=joint_procurement"))
        assert "0 samenwerkingsverbanden" in page
        assert "Geen samenwerkingsverband voldoet aan al deze filters tegelijk." in page

    def test_filters_are_kept_in_pagination_links(self, client):
        grow_register(22)
        page = text(client.get("/partnerships/?legal_form=covenant&sort=name"))
        assert "legal_form=covenant&amp;sort=name&amp;page=2" in page

    def test_sorting(self, client):
        response = client.get("/partnerships/?sort=-first_date")
        slugs = [p.slug for p in response.context["page"].object_list]
        assert slugs == ["schiedam-vlaardingen-maassluis-ict", "maastricht-sittard-geleen-ict"]


def test_home_shows_counts_and_latest_events(client):
    response = client.get("/")
    # Maastricht–Sittard-Geleen's only source is of 2010: not "active now" (the other is ending).
    assert response.context["active_count"] == 0
    assert response.context["municipality_count"] == 0
    assert "Schiedam zegt de samenwerkingsovereenkomst ICT op" in text(response)


def test_home_counts_a_partnership_with_recent_evidence_as_active(client, settings):
    settings.PORTAL_EVIDENCE_HORIZON_DAYS = 365 * 30
    response = client.get("/")
    assert response.context["active_count"] == 1  # the other one is ending: termination decided
    assert response.context["municipality_count"] == 2  # Maastricht and Sittard-Geleen


def test_list_filter_status_active_follows_the_horizon(client, settings):
    settings.PORTAL_EVIDENCE_HORIZON_DAYS = 365 * 30
    response = client.get("/partnerships/?status=active")
    assert [p.slug for p in response.context["page"].object_list] == ["maastricht-sittard-geleen-ict"]


def test_municipality_page_shows_membership_and_merger_history(client):
    page = text(client.get("/municipalities/GM0556/"))
    assert "GM0556" in page and "https://identifier.overheid.nl/tooi/id/gemeente/gm0556" in page
    assert "najaar 2016 – 2017" in page
    geleen = text(client.get("/municipalities/GM0906/"))
    assert "Sittard-Geleen" in geleen and "31 december 2000" in geleen
    assert "Geleen" in text(client.get("/municipalities/GM1883/"))  # predecessors listed


def test_municipality_code_is_case_insensitive_and_unknown_is_404(client):
    assert client.get("/municipalities/gm0556/").status_code == 200
    assert client.get("/municipalities/GM9999/").status_code == 404


def test_pillar_page(client):
    page = text(client.get("/pillars/joint_procurement/"))
    assert "Gezamenlijke inkoop" in page and "ICT-samenwerking Maastricht en Sittard-Geleen" in page
    assert client.get("/pillars/unknown/").status_code == 404
    assert "Joint procurement" in text(client.get("/en/pillars/joint_procurement/"))


def test_municipality_filter_keeps_the_choice_and_escapes_names(client, svm):
    Municipality.objects.filter(cbs_code="GM0622").update(name="Vlaardingen <b>&</b>")
    page = text(client.get("/partnerships/?municipality=GM0606"))
    assert '<option value="GM0606" selected>Schiedam</option>' in page
    assert '<option value="GM0622">Vlaardingen &lt;b&gt;&amp;&lt;/b&gt;</option>' in page
    assert '<select name="municipality" id="id_municipality">' in page


def test_municipality_page_pages_its_partnerships(client, monkeypatch):
    monkeypatch.setattr(views, "MEMBERSHIPS_PER_PAGE", 1)
    grow_register(16)  # the first of grow_register's municipalities joins its 1st and 16th partnership
    code = Municipality.objects.current().order_by("cbs_code").first().cbs_code
    assert Membership.objects.for_audience(False).filter(municipality__cbs_code=code).count() == 2
    first = text(client.get(f"/municipalities/{code}/"))
    assert "2 lidmaatschappen, nieuwste eerst." in first and 'href="?page=2" rel="next"' in first
    assert first.count('<th scope="row">') == 1
    second = text(client.get(f"/municipalities/{code}/?page=2"))
    assert second.count('<th scope="row">') == 1 and 'rel="prev"' in second


def test_pillar_page_is_paginated(client):
    grow_register(25)  # partnership n gets the first 1 + n % 4 pillars: knowledge sharing for all
    first = text(client.get("/pillars/knowledge_sharing/"))
    assert "26 samenwerkingsverbanden" in first and 'href="?page=2" rel="next"' in first
    second = client.get("/pillars/knowledge_sharing/?page=2")
    assert len(second.context["cards"]) == 6


def test_about_page_says_how_current_the_data_is(client, msg, admin_user):
    # The demo carries no verification: none happened.
    assert "Er is nog geen samenwerkingsverband met de bronnen vergeleken." in text(client.get("/about/"))
    services.verification_record(partnership=msg, by=admin_user, verified_on=datetime.date(2026, 11, 23))
    assert "23 november 2026" in text(client.get("/about/"))


def test_every_page_has_a_language_switch(client):
    for url in PAGES:
        page = text(client.get(url))
        assert 'hreflang="en"' in page and '<html lang="nl">' in page


def test_planned_events_are_marked_as_planned(client):
    event = Event.objects.get(kind="tender_launched")
    page = text(client.get(MSG_URL))
    assert f'id="event-{event.uid}"' in page
    assert "event--planned" in page and "omstreeks december 2010" in page

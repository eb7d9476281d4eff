"""What a council member reads: Dutch content marked as Dutch on English pages (WCAG 3.1.2), the
chart's complete legend, regions with names of their own, and a favicon."""

import datetime
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from cooperation import chart, timeline
from cooperation.dates import parse_date

pytestmark = pytest.mark.django_db

SVM_URL = "/partnerships/schiedam-vlaardingen-maassluis-ict/"
MSG_URL = "/partnerships/maastricht-sittard-geleen-ict/"


def text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_dutch_content_on_english_pages_is_marked_dutch(client):
    page = text(client.get("/en" + SVM_URL))
    assert '<h1><span lang="nl">ICT-samenwerking Schiedam, Vlaardingen en Maassluis</span></h1>' in page
    assert '<p lang="nl">Samenwerking van Schiedam, Vlaardingen en Maassluis op het gebied van ICT' in page
    # Event titles and source titles; the kind of event is in English, the title in Dutch.
    assert re.search(r'<span class="event__kind">[A-Z][^<]*</span>: <span lang="nl">', page)
    assert re.search(r'(?:rel="noopener">|<cite>)<span lang="nl">[^<]+</span>', page)
    listing = text(client.get("/en/partnerships/"))
    assert '<span lang="nl">ICT-samenwerking Schiedam, Vlaardingen en Maassluis</span></a></h3>' in listing
    municipality = text(client.get("/en/municipalities/GM0606/"))
    assert '<span lang="nl">ICT-samenwerking Schiedam, Vlaardingen en Maassluis</span></a>' in municipality
    home = text(client.get("/en/"))
    assert '– <span lang="nl">' in home  # the partnership of each latest event


def test_dutch_pages_do_not_mark_their_own_language(client):
    page = text(client.get(SVM_URL))
    assert ' lang="nl"' not in page.replace('<html lang="nl">', "")


def test_the_members_table_region_is_not_named_like_its_section(client):
    page = text(client.get(SVM_URL))
    assert 'role="region" aria-labelledby="members-caption"' in page
    assert '<caption id="members-caption" class="visually-hidden">Lidmaatschap per gemeente</caption>' in page
    municipality = text(client.get("/municipalities/GM0606/"))
    assert 'role="region" aria-labelledby="partnerships-caption"' in municipality
    assert (
        '<caption id="partnerships-caption" class="visually-hidden">Lidmaatschappen van Schiedam</caption>'
        in municipality
    )


def test_the_legend_names_what_the_chart_draws(client, svm):
    page = text(client.get(SVM_URL))
    legend = page[page.index('<ul class="legend">') : page.index("</figcaption>")]
    for words in (
        "lid",
        "vage datum van toetreden of vertrek",
        "gebeurtenis die plaatsvond; een blok als de datum vaag is",
        "afgeblazen; een doorgekruist blok",
        "vandaag (",
    ):
        assert words in legend, words
    assert ">vandaag</text>" in page  # the dashed line is labelled in the chart too
    # The planned disentanglement and the settling of its costs have no date: they are drawn in a
    # column of their own, and the legend says so.
    assert "geen datum: gebeurtenissen zonder vastgelegde datum, in de kolom rechts" in legend
    plot = page[page.index('<svg class="chart__plot"') : page.index("</svg>", page.index('class="chart__plot"'))]
    assert ">geen datum</text>" in plot
    undated = re.findall(
        r'class="chart__marker chart__marker--planned"><title>([^<]+): datum niet vastgelegd</title>', plot
    )
    assert len(undated) == 4  # two events, each of Schiedam and Vlaardingen


def test_a_favicon_is_linked_and_served(client):
    page = text(client.get("/"))
    assert '<link rel="icon" href="/static/favicon.ico"' in page
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/favicon.ico"
    assert finders.find("favicon.ico") and finders.find("favicon.svg")
    with open(finders.find("favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00"  # an ICO file


# The chart's geometry (pure: facts in, coordinates out).

A, B = timeline.MunicipalityRef(1, "Aadorp"), timeline.MunicipalityRef(2, "Borne")


def event(key, kind, date_text, *municipalities, status="happened"):
    return timeline.EventFacts(key, kind, status, parse_date(date_text), municipalities, created=key)


def test_a_summarised_chart_counts_events_per_year_and_draws_none_alone():
    events = [event(0, "signed", "2010-10-27", A, B)]
    events += [event(n, "evaluated", str(2011 + n % 3), A, B) for n in range(1, 301)]
    memberships = timeline.derive_memberships(events)
    drawn = chart.chart(events, memberships, datetime.date(2026, 12, 1), summarise=True)
    assert all(not lane.markers for lane in drawn.lanes) and len(drawn.lanes) == 2
    assert [(bar.year, bar.count) for bar in drawn.counts] == [(2010, 1), (2011, 100), (2012, 100), (2013, 100)]
    tallest = max(bar.height for bar in drawn.counts)
    assert all(bar.y + bar.height == drawn.counts[0].y + drawn.counts[0].height for bar in drawn.counts)
    assert drawn.counts[0].height < tallest and drawn.height > drawn.counts_y + tallest
    whole = chart.chart(events, memberships, datetime.date(2026, 12, 1))
    assert whole.counts is None and sum(len(lane.markers) for lane in whole.lanes) == 2 * 301


def test_undated_events_get_a_column_and_year_labels_do_not_crowd():
    events = [
        event(1, "signed", "1990-01-01", A, B),
        event(2, "costs_settled", "", A, status="planned"),
    ]
    drawn = chart.chart(events, timeline.derive_memberships(events), datetime.date(2026, 12, 1))
    middle, width = drawn.undated
    assert middle + width / 2 <= drawn.width
    (undated,) = [marker for marker in drawn.lanes[0].markers if marker.x == middle]
    assert undated.status == "planned" and not drawn.lanes[1].markers[1:]
    # 37 years in the plot: a label every 5 years, each at least a label's width from the next.
    xs = [x for x, _label in drawn.years]
    assert [label for _x, label in drawn.years][:3] == ["1990", "1995", "2000"]
    assert min(b - a for a, b in zip(xs, xs[1:], strict=False)) >= 52
    assert drawn.years[-1][0] + 44 <= middle - width / 2 + 16


def test_the_agreements_register_marks_its_dutch_content_on_english_pages(client, msg):
    from cooperation.models import Agreement

    agreement = Agreement.objects.get(partnership=msg, title="Samenwerkingsovereenkomst ICT en dienstverlening")
    page = text(client.get("/en" + agreement.get_absolute_url()))
    assert '<h1><span lang="nl">Samenwerkingsovereenkomst ICT en dienstverlening</span></h1>' in page
    assert '<p lang="nl">Ondertekend door de wethouders' in page
    assert 'of <span lang="nl">ICT-samenwerking Maastricht en Sittard-Geleen</span>' in page
    listing = text(client.get("/en/agreements/"))
    assert '<span lang="nl">Samenwerkingsovereenkomst ICT en dienstverlening</span></a></h3>' in listing
    assert '<span lang="nl">ICT-samenwerking Maastricht en Sittard-Geleen</span></a></dd>' in listing


def test_unknown_since_the_latest_source_does_not_look_like_an_open_end():
    """Two legend entries, two meanings: "end not yet known" (leaving) and "unknown since the latest
    source" (stale) must not share one swatch, on screen nor in print (where strokes turn black)."""
    css = Path(finders.find("css/portal.css")).read_text(encoding="utf-8")

    def dasharray(selector: str) -> str:
        match = re.search(re.escape(selector) + r"\s*\{[^}]*stroke-dasharray:\s*([^;]+);", css)
        return match.group(1).strip() if match else ""

    assert dasharray(".chart__unknown") not in ("", dasharray(".chart__open"), dasharray(".chart__planned"))
    print_rules = css[css.index("@media print {") :]
    assert not re.search(r"\.chart__unknown\s*\{[^}]*stroke-dasharray", print_rules)  # kept in print

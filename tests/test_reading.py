"""What a council member reads: Dutch content marked as Dutch on English pages (WCAG 3.1.2), the
chart's complete legend, regions with names of their own, and a favicon."""

import re

import pytest
from django.contrib.staticfiles import finders

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

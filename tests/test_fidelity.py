"""What a reader sees of the two seed cases, sentence by sentence, against the articles (shared/seeds/).

Written from the articles, not from the output: Maastricht–Sittard-Geleen rests on one press release
of 27 October 2010 (signing; a tender planned for the end of that year; a regional company voiced by
one alderman as an ambition; a 2009 precursor); Schiedam–Vlaardingen–Maassluis on one news article of
8 May 2019 (agreement of 16 April 2013; Maassluis decides in autumn 2016 to stay independent and is
disentangled in 2017; Schiedam's executive terminates the agreement in 2019; a joint organisation is
off; disentanglement and its costs are still to come). Both sources are older than the horizon, so
no page may call either partnership, or any member, current without saying how old its source is.
A regression in a derivation or a template shows up here as a changed sentence.
"""

import html
import re

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format

from cooperation import services

pytestmark = pytest.mark.django_db

MSG_URL = "/partnerships/maastricht-sittard-geleen-ict/"
SVM_URL = "/partnerships/schiedam-vlaardingen-maassluis-ict/"


def words(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def badge(body: str) -> str:
    return words(re.search(r'<span class="badge badge--status-[a-z]+">(.*?)</span>', body, re.S).group(1))


def status_sentence(body: str) -> str:
    return words(re.search(r'<p class="lead status-sentence">(.*?)</p>', body, re.S).group(1))


def members_table(body: str) -> list[str]:
    table = re.search(r'<table class="members">(.*?)</table>', body, re.S).group(1)
    return [
        " | ".join(words(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S))
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]


def timeline_lines(body: str) -> list[str]:
    """'when | kind: title | status', then each 'decided by', 'proposed by' and 'costs' fact indented."""
    lines = []
    for item in re.findall(r'<li class="event[^"]*" id="event-[^"]*">(.*?)</li>\n', body, re.S):
        when = words(re.search(r'event__when">(.*?)</p>', item, re.S).group(1))
        title = words(re.search(r'event__title">(.*?)</h3>', item, re.S).group(1)).replace(" : ", ": ")
        status = words(re.search(r'<span class="badge badge--[a-z]+">(.*?)</span>', item, re.S).group(1))
        lines.append(f"{when} | {title} | {status}")
        for term, value in re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", item, re.S):
            if words(term) in ("Besloten door", "Decided by", "Voorgesteld door", "Proposed by", "Kosten", "Costs"):
                lines.append(f"  {words(term)}: {words(value)}")
    return lines


MSG_NL = {
    "badge": "actief volgens de laatste bron (27 oktober 2010)",
    "sentence": (
        "Ondertekend op 27 oktober 2010 door Maastricht en Sittard-Geleen; de laatste bron dateert van "
        "27 oktober 2010; of dit nog zo is, is niet vastgelegd."
    ),
    "members": [
        "Gemeente | Lid sinds | Besluit tot uittreding | Uitgetreden | Ontvlochten | Nu",
        "Maastricht | 27 oktober 2010 | – | – | – | lid volgens de laatste bron (27 oktober 2010)",
        "Sittard-Geleen | 27 oktober 2010 | – | – | – | lid volgens de laatste bron (27 oktober 2010)",
    ],
    "timeline": [
        "oktober 2009 | Overig: Voorafgaande samenwerking bij de inhuur van ICT-dienstverleners | gebeurd",
        "27 oktober 2010 | Ondertekend: Samenwerkingsovereenkomst ICT en dienstverlening ondertekend | gebeurd",
        "omstreeks december 2010 | Aanbesteding gestart: Gezamenlijke Europese aanbesteding voor een "
        "mantelovereenkomst | gepland voor omstreeks december 2010, niet bevestigd",
        "  Kosten: Kostenreductie verwacht; geen bedrag genoemd",
        "datum niet vastgelegd | Overig: Een regionaal bedrijf voor ICT en dienstverlening | gepland",
        "  Voorgesteld door: wethouder Pieter Meekels (Sittard-Geleen)",
    ],
}

MSG_EN = {
    "badge": "active according to the latest source (27 October 2010)",
    "sentence": (
        "Signed on 27 October 2010 by Maastricht and Sittard-Geleen; the latest source dates from "
        "27 October 2010; whether this still holds is not recorded."
    ),
    "members": [
        "Municipality | Member since | Decision to leave | Left | Disentangled | Now",
        "Maastricht | 27 October 2010 | – | – | – | member according to the latest source (27 October 2010)",
        "Sittard-Geleen | 27 October 2010 | – | – | – | member according to the latest source (27 October 2010)",
    ],
    "timeline": [
        "October 2009 | Other: Voorafgaande samenwerking bij de inhuur van ICT-dienstverleners | happened",
        "27 October 2010 | Signed: Samenwerkingsovereenkomst ICT en dienstverlening ondertekend | happened",
        "around December 2010 | Tender launched: Gezamenlijke Europese aanbesteding voor een "
        "mantelovereenkomst | planned for around December 2010, not confirmed",
        "  Costs: Kostenreductie verwacht; geen bedrag genoemd",
        "date not recorded | Other: Een regionaal bedrijf voor ICT en dienstverlening | planned",
        "  Proposed by: wethouder Pieter Meekels (Sittard-Geleen)",
    ],
}

SVM_NL = {
    "badge": "loopt af volgens de laatste bron (8 mei 2019)",
    "sentence": (
        "Ondertekend op 16 april 2013 door Maassluis, Schiedam en Vlaardingen; Maassluis trad uit in "
        "najaar 2016 – 2017; Schiedam besloot in 2019 tot opzegging; de laatste bron dateert van 8 mei 2019; "
        "of dit nog zo is, is niet vastgelegd."
    ),
    "members": [
        "Gemeente | Lid sinds | Besluit tot uittreding | Uitgetreden | Ontvlochten | Nu",
        "Maassluis | 16 april 2013 | najaar 2016 | najaar 2016 – 2017 (geen datum van uittreding vastgelegd) "
        "| 2017 | uitgetreden",
        "Schiedam | 16 april 2013 | besluit tot opzegging 2019 | – | datum niet vastgelegd (gepland) "
        "| treedt uit volgens de laatste bron (8 mei 2019)",
        # Schiedam decided; for Vlaardingen it is the partnership's fate, not its own decision.
        "Vlaardingen | 16 april 2013 | opzegging door Schiedam (2019) | – | datum niet vastgelegd (gepland) "
        "| treedt uit volgens de laatste bron (8 mei 2019)",
    ],
    "timeline": [
        "16 april 2013 | Ondertekend: Samenwerkingsovereenkomst ICT gesloten | gebeurd",
        "najaar 2016 | Besluit tot uittreding: Maassluis besluit op ICT-gebied zelfstandig te blijven | gebeurd",
        "  Besloten door: niet vastgelegd",
        "2017 | Ontvlochten: ICT-omgeving van Maassluis ontvlochten | gebeurd",
        "  Kosten: niet vastgelegd",
        "april 2017 | Onderzoek gestart: Nader onderzoek naar verdergaande integratie | gebeurd",
        "  Besloten door: gemeentesecretarissen en directie",
        "2019 | Overig: Eén gezamenlijke ICT-organisatie | afgeblazen",
        "2019 | Besluit tot opzegging: Schiedam zegt de samenwerkingsovereenkomst ICT op | gebeurd",
        "  Besloten door: college van B&W",
        "datum niet vastgelegd | Ontvlechting gestart: Ontvlechting van Schiedam en Vlaardingen | gepland",
        "  Kosten: niet vastgelegd",
        "datum niet vastgelegd | Kosten verrekend: Verrekening van de ontvlechtingskosten | gepland",
        "  Kosten: Nog te bepalen; de kosten voor Schiedam hangen mede af van afspraken over de verrekening "
        "met Vlaardingen.",
    ],
}

SVM_EN = {
    "badge": "ending according to the latest source (8 May 2019)",
    "sentence": (
        "Signed on 16 April 2013 by Maassluis, Schiedam and Vlaardingen; Maassluis left in autumn 2016 – 2017; "
        "Schiedam decided in 2019 to terminate it; the latest source dates from 8 May 2019; whether this still "
        "holds is not recorded."
    ),
    "members": [
        "Municipality | Member since | Decision to leave | Left | Disentangled | Now",
        "Maassluis | 16 April 2013 | autumn 2016 | autumn 2016 – 2017 (no exit date recorded) | 2017 | left",
        "Schiedam | 16 April 2013 | termination decided 2019 | – | date not recorded (planned) "
        "| leaving according to the latest source (8 May 2019)",
        "Vlaardingen | 16 April 2013 | termination by Schiedam (2019) | – | date not recorded (planned) "
        "| leaving according to the latest source (8 May 2019)",
    ],
    "timeline": [
        "16 April 2013 | Signed: Samenwerkingsovereenkomst ICT gesloten | happened",
        "autumn 2016 | Withdrawal decided: Maassluis besluit op ICT-gebied zelfstandig te blijven | happened",
        "  Decided by: not recorded",
        "2017 | Disentangled: ICT-omgeving van Maassluis ontvlochten | happened",
        "  Costs: not recorded",
        "April 2017 | Study commissioned: Nader onderzoek naar verdergaande integratie | happened",
        "  Decided by: town clerks and management",
        "2019 | Other: Eén gezamenlijke ICT-organisatie | abandoned",
        "2019 | Termination decided: Schiedam zegt de samenwerkingsovereenkomst ICT op | happened",
        "  Decided by: executive (college van B&W)",
        "date not recorded | Disentanglement started: Ontvlechting van Schiedam en Vlaardingen | planned",
        "  Costs: not recorded",
        "date not recorded | Costs settled: Verrekening van de ontvlechtingskosten | planned",
        "  Costs: Nog te bepalen; de kosten voor Schiedam hangen mede af van afspraken over de verrekening "
        "met Vlaardingen.",
    ],
}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (MSG_URL, MSG_NL),
        ("/en" + MSG_URL, MSG_EN),
        (SVM_URL, SVM_NL),
        ("/en" + SVM_URL, SVM_EN),
    ],
    ids=["msg-nl", "msg-en", "svm-nl", "svm-en"],
)
def test_the_partnership_page_says_what_the_article_says(client, url, expected):
    body = page(client, url)
    assert badge(body) == expected["badge"]
    assert status_sentence(body) == expected["sentence"]
    assert members_table(body) == expected["members"]
    assert timeline_lines(body) == expected["timeline"]


def test_no_verification_is_claimed_that_never_happened(client):
    for url in (MSG_URL, SVM_URL):
        assert "Laatst gecontroleerd aan de bronnen nog niet gecontroleerd" in words(page(client, url))


def test_a_recorded_verification_is_shown_and_counts_as_evidence(client, msg, admin_user):
    admin_user.first_name, admin_user.last_name = "Anna", "de Vries"
    admin_user.save()
    today = timezone.localdate()
    services.verification_record(
        partnership=msg, by=admin_user, verified_on=today, sources=msg.events.first().sources.all()
    )
    body = page(client, MSG_URL)
    with translation.override("nl"):
        day = date_format(today, "j F Y")
    assert f"Laatst gecontroleerd aan de bronnen op {day} door Anna de Vries" in words(body)
    # Checked today against its source: the claim stands without qualification.
    assert badge(body) == "actief"
    assert members_table(body)[1] == "Maastricht | 27 oktober 2010 | – | – | – | lid"


def test_the_three_step_exit_shows_all_three_steps(client, svm, municipality):
    vlaardingen = municipality("Vlaardingen")
    services.event_record(partnership=svm, kind="withdrawn", date_text="2020-01-01", municipalities=[vlaardingen])
    services.event_record(partnership=svm, kind="disentangled", date_text="2021", municipalities=[vlaardingen])
    assert members_table(page(client, SVM_URL))[3] == (
        "Vlaardingen | 16 april 2013 | opzegging door Schiedam (2019) | 1 januari 2020 | 2021 | uitgetreden"
    )


def test_municipality_pages_qualify_now_and_mark_plans(client):
    vlaardingen = words(page(client, "/municipalities/GM0622/"))
    assert (
        "ICT-samenwerking Schiedam, Vlaardingen en Maassluis 16 april 2013 treedt uit; einde nog niet bekend "
        "treedt uit volgens de laatste bron (8 mei 2019)"
    ) in vlaardingen
    assert "Eén gezamenlijke ICT-organisatie afgeblazen" in vlaardingen
    assert "Verrekening van de ontvlechtingskosten gepland" in vlaardingen
    assert "Ontvlechting van Schiedam en Vlaardingen gepland" in vlaardingen
    sittard = words(page(client, "/municipalities/GM1883/"))
    assert "27 oktober 2010 nog steeds lid volgens de laatste bron (27 oktober 2010)" in sittard
    assert (
        "Gezamenlijke Europese aanbesteding voor een mantelovereenkomst gepland voor omstreeks december 2010, "
        "niet bevestigd"
    ) in sittard
    assert "nog steeds lid 27" not in sittard


def test_list_cards_say_how_old_the_evidence_is(client):
    body = words(page(client, "/partnerships/"))
    assert "actief volgens de laatste bron (27 oktober 2010)" in body
    assert "Periode 2009 – ? (laatste bron 2010)" in body
    assert "Periode 2013 – ? (laatste bron 2019)" in body
    assert "– nu" not in body


def test_home_does_not_count_old_evidence_as_active_now(client):
    body = words(page(client, "/"))
    assert "0 nu actieve samenwerkingsverbanden" in body


def test_feed_titles_and_calendar_summaries_mark_plans(client):
    with translation.override("nl"):
        feed = html.unescape(page(client, "/feeds/partnerships/maastricht-sittard-geleen-ict/"))
    assert (
        "Gezamenlijke Europese aanbesteding voor een mantelovereenkomst (gepland voor omstreeks december 2010, "
        "niet bevestigd)</title>"
    ) in feed
    assert "Een regionaal bedrijf voor ICT en dienstverlening (datum onbekend; gepland)</title>" in feed
    svm_feed = html.unescape(page(client, "/feeds/partnerships/schiedam-vlaardingen-maassluis-ict/"))
    assert "Eén gezamenlijke ICT-organisatie (2019; afgeblazen)</title>" in svm_feed
    calendar = page(client, "/calendars/partnerships/maastricht-sittard-geleen-ict.ics").replace("\r\n ", "")
    assert "mantelovereenkomst (gepland voor omstreeks december 2010\\, niet bevestigd)" in calendar


def test_cached_last_evidence_matches_the_source_dates(msg, svm):
    assert str(msg.last_evidence) == "2010-10-27"
    assert str(svm.last_evidence) == "2019-05-08"
    services.partnerships_changed(partnership_ids=[msg.pk, svm.pk])
    msg.refresh_from_db()
    svm.refresh_from_db()
    assert (str(msg.last_evidence), str(svm.last_evidence)) == ("2010-10-27", "2019-05-08")

"""The agreements register: /agreements/, /agreements/<uid>/ and /api/v1/agreements/.

The seed cases: Schiedam's "Samenwerkingsovereenkomst ICT" (16 April 2013) was terminated by
Schiedam's executive in 2019; Maastricht and Sittard-Geleen signed a cooperation agreement on
27 October 2010 and intended a framework contract (a plan: no source says it was signed).
The 2010 agreement records no term end and its partnership's newest evidence is the press release
of 27 October 2010, older than the horizon (PORTAL_EVIDENCE_HORIZON_DAYS, 730 days): so today it
is "unknown since the latest source", not "in force" (timeline.agreement_state); as of 2011 it
was in force.
"""

import datetime
import hashlib
import uuid

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.utils import timezone

from cooperation import dates, services, timeline
from cooperation.agreements import event_facts
from cooperation.models import Agreement, Document, Event, Partnership, Source
from tests.factories import MSG, SVM

pytestmark = pytest.mark.django_db

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def text(response) -> str:
    return response.content.decode()


def seed(partnership_slug: str, title: str) -> Agreement:
    return Agreement.objects.get(partnership__slug=partnership_slug, title=title)


@pytest.fixture
def schiedam_agreement(db):
    return seed(SVM, "Samenwerkingsovereenkomst ICT")


@pytest.fixture
def msg_agreement(db):
    return seed(MSG, "Samenwerkingsovereenkomst ICT en dienstverlening")


@pytest.fixture
def framework(db):
    return seed(MSG, "Mantelovereenkomst computerapparatuur, software en implementatie")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def attach(agreement, title="Getekende overeenkomst", text="", visibility="public", content=PDF) -> Document:
    """A document as the upload will store it (the upload itself is the documents' own work), saved
    through the write path, which rebuilds the agreement's search texts."""
    document = Document(
        agreement=agreement,
        title=title,
        kind=Document.Kind.SIGNED_AGREEMENT,
        date_text=agreement.date_text,
        visibility=visibility,
        content_type="application/pdf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        text=text,
    )
    document.file.save("overeenkomst.pdf", ContentFile(content), save=False)
    return services.document_save(document=document)


def states(queryset, today=None) -> dict[str, str]:
    return dict(queryset.with_state(today or timezone.localdate()).values_list("title", "state"))


# --- The seed cases --------------------------------------------------------------------------


def test_the_register_lists_both_seed_partnerships_with_parties_and_states(client):
    response = client.get("/agreements/")
    assert response.status_code == 200
    page = text(response)
    assert "3 overeenkomsten" in page
    cards = {card.split("</a></h3>")[0].rsplit(">", 1)[1]: card for card in page.split('<li class="card result">')[1:]}
    schiedam = cards["Samenwerkingsovereenkomst ICT"]
    assert ">opgezegd<" in schiedam
    assert "Maassluis</a>, <a" in schiedam and ">Schiedam</a>" in schiedam and ">Vlaardingen</a>" in schiedam
    assert "16 april 2013" in schiedam
    msg = cards["Samenwerkingsovereenkomst ICT en dienstverlening"]
    assert "onbekend sinds de laatste bron (27 oktober 2010)" in msg
    assert ">Maastricht</a>, <a" in msg and ">Sittard-Geleen</a>" in msg and "27 oktober 2010" in msg
    framework = cards["Mantelovereenkomst computerapparatuur, software en implementatie"]
    # A plan reads as a plan: intended parties, not signed, "planned" as of its old evidence.
    assert "gepland volgens de laatste bron (27 oktober 2010)" in framework
    assert "Beoogde partijen" in framework and "niet ondertekend volgens de bronnen" in framework
    assert "vier jaar" in framework and "Ondertekend</dt>\n    <dd>niet" in framework


def test_the_states_of_the_seed_agreements_as_of_today_and_of_2011(schiedam_agreement, msg_agreement, framework):
    public = Agreement.objects.for_audience(False)
    assert states(public) == {
        schiedam_agreement.title: "terminated",
        msg_agreement.title: "unknown",  # no term end, evidence of 2010: more than 730 days old
        framework.title: "planned",
    }
    # Within two years of the press release the signed agreement read "in force".
    assert states(public, datetime.date(2011, 6, 1))[msg_agreement.title] == "in_force"


def test_a_recent_verification_makes_the_2010_agreement_in_force_again(client, msg, msg_agreement, admin_user):
    """The newest evidence decides: checked against the sources today, the signed agreement
    without a term end reads "van kracht"; the plan stays a plan, now without qualification."""
    services.verification_record(partnership=msg, by=admin_user, verified_on=timezone.localdate())
    page = text(client.get("/agreements/?municipality=GM0935"))
    assert ">van kracht<" in page and ">gepland<" in page and "volgens de laatste bron (" not in page
    assert titles(client, "state=in_force") == {MSG_2010}


def test_the_pure_parties_and_labels():
    today = datetime.date(2026, 12, 1)
    old = datetime.date(2010, 10, 27)
    assert timeline.agreement_state_label("planned", old, today) == "gepland volgens de laatste bron (27 oktober 2010)"
    assert timeline.agreement_state_label("planned", today, today) == "gepland"
    assert timeline.agreement_state_label("ended", old, today) == "afgelopen"  # a past fact needs no qualification
    assert timeline.agreement_state_label("unknown", old, today) == "onbekend sinds de laatste bron (27 oktober 2010)"
    assert timeline.agreement_state_label("unknown", None, today) == "onbekend: geen gedateerde bron"

    def facts(kind, status, *municipalities):
        return timeline.EventFacts(
            key=kind, kind=kind, status=status, date=dates.parse_date(""), municipalities=municipalities
        )

    def period(name, start, end, state="active"):
        return timeline.MembershipPeriod(name, state, start, end)

    members = [
        period("A", datetime.date(2010, 1, 1), None),
        period("B", datetime.date(2012, 1, 1), datetime.date(2014, 12, 31), "ended"),
        period("C", datetime.date(2016, 1, 1), None),
        period("D", None, None, "planned"),
    ]
    signed_2013 = dates.parse_date("2013")
    # The signers when a signing cites it; else the members on the date signed; else the plan's.
    assert timeline.agreement_parties(
        signed=signed_2013, events=[facts("signed", "happened", "A")], memberships=members
    ) == ["A"]
    assert timeline.agreement_parties(signed=signed_2013, events=[], memberships=members) == ["A", "B"]
    assert timeline.agreement_parties(
        signed=dates.parse_date(""), events=[facts("tender_launched", "planned", "C", "D")], memberships=members
    ) == ["C", "D"]


def test_the_schiedam_agreement_page_tells_its_termination_by_schiedam(client, schiedam_agreement, media):
    attach(schiedam_agreement, title="Samenwerkingsovereenkomst ICT (getekend)")
    attach(schiedam_agreement, title="Interne notitie bij de opzegging", visibility="internal")
    response = client.get(f"/agreements/{schiedam_agreement.uid}/")
    assert response.status_code == 200
    page = text(response)
    assert "<h1>Samenwerkingsovereenkomst ICT</h1>" in page
    assert "opgezegd" in page and "16 april 2013" in page
    assert "Schiedam zegt de samenwerkingsovereenkomst ICT op" in page
    assert "college van B&amp;W" in page  # decided by Schiedam's executive
    assert "Samenwerkingsovereenkomst ICT gesloten" in page
    assert "Schiedam ziet af van ICT-samenwerking met Vlaardingen" in page  # the source
    # Events that do not cite the agreement are not its events.
    assert "Maassluis besluit op ICT-gebied zelfstandig te blijven" not in page
    document = schiedam_agreement.documents.get(visibility="public")
    assert f'href="/documents/{document.uid}/"' in page and "Samenwerkingsovereenkomst ICT (getekend)" in page
    assert "Interne notitie" not in page
    download = client.get(f"/documents/{document.uid}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF


def test_the_framework_contract_page_reads_as_a_plan(client, framework):
    page = text(client.get(framework.get_absolute_url()))
    assert "Een voorgenomen mantelovereenkomst van ICT-samenwerking Maastricht en Sittard-Geleen" in page
    assert "een plan: geen bron zegt dat ze is ondertekend" in page
    assert "Gezamenlijke Europese aanbesteding voor een mantelovereenkomst" in page
    assert "Er is geen document bijgevoegd." in page


def test_the_english_register(client):
    page = text(client.get("/en/agreements/"))
    assert "3 agreements" in page and ">terminated<" in page and "Intended parties" in page


def test_pages_link_to_the_agreements(client, svm, schiedam_agreement):
    partnership_page = text(client.get(svm.get_absolute_url()))
    # The agreement card and the timeline rows citing it link to its page.
    assert partnership_page.count(f'href="/agreements/{schiedam_agreement.uid}/"') == 3
    municipality_page = text(client.get("/municipalities/GM0622/"))
    assert 'href="/agreements/?municipality=GM0622"' in municipality_page
    assert 'href="/agreements/"' in text(client.get("/"))  # the navigation


# --- The state in SQL agrees with timeline.agreement_state ------------------------------------


def test_the_state_in_sql_agrees_with_the_pure_function(municipality):
    """Every combination the register meets: date or none, term end passed, near, far or none,
    signings, amendments, plans and terminations citing it, public or internal, fresh or old
    evidence, on several days; for both audiences."""
    a, b = municipality("Gouda"), municipality("Bodegraven-Reeuwijk")
    partnership = services.partnership_save(partnership=Partnership(name="Proefverband", slug="proefverband"))
    source = services.source_save(source=Source(title="Proefbron", published_on=datetime.date(2019, 5, 1)))

    def agreement(title, date_text="", term_end=None, visibility="public"):
        return services.agreement_save(
            agreement=Agreement(
                partnership=partnership,
                kind="other",
                title=title,
                date_text=date_text,
                term_end=term_end,
                visibility=visibility,
            )
        )

    def event(kind, date_text, cites, status="happened", visibility="public", who=(a,)):
        services.event_record(
            partnership=partnership,
            kind=kind,
            date_text=date_text,
            municipalities=list(who),
            status=status,
            agreement=cites,
            sources=[source],
            visibility=visibility,
        )

    event("signed", "2015-01-01", None, who=(a, b))
    agreement("dated, no term")
    dated = agreement("dated, no term, own date", date_text="2016-05-01")
    event("amended", "2017", agreement("amended only"))
    event("tender_launched", "2020-06", agreement("planned only"), status="planned")
    agreement("near end", date_text="2016", term_end=datetime.date(2020, 12, 31))
    far = agreement("far end", date_text="2016", term_end=datetime.date(2030, 6, 1))
    event("termination_decided", "2019", agreement("terminated", "2016", datetime.date(2025, 1, 1)))
    event("termination_decided", "2019", agreement("terminated internally", "2016"), visibility="internal")
    event("signed", "2016-03-01", agreement("signed internally"), visibility="internal", who=(a, b))
    event("terminated", "2021", far, status="planned")
    event("renewed", "2018", dated, status="abandoned")
    agreement("internal agreement", date_text="2016", visibility="internal")

    days = [datetime.date(2016, 6, 1), datetime.date(2020, 6, 1), datetime.date(2022, 6, 1)]
    days += [datetime.date(2029, 8, 1), datetime.date(2031, 1, 1)]
    seen = set()
    for internal in (False, True):
        evidence = Partnership.objects.for_audience(internal).get(pk=partnership.pk).last_evidence
        agreements = Agreement.objects.for_audience(internal).filter(partnership=partnership)
        for today in days:
            in_sql = dict(agreements.with_state(today).values_list("pk", "state"))
            for item in agreements:
                facts = [event_facts(e) for e in item.events.for_audience(internal)]
                pure = timeline.agreement_state(
                    signed=item.fuzzy_date, term_end=item.term_end, events=facts, evidence=evidence, today=today
                )
                assert in_sql[item.pk] == pure, (item.title, internal, today)
                seen.add(pure)
    assert seen == set(timeline.AGREEMENT_STATE_LABELS)


# --- Filters and search (cooperation/search.py) ---------------------------------------------


def titles(client, query: str) -> set[str]:
    response = client.get(f"/api/v1/agreements/?{query}")
    assert response.status_code == 200, response.content
    return {item["title"] for item in response.json()["results"]}


SCHIEDAM = "Samenwerkingsovereenkomst ICT"
MSG_2010 = "Samenwerkingsovereenkomst ICT en dienstverlening"
FRAMEWORK = "Mantelovereenkomst computerapparatuur, software en implementatie"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("municipality=GM0622", {SCHIEDAM}),
        ("municipality=GM0556", {SCHIEDAM}),  # Maassluis, a former member
        ("province=Limburg", {MSG_2010, FRAMEWORK}),
        ("pillar=joint_procurement", {MSG_2010, FRAMEWORK}),
        ("pillar=architecture_alignment", {SCHIEDAM, MSG_2010, FRAMEWORK}),
        ("kind=framework_contract", {FRAMEWORK}),
        ("state=terminated", {SCHIEDAM}),
        ("state=planned", {FRAMEWORK}),
        ("state=unknown", {MSG_2010}),
        ("state=in_force", set()),
        ("in_force_on=2015-01-01", {SCHIEDAM, MSG_2010}),
        ("in_force_on=2020-06-01", {MSG_2010}),  # terminated in 2019
        ("in_force_on=2009-01-01", set()),
        ("q=mantelovereenkomst", {FRAMEWORK}),
        ("q=aanbestedingen computerapparatuur", {FRAMEWORK}),  # Dutch stemming
        ("q=Sittard", {MSG_2010, FRAMEWORK}),
        ("q=Vlaardingen", {SCHIEDAM}),  # a party's name
        ("q=Limburg Vlaardingen", set()),  # every word must be found (a province, a party)
        ("q=framework contract", {FRAMEWORK}),  # the kind, in English too
        ("municipality=GM0935&state=planned", {FRAMEWORK}),
    ],
)
def test_filters_and_search(client, query, expected):
    assert titles(client, query) == expected


def test_the_page_filters_like_the_api(client):
    page = text(client.get("/agreements/?municipality=GM0622&state=terminated"))
    assert "1 overeenkomst" in page and SCHIEDAM in page and FRAMEWORK not in page
    assert '<option value="GM0622" selected>Vlaardingen</option>' in page


def test_term_end_filters_and_sort(client, svm, msg_agreement, framework):
    Agreement.objects.filter(pk=msg_agreement.pk).update(term_end=datetime.date(2031, 12, 31))
    Agreement.objects.filter(pk=framework.pk).update(term_end=datetime.date(2027, 6, 30))
    assert titles(client, "term_end_from=2027-01-01&term_end_to=2027-12-31") == {FRAMEWORK}
    assert titles(client, "term_end_from=2028-01-01") == {MSG_2010}
    ordered = [item["title"] for item in client.get("/api/v1/agreements/").json()["results"]]
    assert ordered == [FRAMEWORK, MSG_2010, SCHIEDAM]  # term end soonest first, none last
    ordered = [item["title"] for item in client.get("/api/v1/agreements/?sort=-term_end").json()["results"]]
    assert ordered == [MSG_2010, FRAMEWORK, SCHIEDAM]
    ordered = [item["title"] for item in client.get("/api/v1/agreements/?sort=signed").json()["results"]]
    assert ordered == [MSG_2010, SCHIEDAM, FRAMEWORK]  # undated last


def test_search_finds_the_text_of_documents_this_audience_may_see(client, viewer_client, schiedam_agreement, media):
    attach(schiedam_agreement, text="De partijen richten een bedrijfsvoeringsorganisatie op voor de servicedesk.")
    attach(schiedam_agreement, title="Notitie", text="Vertrouwelijke kostenraming ontvlechting", visibility="internal")
    assert titles(client, "q=servicedesk") == {SCHIEDAM}
    assert titles(client, "q=kostenraming") == set()
    assert titles(viewer_client, "q=kostenraming") == {SCHIEDAM}
    assert SCHIEDAM in text(client.get("/agreements/?q=servicedesk"))


def test_invalid_filters_are_reported_in_dutch_and_ignored(client):
    response = client.get("/agreements/?in_force_on=31-02-2020&state=nonsense")
    page = text(response)
    assert response.status_code == 200
    assert "Sommige filters konden niet worden gebruikt" in page
    assert "Voer een geldige datum in." in page and "3 overeenkomsten" in page
    assert 'value="31-02-2020"' in page  # what was typed stays visible beside its error
    problem = client.get("/api/v1/agreements/?in_force_on=2020-13-01")
    assert problem.status_code == 400 and problem["Content-Type"] == "application/problem+json"


# --- Visibility ----------------------------------------------------------------------------


@pytest.fixture
def hidden(svm, media):
    """An internal agreement of a public partnership, cited by a public event; a public agreement
    of an internal partnership; each with a document."""
    internal = services.agreement_save(
        agreement=Agreement(
            partnership=svm, kind="other", title="Geheime aanvulling", date_text="2018", visibility="internal"
        )
    )
    attach(internal, text="geheimtekst")
    services.event_record(
        partnership=svm, kind="evaluated", date_text="2018", municipalities=[], agreement=internal, title="Evaluatie"
    )
    closed = services.partnership_save(
        partnership=Partnership(name="Besloten verband", slug="besloten", visibility="internal")
    )
    of_closed = services.agreement_save(
        agreement=Agreement(
            partnership=closed, kind="other", title="Overeenkomst in besloten verband", date_text="2020"
        )
    )
    return internal, of_closed


def test_internal_agreements_never_reach_anonymous_readers(client, viewer_client, svm, hidden):
    for agreement in hidden:
        assert client.get(agreement.get_absolute_url()).status_code == 404
        assert client.get(f"/api/v1/agreements/{agreement.uid}/").status_code == 404
        assert viewer_client.get(agreement.get_absolute_url()).status_code == 200
        assert viewer_client.get(f"/api/v1/agreements/{agreement.uid}/").status_code == 200
        document = Document.objects.filter(agreement=agreement).first()
        if document:
            assert client.get(f"/documents/{document.uid}/").status_code == 404
    names = {agreement.title for agreement in hidden}
    for query in (
        "",
        "state=in_force",
        "state=unknown",
        "q=geheimtekst",
        "q=Geheime",
        "municipality=GM0606",
        "kind=other",
    ):
        assert not titles(client, query) & names, query
        page = text(client.get(f"/agreements/?{query}"))
        assert not any(name in page for name in names), query
    assert titles(viewer_client, "") >= names
    assert titles(viewer_client, "q=geheimtekst") == {"Geheime aanvulling"}
    partnership_page = text(client.get(svm.get_absolute_url()))
    assert "Geheime aanvulling" not in partnership_page and "Evaluatie" in partnership_page
    assert "Geheime aanvulling" in text(viewer_client.get(svm.get_absolute_url()))
    assert "Geheime aanvulling" not in text(client.get(f"/calendars/partnerships/{SVM}.ics"))


# --- Fixed query counts --------------------------------------------------------------------


def grow_agreements(count: int, media) -> None:
    """`count` agreements across the seed partnerships, each cited by an event, with a document."""
    partnerships = list(Partnership.objects.filter(slug__in=[SVM, MSG]))
    for number in range(count):
        partnership = partnerships[number % 2]
        agreement = Agreement.objects.create(
            partnership=partnership,
            kind="service_level_agreement",
            title=f"Dienstverleningsovereenkomst {number}",
            date_text=f"20{10 + number % 10}",
            term_end=datetime.date(2026 + number % 5, 1, 1),
        )
        event = Event.objects.create(partnership=partnership, kind="renewed", date_text="2021", agreement=agreement)
        event.municipalities.set(partnership.memberships.values_list("municipality", flat=True)[:2])
        attach(agreement, content=PDF + str(number).encode())
    services.partnerships_changed(partnership_ids=[p.pk for p in partnerships])


PAGES = [
    ("/agreements/", 7),
    ("/agreements/?municipality=GM0606&state=terminated&sort=-signed", 7),
    ("/agreements/?q=ICT&pillar=architecture_alignment&kind=cooperation_agreement", 7),
    ("/api/v1/agreements/", 6),
    ("/api/v1/agreements/?province=Zuid-Holland&in_force_on=2015-01-01", 6),
]


@pytest.mark.parametrize(("url", "queries"), PAGES)
def test_lists_cost_a_fixed_number_of_queries(client, django_assert_num_queries, media, url, queries):
    cache.clear()
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200
    grow_agreements(50, media)
    cache.clear()
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200


def test_detail_pages_cost_a_fixed_number_of_queries(client, django_assert_num_queries, schiedam_agreement, media):
    def counted(url, queries):
        with django_assert_num_queries(queries):
            assert client.get(url).status_code == 200

    counted(schiedam_agreement.get_absolute_url(), 7)
    counted(f"/api/v1/agreements/{schiedam_agreement.uid}/", 5)
    for number in range(20):
        attach(schiedam_agreement, title=f"Bijlage {number}")
        services.event_record(
            partnership=schiedam_agreement.partnership,
            kind="amended",
            date_text="2015",
            municipalities=[],
            agreement=schiedam_agreement,
        )
    counted(schiedam_agreement.get_absolute_url(), 7)
    counted(f"/api/v1/agreements/{schiedam_agreement.uid}/", 5)


def test_an_unknown_agreement_is_a_404(client):
    assert client.get(f"/agreements/{uuid.uuid4()}/").status_code == 404
    assert client.get(f"/api/v1/agreements/{uuid.uuid4()}/").status_code == 404


# --- API -----------------------------------------------------------------------------------


def test_the_api_gives_state_parties_events_and_documents(client, schiedam_agreement, media):
    document = attach(schiedam_agreement)
    body = client.get(f"/api/v1/agreements/{schiedam_agreement.uid}/").json()
    assert body["state"] == "terminated" and body["partnership"] == SVM
    assert [p["cbs_code"] for p in body["parties"]] == ["GM0556", "GM0606", "GM0622"]
    assert [e["kind"] for e in body["events"]] == ["signed", "termination_decided"]
    assert body["html_url"] == f"http://testserver/agreements/{schiedam_agreement.uid}/"
    (meta,) = body["documents"]
    assert meta["download_url"] == f"http://testserver/documents/{document.uid}/"
    assert meta["sha256"] == hashlib.sha256(PDF).hexdigest() and meta["size"] == len(PDF)
    assert client.get(meta["download_url"]).status_code == 200


# --- Admin ---------------------------------------------------------------------------------


def test_the_admin_lists_agreements_with_their_state(admin_client, schiedam_agreement):
    page = text(admin_client.get("/admin/cooperation/agreement/?state=terminated"))
    assert "Samenwerkingsovereenkomst ICT</a>" in page and "Mantelovereenkomst" not in page
    page = text(admin_client.get("/admin/cooperation/agreement/?term_end=none&kind__exact=framework_contract"))
    assert "Mantelovereenkomst" in page
    assert (
        admin_client.get(
            f"/admin/cooperation/agreement/?partnership__id__exact={schiedam_agreement.partnership_id}"
        ).status_code
        == 200
    )


def test_an_editor_changes_only_agreements_of_their_own_partnerships(client, editor_of, svm, msg, msg_agreement):
    client.force_login(editor_of("GM0935"))  # Maastricht
    assert client.get(f"/admin/cooperation/agreement/{msg_agreement.pk}/change/").status_code == 200
    other = svm.agreements.get()
    assert client.get(f"/admin/cooperation/agreement/{other.pk}/change/").status_code == 302  # "does not exist"
    listing = text(client.get("/admin/cooperation/agreement/"))
    assert "Samenwerkingsovereenkomst ICT en dienstverlening" in listing and f"/{other.pk}/change/" not in listing
    form = {"partnership": svm.pk, "kind": "other", "title": "Stiekeme overeenkomst", "visibility": "public"}
    response = client.post("/admin/cooperation/agreement/add/", form)
    assert response.status_code == 200 and "errornote" in text(response)
    assert not Agreement.objects.filter(title="Stiekeme overeenkomst").exists()
    response = client.post("/admin/cooperation/agreement/add/", {**form, "partnership": msg.pk})
    assert response.status_code == 302
    assert Agreement.objects.get(title="Stiekeme overeenkomst").partnership == msg


def test_changing_an_internal_agreement_leaves_the_public_change_date_alone(svm):
    internal = services.agreement_save(
        agreement=Agreement(partnership=svm, kind="other", title="Interne afspraak", visibility="internal")
    )
    svm.refresh_from_db()
    public_changed, staff_changed = svm.public_changed_at, svm.staff_changed_at
    internal.title = "Interne afspraak, herzien"
    internal.term_end = datetime.date(2030, 1, 1)
    services.agreement_save(agreement=internal)
    svm.refresh_from_db()
    assert svm.public_changed_at == public_changed
    assert svm.staff_changed_at > staff_changed
    # A public one does move it.
    public = svm.agreements.get(visibility="public")
    public.term_note = "vier jaar"
    services.agreement_save(agreement=public)
    svm.refresh_from_db()
    assert svm.public_changed_at > public_changed

"""Search as people type it, and the municipality index, on PostgreSQL and on SQLite.

The same probe (`probe()`: the list page's search, the agreements register's search with its
filters, and the municipality index, anonymous and signed in) runs here on PostgreSQL and, in a
subprocess, on a fresh SQLite file migrated and loaded as `make run` does; both must give EXPECTED.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client

from cooperation import derived, search, services
from cooperation.models import Agreement, Document, Municipality, Partnership
from tests.factories import MSG, SVM, grow_register, make_document, make_pdf

ROOT = Path(__file__).resolve().parent.parent
SECRET = "Zwaluwstaartverbinding"  # only the internal event has it
AMSTERDAM = "GM0363"

# What a person types, and which partnerships they expect to find (anonymous; staff alike unless said).
EXPECTED_SEARCH = {
    # The home page's own example: the joint-procurement pillar, "samen inkopen" in the summary.
    "inkoop": [MSG],
    "inkopen": [MSG],
    # A province: its municipalities' partnerships.
    "Limburg": [MSG],
    "Zuid-Holland": [SVM],
    # A former municipality (merged into Sittard-Geleen in 2001), and one at two removes
    # (Munstergeleen went into Sittard in 1982).
    "Geleen": [MSG],
    "Born": [MSG],
    "Munstergeleen": [MSG],
    # Dutch stems: the text says "aanbesteden"/"aanbesteding", "gemeenten", "samenwerking".
    "aanbestedingen": [MSG],
    "Europese aanbesteding": [MSG],
    # The start of a word.
    "Vlaard": [SVM],
    "Maastr": [MSG],
    # Accents and case do not matter; a pillar's English name finds it too.
    "JOINT PROCUREMENT": [MSG],
    # Stop words are left out of a query of several words.
    "de samenwerking van Schiedam": [SVM],
    # Kinds of event and legal forms, in Dutch and English.
    "disentanglement": [SVM],
    "convenant": [MSG, SVM],
    # Nothing to search for: nothing found.
    "!!!": [],
    # Internal: not for the public (staff: below).
    SECRET: [],
    "zwaluwstaart": [],
    "Amsterdam": [],
}
EXPECTED_STAFF_SEARCH = {SECRET: [MSG], "zwaluwstaart": [MSG], "Amsterdam": [MSG], "Limburg": [MSG]}
# The agreements register (/agreements/): what a person types and filters, and the titles found
# (anonymous; staff alike unless said). Schiedam's agreement has a public document whose text
# says "afspraken", "servicedesk", "gezamenlijk", "serverruimtes", and an internal one whose
# text says "Kostenverdeelsleutel" (`add_agreement_documents()`).
SCHIEDAM_AGREEMENT = "Samenwerkingsovereenkomst ICT"
MSG_AGREEMENT = "Samenwerkingsovereenkomst ICT en dienstverlening"
FRAMEWORK = "Mantelovereenkomst computerapparatuur, software en implementatie"
EXPECTED_AGREEMENTS = {
    # A Dutch stem from a document's text extract ("afspraken"), not the start of a word of it.
    "q=afspraak": [SCHIEDAM_AGREEMENT],
    "q=gezamenlijke serverruimte": [SCHIEDAM_AGREEMENT],
    # The start of a word of a document's text.
    "q=servicedes": [SCHIEDAM_AGREEMENT],
    # Search and filters together: a party (Vlaardingen; not Maastricht), the state.
    "q=afspraak&municipality=GM0622": [SCHIEDAM_AGREEMENT],
    "q=afspraak&municipality=GM0935": [],
    "q=afspraak&state=terminated": [SCHIEDAM_AGREEMENT],
    "q=afspraak&state=planned": [],
    "q=Sittard&state=planned": [FRAMEWORK],
    # The agreements' own words, their partnership's and their kind (in English too).
    "q=samenwerkingsovereenkomst": [SCHIEDAM_AGREEMENT, MSG_AGREEMENT],
    "q=framework contract": [FRAMEWORK],
    "q=Limburg": [FRAMEWORK, MSG_AGREEMENT],
    # The internal document's words: not for the public (staff: below).
    "q=kostenverdeelsleutel": [],
    "q=kostenverdeel": [],
}
EXPECTED_STAFF_AGREEMENTS = {
    "q=kostenverdeelsleutel": [SCHIEDAM_AGREEMENT],
    "q=kostenverdeel&municipality=GM0622": [SCHIEDAM_AGREEMENT],
    "q=afspraak": [SCHIEDAM_AGREEMENT],
}
# The municipality index: name, merged into, the year of the merger, number of partnerships.
EXPECTED_INDEX = {
    # Per province the current municipalities first, then the former.
    "Geleen": [["Sittard-Geleen", None, None, 1], ["Geleen", "Sittard-Geleen", 2001, 0]],
    # Sittard-Geleen (the start of its second word) and the former Sittard; not Broeksittard.
    "sittard": [["Sittard-Geleen", None, None, 1], ["Sittard", "Sittard-Geleen", 2001, 0]],
    "Maastricht": [["Maastricht", None, None, 1]],
}
# Amsterdam is a member only through an internal event: counted for staff, never for the public.
EXPECTED_AMSTERDAM = {"anonymous": 0, "staff": 1}


def add_internal_event() -> None:
    """An internal event on Maastricht–Sittard-Geleen: Amsterdam joins, with a word nobody else uses."""
    services.event_record(
        partnership=Partnership.objects.get(slug=MSG),
        kind="joined",
        date_text="2012-03",
        municipalities=[Municipality.objects.get(cbs_code=AMSTERDAM)],
        title=f"Amsterdam sluit aan ({SECRET})",
        visibility="internal",
    )


def add_agreement_documents() -> None:
    """A public and an internal document of Schiedam's agreement, with a text extract each."""
    agreement = Agreement.objects.get(title=SCHIEDAM_AGREEMENT)
    public_text = "De gemeenten maken afspraken over de servicedesk en gezamenlijk beheerde serverruimtes"
    make_document(agreement=agreement, title="Getekende overeenkomst", data=make_pdf(public_text))
    make_document(
        agreement=agreement,
        title="Notitie",
        data=make_pdf("Kostenverdeelsleutel per inwoner"),
        visibility="internal",
    )


ENTRY = re.compile(
    r'<li><a href="/municipalities/GM\d{4}/">([^<]+)</a>'
    r'(?: — opgegaan in <a href="/municipalities/GM\d{4}/">([^<]+)</a> \((\d{4})\))? <small[^>]*>([^<]+)</small></li>'
)


def entries(page: str) -> list:
    """The municipalities listed on a page of the index: name, merged into, the year, partnerships."""
    return [
        [name, successor or None, int(year) if year else None, 0 if label.startswith("geen") else int(label.split()[0])]
        for name, successor, year, label in ENTRY.findall(page)
    ]


def probe() -> dict:
    """What the pages find, anonymous and signed in, on whatever database is configured."""
    anonymous, staff = Client(), Client()
    staff.force_login(get_user_model().objects.get_or_create(username="zoeker")[0])

    def found(client, query):
        response = client.get("/partnerships/", {"q": query})
        assert response.status_code == 200, response.content
        return sorted(partnership.slug for partnership in response.context["page"].object_list)

    def index(client, query):
        response = client.get("/municipalities/", {"q": query})
        assert response.status_code == 200
        return entries(response.content.decode())

    def agreements(client, query):
        response = client.get(f"/agreements/?{query}")
        assert response.status_code == 200, response.content
        return sorted(agreement.title for agreement in response.context["page"].object_list)

    def amsterdam(client):
        [entry] = [e for e in index(client, "Amsterdam") if e[0] == "Amsterdam"]
        return entry[3]

    cache.clear()
    return {
        "vendor": connection.vendor,
        "search": {query: found(anonymous, query) for query in EXPECTED_SEARCH},
        "staff_search": {query: found(staff, query) for query in EXPECTED_STAFF_SEARCH},
        "agreements": {query: agreements(anonymous, query) for query in EXPECTED_AGREEMENTS},
        "staff_agreements": {query: agreements(staff, query) for query in EXPECTED_STAFF_AGREEMENTS},
        "index": {query: index(anonymous, query) for query in EXPECTED_INDEX},
        "amsterdam": {"anonymous": amsterdam(anonymous), "staff": amsterdam(staff)},
    }


def fresh_sqlite_probe() -> None:
    """Run in a subprocess on an empty SQLite file: migrate and load as `make run` does, add the
    internal event, print the probe as JSON."""
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    from cooperation.demo import load_demo

    setup_test_environment()  # the test client's responses carry their context
    call_command("migrate", verbosity=0)
    call_command("load_municipalities", verbosity=0)
    load_demo()
    add_internal_event()
    add_agreement_documents()
    print(json.dumps(probe()))


def check(result: dict, vendor: str) -> None:
    assert result["vendor"] == vendor
    assert result["search"] == EXPECTED_SEARCH
    assert result["staff_search"] == EXPECTED_STAFF_SEARCH
    assert result["agreements"] == EXPECTED_AGREEMENTS
    assert result["staff_agreements"] == EXPECTED_STAFF_AGREEMENTS
    assert result["index"] == EXPECTED_INDEX
    assert result["amsterdam"] == EXPECTED_AMSTERDAM


@pytest.mark.django_db
def test_search_and_index_on_postgresql():
    add_internal_event()
    add_agreement_documents()
    check(probe(), "postgresql")


def test_search_and_index_on_sqlite(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_"))}
    environment.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DJANGO_DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        CACHE_URL="locmem://",
        CELERY_TASK_ALWAYS_EAGER="1",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    code = "import django; django.setup(); from tests.test_search import fresh_sqlite_probe; fresh_sqlite_probe()"
    result = subprocess.run(  # noqa: S603 (our own code, fixed arguments)
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    check(json.loads(result.stdout.strip().splitlines()[-1]), "sqlite")


class TestTheSearchModule:
    def test_a_document_holds_each_word_and_its_stem(self):
        assert search.document(["Samen inkopen in Fryslân", "Sittard-Geleen"]) == (
            " samen sam inkopen inkop in fryslan sittard geleen gelen "
        )
        assert search.document(["", "—"]) == ""

    def test_documents_joined_are_the_document_of_all_their_texts(self):
        texts = ["Samen inkopen", "", "in Fryslân"]
        assert search.joined(search.document([text]) for text in texts) == search.document(texts)
        assert search.joined(["", " "]) == ""

    @pytest.mark.parametrize(
        ("query", "found"),
        [
            ("inkoop", True),  # the stem of "inkopen"
            ("inkoopt", False),  # Snowball's Dutch stem of "inkoopt" is "inkoopt"
            ("INKO", True),  # the start of a word
            ("Fryslân", True),
            ("fryslan", True),
            ("sittard geleen", True),
            ("koop", False),  # not the start of a word
            ("inkoop Utrecht", False),  # every word must be found
            ("in", True),  # a stop word alone is searched as typed
            ("", False),
        ],
    )
    def test_matches(self, query, found):
        document = search.document(["Samen inkopen in Fryslân", "Sittard-Geleen"])
        assert search.matches(document, search.terms(query)) is found

    def test_stop_words_are_left_out_of_a_longer_query_and_words_counted_once(self):
        assert [term.word for term in search.terms("de inkoop van de gemeente")] == ["inkoop", "gemeente"]
        assert [term.word for term in search.terms("van de")] == ["van", "de"]
        assert len(search.terms(" ".join(f"woord{n}" for n in range(50)))) == search.MAX_TERMS

    def test_the_postgresql_query_is_a_prefix_or_the_stem(self):
        assert search.tsquery(search.terms("inkopen Limburg")) == "(inkopen:* | inkop) & limburg:*"


@pytest.mark.django_db
class TestOnPostgreSQL:
    def test_the_search_uses_the_gin_index_and_ranks(self):
        public, staff = Partnership.objects.all(), Partnership.objects.for_audience(True)
        for partnerships, index in ((public, "partnership_search_vector"), (staff, "partnership_staff_search_vector")):
            queryset = partnerships.search("inkoop Limburg")
            sql, params = queryset.order_by().query.sql_with_params()
            with connection.cursor() as cursor:
                # Two rows are read fastest without an index: ask the planner what it can use.
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute(f"EXPLAIN {sql}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            assert f"Bitmap Index Scan on {index}" in plan, plan
            assert "LIKE" not in sql
            assert [p.slug for p in queryset] == [MSG] and queryset[0].search_rank > 0
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT attname, pg_get_expr(adbin, adrelid) FROM pg_attrdef JOIN pg_attribute "
                "ON attrelid = adrelid AND attnum = adnum WHERE adrelid = 'cooperation_partnership'::regclass "
                "AND attname IN ('search_vector', 'staff_search_vector') ORDER BY attname"
            )
            expressions = dict(cursor.fetchall())
        assert "'simple'" in expressions["search_vector"] and "search_text" in expressions["search_vector"]
        assert "'simple'" in expressions["staff_search_vector"]
        assert "staff_search_text" in expressions["staff_search_vector"]

    def test_the_agreements_search_uses_their_gin_index_and_ranks(self, client):
        add_agreement_documents()
        # The audiences' columns (without the public filter's join, which the planner would rather
        # start from with two rows).
        public, staff = Agreement.objects.all(), Agreement.objects.for_audience(True)
        for agreements, index in ((public, "agreement_search_vector"), (staff, "agreement_staff_search_vector")):
            queryset = agreements.search("afspraak Vlaardingen")
            # Unordered, and no plain index scans either: with so few rows the planner would rather
            # walk another index in the list's order and filter; ask what it can use for the search.
            sql, params = queryset.order_by().query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute(f"EXPLAIN {sql}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            assert f"Bitmap Index Scan on {index}" in plan, plan
            assert "LIKE" not in sql
            assert [a.title for a in queryset] == [SCHIEDAM_AGREEMENT] and queryset[0].search_rank > 0
        # Joined with the partnership (which has a search_vector too): the column is qualified.
        joined = Agreement.objects.for_audience(False).search("afspraak").select_related("partnership")
        assert [a.title for a in joined] == [SCHIEDAM_AGREEMENT]
        # Searching, the register's and the API's order is by relevance: the title's own word first.
        response = client.get("/api/v1/agreements/", {"q": "samenwerkingsovereenkomst dienstverlening"})
        assert [item["title"] for item in response.json()["results"]] == [MSG_AGREEMENT]
        response = client.get("/api/v1/agreements/", {"q": "ICT"})
        assert [item["title"] for item in response.json()["results"]][:1] == [SCHIEDAM_AGREEMENT]

    def test_long_text_extracts_are_capped_in_an_agreements_search_text(self):
        """The extracts of an agreement's documents go into its search text up to
        AGREEMENT_TEXT_MAX_CHARS together; PostgreSQL indexes the longest such text (of words that
        differ, the worst case for a tsvector) without error."""
        agreement = Agreement.objects.get(title=SCHIEDAM_AGREEMENT)
        filler = " ".join(f"w{number:07d}" for number in range(derived.AGREEMENT_TEXT_MAX_CHARS // 9))
        make_document(agreement=agreement, data=make_pdf("Eerste"))
        make_document(agreement=agreement, data=make_pdf("Tweede"))
        first, second = agreement.documents.order_by("pk")
        # As documents.py stores the longest extract (the upload's own PDF cannot hold so much text).
        Document.objects.filter(pk=first.pk).update(text=f"begintekst {filler}")
        Document.objects.filter(pk=second.pk).update(text=f"voorbijdegrens {filler}")
        services.document_save(document=Document.objects.get(pk=second.pk))
        found = Agreement.objects.for_audience(False)
        assert [a.pk for a in found.search("begintekst")] == [agreement.pk]
        assert [a.pk for a in found.search("w0000001")] == [agreement.pk]
        assert not found.search("voorbijdegrens").exists()

    def test_the_api_searches_the_same_way(self, client):
        response = client.get("/api/v1/partnerships/", {"q": "inkoop"})
        assert [item["slug"] for item in response.json()["results"]] == [MSG]

    def test_renaming_a_former_municipality_rebuilds_its_successors_partnerships(self):
        geleen = Municipality.objects.get(cbs_code="GM0906")
        geleen.name = "Geleen-Lutterade"
        services.municipality_save(municipality=geleen)
        assert list(Partnership.objects.search("Lutterade").values_list("slug", flat=True)) == [MSG]


@pytest.mark.django_db
class TestMunicipalityIndex:
    def test_a_former_municipality_is_listed_with_its_successor_and_linked(self, client):
        page = client.get("/municipalities/", {"q": "Geleen"}).content.decode()
        assert "2 gemeenten gevonden voor “Geleen”" in page
        assert (
            '<a href="/municipalities/GM0906/">Geleen</a> — opgegaan in '
            '<a href="/municipalities/GM1883/">Sittard-Geleen</a> (2001)'
        ) in page
        assert '<a href="/municipalities/GM1883/">Sittard-Geleen</a> <small>1 samenwerkingsverband</small>' in page
        assert '<small class="muted">geen samenwerkingsverbanden</small>' in page

    def test_everything_by_province_former_ones_folded_away(self, client):
        response = client.get("/municipalities/")
        page = response.content.decode()
        provinces = [province["name"] for province in response.context["provinces"]]
        assert provinces == sorted(provinces) and len(provinces) == 12
        assert response.context["found"] == len(entries(page)) == Municipality.objects.count()
        assert page.count("<details") == 12 and '<h2 id="province-limburg">Limburg</h2>' in page
        assert '<a href="#province-noord-holland">Noord-Holland</a>' in page

    def test_only_municipalities_with_partnerships(self, client):
        page = client.get("/municipalities/", {"with_partnerships": "on"}).content.decode()
        assert sorted(entries(page)) == [
            [name, None, None, 1] for name in ("Maassluis", "Maastricht", "Schiedam", "Sittard-Geleen", "Vlaardingen")
        ]

    def test_in_english(self, client):
        page = client.get("/en/municipalities/", {"q": "Geleen"}).content.decode()
        assert '<html lang="en">' in page
        assert "2 municipalities found for “Geleen”" in page
        assert '— merged into <a href="/en/municipalities/GM1883/">Sittard-Geleen</a> (2001)' in page
        assert "<small>1 partnership</small>" in page

    def test_too_long_a_search_is_reported_in_dutch_and_everything_listed(self, client):
        response = client.get("/municipalities/", {"q": "x" * 201})
        page = response.content.decode()
        assert "error-summary" in page and "niet meer dan 200 tekens" in page
        assert response.context["found"] == Municipality.objects.count()

    def test_a_name_nobody_has_says_so_and_offers_the_partnership_search(self, client):
        page = client.get("/municipalities/", {"q": "Atlantis"}).content.decode()
        assert "0 gemeenten gevonden voor “Atlantis”" in page
        assert 'href="/partnerships/?q=Atlantis"' in page

    def test_linked_from_the_navigation_and_the_home_page(self, client):
        home = client.get("/").content.decode()
        assert home.count('href="/municipalities/"') == 2
        index = client.get("/municipalities/").content.decode()
        assert '<a href="/municipalities/" aria-current="page">Gemeenten</a>' in index

    def test_query_count_is_pinned_and_does_not_grow(self, client, viewer_client, django_assert_num_queries):
        # register stamp, municipalities with their successors, the counts; warm: the counts are cached
        with django_assert_num_queries(3):
            assert client.get("/municipalities/", {"q": "Geleen"}).status_code == 200
        with django_assert_num_queries(2):
            assert client.get("/municipalities/").status_code == 200
        # signed in: + session and user
        with django_assert_num_queries(5):
            assert viewer_client.get("/municipalities/").status_code == 200
        grow_register(30)
        cache.clear()
        with django_assert_num_queries(3):
            assert client.get("/municipalities/").status_code == 200


@pytest.mark.django_db
def test_a_municipality_is_found_by_its_province_and_its_former_and_later_names():
    places = derived.municipality_places()
    sittard_geleen = places[Municipality.objects.get(cbs_code="GM1883").pk]
    assert sittard_geleen[:2] == ("Sittard-Geleen", "Limburg")
    assert {"Geleen", "Born", "Sittard", "Munstergeleen", "Limbricht", "Broeksittard"} <= set(sittard_geleen)
    assert places[Municipality.objects.get(cbs_code="GM0906").pk] == ("Geleen", "Limburg", "Sittard-Geleen")
    leeuwarden = places[Municipality.objects.get(cbs_code="GM0080").pk]
    assert leeuwarden[:3] == ("Leeuwarden", "Fryslân", "Friesland")


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["", "/en"])
def test_every_example_in_the_home_page_search_box_finds_a_partnership(client, language):
    home = client.get(f"{language}/").content.decode()
    placeholder = re.search(r'id="home-q" name="q" placeholder="([^"]+)"', home)[1]
    examples = [part.split()[-1] for part in placeholder.split(",")]
    assert len(examples) == 3
    for example in examples:
        response = client.get(f"{language}/partnerships/", {"q": example})
        assert response.context["page"].paginator.count >= 1, example

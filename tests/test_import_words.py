"""Imports in people's words: labels and variants in coded columns, problems that name their cause,
duplicates flagged, a preview that scales, and admin exports as the list shows them (issue 16)."""

import csv
import io
import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from cooperation.models import Event, ImportBatch, ImportJob, Partnership, Source
from cooperation.porting import export
from cooperation.porting.columns import COLUMNS
from cooperation.porting.importer import run_import
from cooperation.porting.preview import compact_rows
from cooperation.porting.vocabulary import CHOICES, VARIANTS, Vocabulary, vocabulary

DATA = Path(__file__).parent / "data"
FRYSLAN = "voorbeeld-ict-samenwerking-fryslan"


def csv_bytes(kind: str, rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS[kind]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def event(**values) -> dict:
    return dict.fromkeys(COLUMNS["events"], "") | {"partnership": FRYSLAN} | values


@pytest.fixture
def importer(admin_user):
    def run(kind: str, data: bytes, *, dry_run: bool = False, duplicates: str = "skip"):
        return run_import(
            kind=kind, data=data, filename=f"{kind}.csv", user=admin_user, dry_run=dry_run, duplicates=duplicates
        )

    return run


@pytest.fixture
def example(importer):
    report = importer("partnerships", (DATA / "partnerships.csv").read_bytes())
    assert report.ok, report.problems
    return Partnership.objects.get(slug=FRYSLAN)


# --- Codes, labels and variants ------------------------------------------------------------


def test_a_municipalitys_excel_file_with_dutch_labels_in_every_coded_column_imports(importer, example):
    """Windows-1252, semicolons, CRLF, Dutch labels in kind, status, pillar, decided_by, source_kind
    and visibility, amounts and days the Dutch way: as Excel saves a municipality's own sheet."""
    data = (DATA / "events-gemeente-excel.csv").read_bytes()
    assert b"S\xfadwest-Frysl\xe2n" in data and b";" in data.splitlines()[0]  # really Windows-1252 with semicolons
    report = importer("events", data)
    assert report.ok, report.problems
    assert (report.total_rows, report.new) == (7, 7)
    stored = {
        e.title: (e.kind, e.status, e.pillar.code if e.pillar else "", e.decided_by, e.visibility)
        for e in example.events.select_related("pillar")
    }
    assert stored == {
        "Samenwerkingsovereenkomst ICT getekend door Harlingen, Súdwest-Fryslân en Waadhoeke": (
            "signed",
            "happened",
            "joint_procurement",
            "executive",
            "public",
        ),
        "Leeuwarden treedt toe": ("joined", "happened", "", "council", "public"),
        "Europese aanbesteding werkplekken": (
            "tender_launched",
            "planned",
            "knowledge_sharing",
            "executive",
            "internal",
        ),
        "Evaluatie na drie jaar": ("evaluated", "happened", "architecture_alignment", "town_clerks", "public"),
        "Harlingen besluit uit te treden": ("withdrawal_decided", "happened", "", "council", "public"),
        "Harlingen treedt uit": ("withdrawn", "happened", "", "partnership_board", "public"),
        "Gezamenlijk datacentrum afgeblazen": ("other", "abandoned", "", "mayor", "public"),
    }
    signed = example.events.get(kind="signed")
    assert signed.cost_eur == Decimal("12500.00")
    assert sorted(Source.objects.filter(events__partnership=example).values_list("title", "kind")) == [
        ("Drie Friese gemeenten tekenen voor ICT", "press_release"),
        ("Raadsbesluit toetreding ICT-samenwerking", "council_decision"),
    ]


def test_partnerships_accept_labels_for_legal_form_pillars_and_visibility(importer, example):
    row = {
        "slug": "nieuw-verband",
        "name": "Nieuw verband",
        "legal_form": "Openbaar lichaam (Wgr)",
        "pillars": "kennisdeling; GEZAMENLIJKE INKOOP;service modernisation",
        "summary": "",
        "visibility": "Intern",
        "last_verified": "",
    }
    report = importer("partnerships", csv_bytes("partnerships", [row]))
    assert report.ok, report.problems
    partnership = Partnership.objects.get(slug="nieuw-verband")
    assert (partnership.legal_form, partnership.visibility) == ("wgr_public_body", "internal")
    assert sorted(partnership.pillars.values_list("code", flat=True)) == [
        "joint_procurement",
        "knowledge_sharing",
        "service_modernisation",
    ]


@pytest.mark.parametrize("column", sorted(CHOICES))
def test_every_code_and_its_dutch_and_english_label_is_accepted_in_any_case(column):
    words = Vocabulary(column)
    for code, label in CHOICES[column].choices:
        for language in ("nl", "en"):
            with translation.override(language):
                text = str(label)
            for written in (text, text.upper(), text.lower(), f"  {text.title()} "):
                assert words.code(written) == code, (column, written)
        assert words.code(code.upper()) == code


@pytest.mark.parametrize(
    "column, written, code",
    [
        ("decided_by", "college van B&W", "executive"),
        ("decided_by", "College van B & W", "executive"),
        ("decided_by", "B&W", "executive"),
        ("decided_by", "burgemeester en wethouders", "executive"),
        ("decided_by", "Gemeenteraad", "council"),
        ("decided_by", "raad", "council"),
        ("decided_by", "gemeentesecretarissen", "town_clerks"),
        ("decided_by", "executive", "executive"),
        ("legal_form", "convenant", "covenant"),
        ("legal_form", "bedrijfsvoeringsorganisatie", "wgr_business_unit"),
        ("province", "Fryslan", "Fryslân"),
        ("province", "noord-brabant", "Noord-Brabant"),
        ("kind", "Aanbesteding gestart", "tender_launched"),
        ("kind", "tender-launched", "tender_launched"),
        ("source_kind", "Raadsbesluit", "council_decision"),
    ],
)
def test_common_variants_are_accepted(column, written, code):
    assert Vocabulary(column).code(written) == code


def test_variants_each_mean_one_code_and_name_existing_codes():
    for column, variants in VARIANTS.items():
        words = Vocabulary(column)
        for code, written in variants.items():
            assert code in words.codes
            for word in written:
                assert words.code(word) == code, (column, word)


def test_an_unknown_value_lists_the_codes_with_their_dutch_labels(importer, example):
    report = importer("events", csv_bytes("events", [event(kind="signed", decided_by="wie", municipalities="GM0072")]))
    [problem] = report.problems
    assert (problem.row, problem.column) == (2, "decided_by")
    assert problem.message.startswith("Onbekende waarde “wie”; gebruik een code of de omschrijving: council")
    assert "council (gemeenteraad), executive (college van B&W), mayor (burgemeester)" in problem.message


# --- A problem caused by another row says so ------------------------------------------------


def test_a_problem_that_follows_from_a_rejected_row_names_that_row(importer, example):
    rows = [
        event(kind="signed", date="2019", municipalities="GM0072;GM1900", decided_by="iemand"),  # row 2: rejected
        event(kind="evaluated", date="2020", municipalities="GM1900"),
        event(kind="withdrawal_decided", date="2021", municipalities="GM0072"),  # row 4: needs row 2
        event(kind="withdrawn", date="2022", municipalities="GM0072"),  # row 5: needs row 2
        event(kind="withdrawn", date="2022", municipalities="GM0546"),  # row 6: Leiden, never a member
    ]
    report = importer("events", csv_bytes("events", rows))
    found = {(p.row, p.column): p.message for p in report.problems}
    assert set(found) == {(2, "decided_by"), (4, "municipalities"), (5, "municipalities"), (6, "municipalities")}
    for row in (4, 5):
        assert found[row, "municipalities"].startswith("Volgt uit rij 2: die rij wordt afgewezen")
        assert "Verbeter eerst rij 2." in found[row, "municipalities"]
    assert "Leiden is op 2022 geen lid van" in found[6, "municipalities"]
    assert not example.events.exists()


def test_a_source_described_differently_names_the_column_that_differs(importer, example):
    source = {"source_url": "https://voorbeeld.example.org/a", "source_title": "A"}
    rows = [
        event(kind="signed", date="2019", municipalities="GM0072", **source, source_date="2019-01-01"),
        event(kind="evaluated", date="2020", municipalities="GM0072", **source, source_date="2019-01-02"),
    ]
    report = importer("events", csv_bytes("events", rows))
    [problem] = report.problems
    assert (problem.row, problem.column) == (3, "source_date")
    assert "in rij 2 anders beschreven (source_date)" in problem.message


# --- Duplicates --------------------------------------------------------------------------------


def test_the_same_uid_less_file_twice_is_flagged_and_skipped_by_default(importer, example):
    data = (DATA / "events.csv").read_bytes()
    first = importer("events", data)
    assert (first.new, first.duplicates) == (6, 0)
    preview = importer("events", data, dry_run=True)
    assert preview.ok and (preview.new, preview.duplicates) == (0, 6)
    assert {row.action for row in preview.rows} == {"duplicate"}
    assert preview.rows[0].note.startswith("Hetzelfde als de al vastgelegde gebeurtenis “Samenwerkingsovereenkomst")
    second = importer("events", data)
    assert (second.new, second.duplicates, second.batch_id) == (0, 6, None)
    assert example.events.count() == 6


def test_duplicates_can_be_imported_all_the_same(importer, example):
    data = (DATA / "events.csv").read_bytes()
    importer("events", data)
    again = importer("events", data, duplicates="import")
    assert again.ok and (again.new, again.duplicates) == (6, 6)
    assert example.events.count() == 12


def test_a_row_repeating_an_earlier_row_of_the_same_file_is_a_duplicate(importer, example):
    rows = [
        event(kind="signed", date="2019", municipalities="GM0072;GM1900", title="Getekend"),
        event(kind="signed", date="2019", municipalities="GM1900;GM0072", title="Nog eens getekend"),
        event(kind="signed", date="2019", municipalities="GM0072", title="Alleen Harlingen"),  # other municipalities
        event(uid=str(uuid.uuid4()), kind="signed", date="2019", municipalities="GM0072", title="Met uid"),
    ]
    report = importer("events", csv_bytes("events", rows), dry_run=True)
    assert report.ok and (report.new, report.duplicates) == (3, 1)
    [duplicate] = [row for row in report.rows if row.action == "duplicate"]
    assert (duplicate.row, duplicate.note) == (3, "Hetzelfde als rij 2.")


def test_the_admin_offers_the_choice_and_imports_duplicates_when_asked(admin_client, importer, example):
    importer("events", (DATA / "events.csv").read_bytes())
    url = reverse("admin:cooperation_event_import")
    with (DATA / "events.csv").open("rb") as upload:
        response = admin_client.post(url, {"file": upload})
    content = response.content.decode()
    assert "6 rijen: 0 nieuw, 0 bij te werken, 0 ongewijzigd, 6 dubbel (overgeslagen)." in content
    assert 'value="skip" id="duplicates-skip" checked' in content
    assert "Toch als nieuwe gebeurtenissen importeren" in content
    job = response.context["job_id"]
    admin_client.post(url, {"job": job, "confirm": "1", "duplicates": "import"})
    assert example.events.count() == 12
    assert ImportJob.objects.get(pk=job).import_duplicates


def test_confirming_without_a_choice_skips_the_duplicates(admin_client, importer, example):
    importer("events", (DATA / "events.csv").read_bytes())
    url = reverse("admin:cooperation_event_import")
    with (DATA / "events.csv").open("rb") as upload:
        job = admin_client.post(url, {"file": upload}).context["job_id"]
    response = admin_client.post(url, {"job": job, "confirm": "1"}, follow=True)
    assert "Niets te importeren: elke rij is ongewijzigd of dubbel." in response.content.decode()
    assert example.events.count() == 6
    assert ImportJob.objects.get(pk=job).duplicates == 6


# --- The preview ---------------------------------------------------------------------------


def test_compact_rows():
    assert compact_rows([4, 5, 6, 9, 11, 12]) == "4–6, 9, 11–12"
    assert compact_rows([7]) == "7"


def test_the_preview_says_one_row_in_dutch_and_shows_title_and_date_in_words(admin_client, example):
    data = csv_bytes("events", [event(kind="signed", date="2019-03-14", municipalities="GM0072", title="Getekend")])
    response = admin_client.post(reverse("admin:cooperation_event_import"), {"file": _upload("een.csv", data)})
    content = response.content.decode()
    assert "1 rij: 1 nieuw, 0 bij te werken, 0 ongewijzigd." in content
    assert "1 rijen" not in content
    assert 'Getekend<br><span class="muted">14 maart 2019 · Voorbeeld: ICT-samenwerking Friese gemeenten' in content
    # Confirm at the top and at the bottom, each with a cancel beside it.
    assert content.count('name="confirm"') == 2
    assert content.count(">Annuleren</a>") == 2


def test_the_preview_groups_problems_and_lists_no_row_as_both_problem_and_new(admin_client, example):
    rows = [event(kind="signed", date="2019", municipalities="GM0072;GM1900")]
    rows += [event(kind="evaluated", date="2020", municipalities="GM0072", pillar="onbekend") for _ in range(40)]
    rows.append(event(kind="withdrawn", date="2021", municipalities="GM0546"))  # a rule: Leiden is no member
    response = admin_client.post(
        reverse("admin:cooperation_event_import"), {"file": _upload("fout.csv", csv_bytes("events", rows))}
    )
    content = response.content.decode()
    groups = response.context["problem_groups"]
    assert [(group["column"], group["rows_text"], group["count"]) for group in groups] == [
        ("pillar", "rijen 3–42", 40),
        ("municipalities", "rij 43", 1),
    ]
    assert "Dit bestand heeft 41 problemen" in content
    listed = [row["row"] for row in response.context["page_obj"].object_list]
    assert listed == [2]  # the valid row only; row 43 read fine but broke a rule
    assert 'name="confirm"' not in content


def test_the_preview_is_paged_without_javascript(admin_client, example):
    rows = [event(kind="evaluated", date=str(1900 + n), municipalities="GM1900", title=f"Rij {n}") for n in range(120)]
    rows.insert(0, event(kind="signed", date="1899", municipalities="GM1900", title="Begin"))
    url = reverse("admin:cooperation_event_import")
    response = admin_client.post(url, {"file": _upload("veel.csv", csv_bytes("events", rows))})
    job = response.context["job_id"]
    assert len(response.context["page_obj"].object_list) == 50
    assert f'href="?job={job}&amp;page=2"' in response.content.decode()
    page = admin_client.get(url, {"job": job, "page": 3})
    assert [row["row"] for row in page.context["page_obj"].object_list] == list(range(102, 123))
    assert page.content.decode().count('name="confirm"') == 2
    # Another user's job is not shown.
    other = ImportJob.objects.get(pk=job)
    other.user = None
    other.save()
    assert "page_obj" not in admin_client.get(url, {"job": job}).context


def test_a_finished_job_links_to_its_partnerships_its_import_and_its_undo(
    admin_client, example, django_assert_num_queries
):
    url = reverse("admin:cooperation_event_import")
    with (DATA / "events.csv").open("rb") as upload:
        job = admin_client.post(url, {"file": upload}).context["job_id"]
    done = admin_client.post(url, {"job": job, "confirm": "1"}, follow=True)
    assert reverse("cooperation:import-job", args=[job]) in done.content.decode()  # the message links the job
    batch = ImportBatch.objects.get(pk=ImportJob.objects.get(pk=job).batch_id)
    with django_assert_num_queries(5):  # session, user, stale check, the job, the partnerships it changed
        response = admin_client.get(reverse("cooperation:import-job", args=[job]))
    content = response.content.decode()
    assert reverse("admin:cooperation_importbatch_change", args=[batch.pk]) in content
    assert reverse("admin:cooperation_importbatch_undo", args=[batch.pk]) in content
    assert f'href="{example.get_absolute_url()}"' in content


def test_the_job_page_of_a_preview_costs_the_same_queries_whatever_its_size(
    admin_client, example, django_assert_num_queries
):
    url = reverse("admin:cooperation_event_import")
    with (DATA / "events.csv").open("rb") as upload:
        job = admin_client.post(url, {"file": upload}).context["job_id"]
    with django_assert_num_queries(4):  # session, user, stale check, the job (its rows and problems are in it)
        admin_client.get(reverse("cooperation:import-job", args=[job]))


def _upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


# --- Admin export: what the list shows, codes or labels, column widths --------------------------


def _rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_admin_export_honours_the_lists_search_and_filters(admin_client, importer, example):
    importer("events", (DATA / "events.csv").read_bytes())
    query = {"partnership__id__exact": example.pk, "kind__exact": "signed"}
    changelist = admin_client.get(reverse("admin:cooperation_event_changelist"), query)
    assert changelist.context["cl"].result_count == 1
    links = dict(changelist.context["export_urls"])
    assert links["CSV"].endswith(f"?partnership__id__exact={example.pk}&kind__exact=signed")
    response = admin_client.get(links["CSV"])
    assert [(row["partnership"], row["kind"]) for row in _rows(response.content)] == [(FRYSLAN, "signed")]
    searched = admin_client.get(reverse("admin:cooperation_event_export", args=["csv"]), {"q": "Leeuwarden sluit"})
    assert [row["title"] for row in _rows(searched.content)] == ["Leeuwarden sluit aan"]
    everything = admin_client.get(reverse("admin:cooperation_event_export", args=["csv"]))
    assert len(_rows(everything.content)) == Event.objects.count() > 6
    # A filter the list does not know exports nothing but sends the user back to the list.
    wrong = admin_client.get(reverse("admin:cooperation_event_export", args=["csv"]), {"bestaat_niet": "1"})
    assert wrong.status_code == 302 and wrong["Location"].endswith("?e=1")


def test_admin_export_with_labels_writes_dutch_labels_that_import_again(admin_client, importer, example):
    importer("events", (DATA / "events.csv").read_bytes())
    query = {"partnership__id__exact": example.pk, "kind__exact": "signed"}
    changelist = admin_client.get(reverse("admin:cooperation_event_changelist"), query)
    links = dict(changelist.context["export_urls"])
    assert "kind__exact=signed" in links["CSV met omschrijvingen"] and "labels=1" in links["CSV met omschrijvingen"]
    response = admin_client.get(links["CSV met omschrijvingen"])
    [row] = _rows(response.content)
    assert (row["kind"], row["status"], row["decided_by"], row["pillar"], row["visibility"]) == (
        "ondertekend",
        "gebeurd",
        "college van B&W",
        "gezamenlijke inkoop",
        "openbaar",
    )
    assert row["source_kind"] == "nieuwsbericht"
    # The labelled file imports again, unchanged.
    again = importer("events", response.content, dry_run=True)
    assert again.ok and (again.unchanged, again.new) == (1, 0), again.problems


def test_xlsx_export_sets_column_widths(admin_client, importer, example):
    importer("events", (DATA / "events.csv").read_bytes())
    response = admin_client.get(
        reverse("admin:cooperation_event_export", args=["xlsx"]),
        {"labels": "1", "partnership__id__exact": example.pk},
    )
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    widths = {column: sheet.column_dimensions[column].width for column in ("A", "B", "G", "T")}
    assert widths["A"] == 38  # a uid (36 characters) and a margin
    assert widths["B"] == len(FRYSLAN) + 2
    assert widths["G"] > 30  # titles
    assert widths["T"] == len("visibility") + 2
    assert all(8 <= width <= 60 for width in widths.values())
    assert sheet["C2"].value == "ondertekend"
    assert re.fullmatch(r"[0-9a-f-]{36}", sheet["A2"].value)
    assert export.column_widths(["a"], [["x" * 500]]) == [60]


def test_the_job_page_groups_a_large_files_problems_and_offers_a_new_upload(admin_client, admin_user):
    problem = {"column": "legal_form", "message": "Onbekende waarde “x”."}
    job = ImportJob.objects.create(
        user=admin_user,
        kind="partnerships",
        data=b"",
        filename="groot.csv",
        status=ImportJob.Status.PREVIEWED,
        total_rows=4000,
        problems=[{"row": row, **problem} for row in range(4, 3961)]
        + [{"row": 2, "column": "slug", "message": "Leeg."}],
    )
    content = admin_client.get(reverse("cooperation:import-job", args=[job.pk])).content.decode()
    assert "Dit bestand heeft 3958 problemen" in content
    assert "<td>rijen 4–3960</td>" in content and "<td>rij 2</td>" in content
    assert content.count("Onbekende waarde “x”.") == 1
    assert f'href="{reverse("admin:cooperation_partnership_import")}"' in content
    assert 'name="confirm"' not in content


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("Evaluatie", "evaluated"),
        ("verlenging", "renewed"),
        ("Aanbesteding", "tender_launched"),
        ("opheffing", "dissolved"),
    ],
)
def test_event_kinds_read_as_the_nouns_a_spreadsheet_uses(word, code):
    assert vocabulary("kind").code(word) == code

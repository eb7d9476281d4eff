"""Agreements in the import/export formats (format 1.2), the events citing them, the downloads and
the calendars (issue 21): round trips into an empty register, row-and-column errors in Dutch,
permissions, undo, and no internal agreement in anything anonymous."""

import csv
import datetime
import io
import json
import uuid
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from openpyxl import load_workbook

from cooperation import services
from cooperation.downloads import open_data_store, register_rows
from cooperation.models import Agreement, Event, ImportBatch, Partnership
from cooperation.porting import export, importer
from cooperation.porting.columns import COLUMNS, FORMAT_VERSION
from cooperation.porting.undo import import_undo
from tests.factories import empty_the_register

DATA = Path(__file__).parent / "data"
EXAMPLE = "voorbeeld-ict-samenwerking-fryslan"
EXAMPLE_UID = uuid.UUID("5d1f6c4e-8a0b-4f7e-9c39-2b7c1e0d4a11")


def run(kind: str, data: bytes, user, *, dry_run: bool = False, filename: str = ""):
    return importer.run_import(kind=kind, data=data, filename=filename or f"{kind}.csv", user=user, dry_run=dry_run)


def csv_bytes(kind: str, rows: list[dict], columns=None) -> bytes:
    columns = list(columns or COLUMNS[kind])
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in columns})
    return out.getvalue().encode("utf-8-sig")


def csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def problems(report) -> list[tuple]:
    return [(problem.row, problem.column) for problem in report.problems]


@pytest.fixture
def example(admin_user, svm, msg):
    """The seed cases plus the example partnership of tests/data with its events and agreements."""
    for kind in ("partnerships", "agreements", "events"):
        report = run(kind, (DATA / f"{kind}.csv").read_bytes(), admin_user)
        assert report.ok, (kind, report.problems)
    return Partnership.objects.get(slug=EXAMPLE)


@pytest.fixture
def internal_agreement(svm):
    """An internal agreement of a public partnership, with a term, cited by a public event."""
    agreement = services.agreement_save(
        agreement=Agreement(
            partnership=svm,
            kind=Agreement.Kind.SERVICE_LEVEL_AGREEMENT,
            title="Vertrouwelijke dienstverleningsovereenkomst",
            date_text="2014-01",
            term_start=datetime.date(2014, 1, 1),
            term_end=datetime.date(2031, 12, 31),
            term_note="tot en met 2031",
            visibility="internal",
        )
    )
    Event.objects.filter(partnership=svm, kind="signed").update(agreement=agreement)
    return agreement


# --- Round trips ------------------------------------------------------------------------------


def links() -> list[tuple]:
    """Which event cites which agreement, by their uids."""
    return sorted(
        (str(uid), str(agreement_uid))
        for uid, agreement_uid in Event.objects.filter(agreement__isnull=False).values_list("uid", "agreement__uid")
    )


def agreements() -> list[tuple]:
    fields = ("uid", "partnership__slug", "kind", "title", "description", "date_text", "date_lower", "date_upper")
    fields += ("term_start", "term_end", "term_note", "visibility")
    return sorted(Agreement.objects.values_list(*fields), key=lambda row: str(row[0]))


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "json"])
def test_agreements_and_the_events_citing_them_round_trip_into_an_empty_register(
    admin_user, example, internal_agreement, file_format
):
    agreements_before, links_before = agreements(), links()
    assert len(agreements_before) == 6  # three of the seed cases, two examples, the internal one
    assert any(agreement_uid == str(internal_agreement.uid) for _event, agreement_uid in links_before)
    assert len(links_before) >= 3
    exported = {kind: export.export_file(kind=kind, file_format=file_format) for kind in importer.KINDS}
    empty_the_register()
    assert not Agreement.objects.exists() and not Event.objects.exists()
    for kind in importer.KINDS:  # municipalities, partnerships, agreements, events
        report = run(kind, exported[kind], admin_user, filename=f"{kind}.{file_format}")
        assert report.ok, (kind, report.problems[:5])
        assert report.new == report.total_rows
    assert agreements() == agreements_before
    assert links() == links_before
    again = {kind: export.export_file(kind=kind, file_format=file_format) for kind in ("agreements", "events")}
    for kind, data in again.items():
        if file_format == "xlsx":  # a workbook carries the moment it was written; its cells are the contract
            assert xlsx_rows(data) == xlsx_rows(exported[kind]), kind
        else:
            assert data == exported[kind], kind


def test_the_agreements_export_has_the_columns_of_the_format(example):
    assert FORMAT_VERSION == "1.2"
    assert COLUMNS["agreements"] == (
        "uid", "partnership", "kind", "title", "description", "date", "term_start", "term_end", "term_note",
        "visibility",
    )  # fmt: skip
    rows = csv_rows(export.export_file(kind="agreements"))
    row = next(row for row in rows if row["uid"] == str(EXAMPLE_UID))
    assert row == {
        "uid": str(EXAMPLE_UID),
        "partnership": EXAMPLE,
        "kind": "cooperation_agreement",
        "title": "Samenwerkingsovereenkomst ICT Friese gemeenten",
        "description": (
            "Fictief voorbeeld bij het importformaat: de overeenkomst waarmee Harlingen, Súdwest-Fryslân en "
            "Waadhoeke samen ICT gaan inkopen."
        ),
        "date": "2019-03-14",
        "term_start": "2019-04-01",
        "term_end": "2023-03-31",
        "term_note": "vier jaar",
        "visibility": "public",
    }
    vague = next(row for row in rows if row["title"] == "Dienstverleningsovereenkomst werkplekken")
    assert (vague["date"], vague["term_start"], vague["visibility"]) == ("2020-23", "2020-10-01", "internal")


def test_importing_the_export_again_changes_nothing(admin_user, example):
    for kind in ("agreements", "events"):
        report = run(kind, export.export_file(kind=kind), admin_user)
        assert report.ok and report.unchanged == report.total_rows and report.batch_id is None, kind


# --- Errors -----------------------------------------------------------------------------------


def test_each_bad_row_gets_its_row_and_column_in_dutch_and_nothing_is_saved(admin_user, example):
    count = Agreement.objects.count()
    report = run("agreements", (DATA / "bad" / "agreements-errors.csv").read_bytes(), admin_user)
    assert problems(report) == [(2, "partnership"), (3, "date"), (4, "term_end"), (5, "kind"), (6, "term_start")]
    messages = [problem.message for problem in report.problems]
    assert "Onbekend samenwerkingsverband “voorbeeld-ict-samenwerkng-fryslan”" in messages[0]
    assert EXAMPLE in messages[0]  # did you mean
    assert "2019-02-30" in messages[1]
    assert messages[2] == "De looptijd eindigt (2019-12-31) voordat hij begint (2023-01-01)."
    assert "Onbekende waarde “convenant”" in messages[3] and "cooperation_agreement" in messages[3]
    assert "“31-02-2020” is geen dag" in messages[4]
    assert Agreement.objects.count() == count


def test_a_uid_that_is_not_one_and_a_uid_twice_are_refused(admin_user, example):
    row = {"partnership": EXAMPLE, "kind": "other", "title": "Dubbel", "visibility": "public"}
    data = csv_bytes("agreements", [{**row, "uid": "geen-uuid"}, {**row, "uid": str(uuid.uuid4())}])
    report = run("agreements", data, admin_user)
    assert problems(report) == [(2, "uid")]
    assert "is geen uid van een overeenkomst" in report.problems[0].message
    twice = str(uuid.uuid4())
    report = run("agreements", csv_bytes("agreements", [{**row, "uid": twice}, {**row, "uid": twice}]), admin_user)
    assert problems(report) == [(3, "uid")]


def test_an_agreement_cited_by_events_cannot_move_to_another_partnership(admin_user, svm, msg):
    [row] = csv_rows(export.export_file(kind="agreements", queryset=Agreement.objects.filter(partnership=svm)))
    report = run("agreements", csv_bytes("agreements", [{**row, "partnership": msg.slug}]), admin_user)
    assert problems(report) == [(2, "partnership")]
    assert "kan daarom niet naar een ander samenwerkingsverband" in report.problems[0].message
    # Moving one that no event cites is a change like any other.
    Event.objects.filter(partnership=svm).update(agreement=None)
    report = run("agreements", csv_bytes("agreements", [{**row, "partnership": msg.slug}]), admin_user)
    assert report.ok and report.updated == 1, report.problems
    assert Agreement.objects.get(uid=row["uid"]).partnership == msg


# --- Events citing agreements -----------------------------------------------------------------


def test_events_cite_agreements_by_uid_and_a_file_without_the_column_keeps_them(admin_user, example):
    signed = Event.objects.get(partnership=example, kind="signed")
    assert signed.agreement is None  # tests/data/events.csv is of format version 1
    [row] = csv_rows(export.export_file(kind="events", queryset=Event.objects.filter(pk=signed.pk)))
    report = run("events", csv_bytes("events", [{**row, "agreement_uid": str(EXAMPLE_UID)}]), admin_user)
    assert report.ok and report.updated == 1, report.problems
    signed.refresh_from_db()
    assert signed.agreement.uid == EXAMPLE_UID
    # A file of version 1.1 (no agreement_uid) leaves the agreement as it is.
    columns = [column for column in COLUMNS["events"] if column != "agreement_uid"]
    report = run("events", csv_bytes("events", [row], columns=columns), admin_user)
    assert report.ok and report.unchanged == 1, report.problems
    signed.refresh_from_db()
    assert signed.agreement.uid == EXAMPLE_UID


def test_an_event_citing_an_unknown_or_foreign_agreement_is_refused(admin_user, example, svm):
    [row] = csv_rows(
        export.export_file(kind="events", queryset=Event.objects.filter(partnership=example, kind="signed"))
    )
    unknown = str(uuid.uuid4())
    foreign = str(Agreement.objects.get(partnership=svm).uid)
    rows = [{**row, "agreement_uid": unknown}, {**row, "uid": "", "agreement_uid": foreign}]
    report = run("events", csv_bytes("events", rows), admin_user)
    assert problems(report) == [(2, "agreement_uid"), (3, "agreement_uid")]
    assert f"Onbekende overeenkomst “{unknown}”" in report.problems[0].message
    assert "hoort bij ICT-samenwerking Schiedam, Vlaardingen en Maassluis" in report.problems[1].message


# --- Permissions ------------------------------------------------------------------------------


def test_an_editor_imports_agreements_only_for_partnerships_of_their_municipalities(editor_of, svm, msg):
    schiedam = editor_of("GM0606")
    rows = [
        {"partnership": svm.slug, "kind": "other", "title": "Addendum beheer", "date": "2015"},
        {"partnership": msg.slug, "kind": "other", "title": "Niet van Schiedam", "date": "2015"},
    ]
    report = run("agreements", csv_bytes("agreements", rows), schiedam)
    assert problems(report) == [(3, "partnership")]
    assert "U mag ICT-samenwerking Maastricht en Sittard-Geleen niet wijzigen" in report.problems[0].message
    assert not Agreement.objects.filter(title="Addendum beheer").exists()  # all or nothing
    # Nor may an agreement of Schiedam's partnership be moved into Maastricht's.
    [own] = csv_rows(export.export_file(kind="agreements", queryset=Agreement.objects.filter(partnership=svm)))
    Event.objects.filter(partnership=svm).update(agreement=None)
    report = run("agreements", csv_bytes("agreements", [{**own, "partnership": msg.slug}]), schiedam)
    assert problems(report) == [(2, "partnership")]
    report = run("agreements", csv_bytes("agreements", rows[:1]), schiedam)
    assert report.ok and report.new == 1, report.problems
    # Changing Maastricht's agreement is refused; an unchanged full export imports (touches nothing).
    full = csv_rows(export.export_file(kind="agreements"))
    report = run("agreements", export.export_file(kind="agreements"), schiedam)
    assert report.ok and report.unchanged == len(full)
    changed = [{**row, "term_note": "gewijzigd"} if row["partnership"] == msg.slug else row for row in full]
    report = run("agreements", csv_bytes("agreements", changed), schiedam)
    assert {column for _row, column in problems(report)} == {"partnership"}
    assert len(report.problems) == Agreement.objects.filter(partnership=msg).count()


# --- One change set, undone -------------------------------------------------------------------


def test_an_agreements_import_is_one_change_set_that_can_be_undone(admin_user, svm, derived_matches_a_fresh_derivation):
    agreement = Agreement.objects.get(partnership=svm)
    [row] = csv_rows(export.export_file(kind="agreements", queryset=Agreement.objects.filter(pk=agreement.pk)))
    rows = [
        {**row, "term_end": "2019-12-31", "term_note": "opgezegd per eind 2019"},
        {"partnership": svm.slug, "kind": "other", "title": "Ontvlechtingsafspraken", "date": "2019-23"},
    ]
    report = run("agreements", csv_bytes("agreements", rows), admin_user)
    assert report.ok and (report.new, report.updated) == (1, 1), report.problems
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert (batch.kind, batch.get_kind_display()) == ("agreements", "overeenkomsten")
    assert Agreement.history.filter(history_change_reason=batch.change_reason).count() == 2
    agreement.refresh_from_db()
    assert (agreement.term_end, agreement.term_note) == (datetime.date(2019, 12, 31), "opgezegd per eind 2019")
    derived_matches_a_fresh_derivation()
    assert import_undo(batch=batch, user=admin_user) == {"deleted": 1, "restored": 1}
    agreement.refresh_from_db()
    assert (agreement.term_end, agreement.term_note) == (None, "")
    assert not Agreement.objects.filter(title="Ontvlechtingsafspraken").exists()
    derived_matches_a_fresh_derivation()


def test_an_import_of_agreements_that_events_cite_since_is_not_undone(admin_user, svm):
    row = {"partnership": svm.slug, "kind": "other", "title": "Addendum ontvlechting", "date": "2019"}
    report = run("agreements", csv_bytes("agreements", [row]), admin_user)
    assert report.ok, report.problems
    created = Agreement.objects.get(title="Addendum ontvlechting")
    assert Event.objects.filter(pk=svm.events.first().pk).update(agreement=created) == 1
    with pytest.raises(ValidationError) as refused:
        import_undo(batch=ImportBatch.objects.get(pk=report.batch_id), user=admin_user)
    assert "Naar overeenkomst “Addendum ontvlechting” verwijzen gebeurtenissen" in " ".join(refused.value.messages)
    assert Agreement.objects.filter(pk=created.pk).exists()


# --- The command and the admin ----------------------------------------------------------------


def test_export_data_and_the_admin_export_agreements(admin_client, example, tmp_path):
    from django.core.management import call_command

    target = tmp_path / "agreements.json"
    call_command("export_data", "agreements", "--format", "json", "-o", str(target))
    assert json.loads(target.read_bytes()) == json.loads(export.export_file(kind="agreements", file_format="json"))
    response = admin_client.get(reverse("admin:cooperation_agreement_export", args=["csv"]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="agreements-v1.2-')
    assert len(csv_rows(response.content)) == Agreement.objects.count()
    assert admin_client.get(reverse("admin:cooperation_agreement_import")).status_code == 200


# --- Downloads and calendars: no internal agreement -------------------------------------------


@pytest.fixture
def agreement_of_internal_partnership(db):
    """A public agreement of an internal partnership: not public either."""
    partnership = services.partnership_save(
        partnership=Partnership(slug="intern-verband", name="Intern verband", visibility="internal")
    )
    return services.agreement_save(
        agreement=Agreement(
            partnership=partnership,
            kind=Agreement.Kind.OTHER,
            title="Overeenkomst van een intern verband",
            term_end=datetime.date(2030, 6, 30),
        )
    )


def test_downloads_hold_public_agreements_of_public_partnerships_only(
    client, internal_agreement, agreement_of_internal_partnership, svm
):
    open_data_store(base_url="https://portal.example.org")
    public = sorted(str(uid) for uid in Agreement.objects.public().values_list("uid", flat=True))
    assert len(public) == Agreement.objects.count() - 2
    hidden = agreement_of_internal_partnership
    secrets = [str(internal_agreement.uid), internal_agreement.title, str(hidden.uid), hidden.title]
    for file_format in ("csv", "xlsx", "json"):
        response = client.get(reverse("open-data:download", args=[f"agreements.{file_format}"]))
        assert response.status_code == 200
        if file_format == "csv":
            rows = csv_rows(response.content)
        elif file_format == "json":
            rows = json.loads(response.content)
        else:
            header, *cells = xlsx_rows(response.content)
            rows = [dict(zip(header, values, strict=True)) for values in cells]
        assert sorted(row["uid"] for row in rows) == public, file_format
        for name in ("agreements", "events"):
            body = client.get(reverse("open-data:download", args=[f"{name}.{file_format}"])).content
            text = body.decode("utf-8-sig") if file_format != "xlsx" else str(xlsx_rows(body))
            for secret in secrets:
                assert secret not in text, (name, file_format, secret)
    # The event citing the internal agreement is public; its agreement is left blank.
    signed = next(row for row in register_rows("events") if row[1] == svm.slug and row[2] == "signed")
    assert signed[COLUMNS["events"].index("agreement_uid")] == ""


def test_the_about_page_links_every_download(client, db):
    response = client.get(reverse("cooperation:about"))
    assert response.status_code == 200
    for name in ("agreements.csv", "agreements.xlsx", "agreements.json", "events.csv", "popolo.json"):
        assert reverse("open-data:download", args=[name]) in response.content.decode(), name


def test_an_internal_agreement_ends_only_in_the_calendars_of_staff(client, viewer_client, internal_agreement, svm):
    # Not the seed's agreement: Schiedam terminated that one, and a terminated agreement's term end
    # is in no calendar (it no longer ends it).
    public_agreement = services.agreement_save(
        agreement=Agreement(
            partnership=svm,
            kind=Agreement.Kind.SERVICE_LEVEL_AGREEMENT,
            title="Dienstverleningsovereenkomst",
            date_text="2014",
            term_end=datetime.date(2019, 12, 31),
        )
    )
    for url in (
        reverse("open-data:calendar-partnership", args=[svm.slug]),
        reverse("open-data:calendar-municipality", args=["GM0606"]),
    ):
        anonymous = client.get(url).content.decode()
        staff = viewer_client.get(url).content.decode()
        assert f"agreement-{public_agreement.pk}-end@" in anonymous and f"agreement-{public_agreement.pk}-end@" in staff
        assert f"agreement-{internal_agreement.pk}-end@" not in anonymous, url
        assert "Vertrouwelijke" not in anonymous, url
        assert f"agreement-{internal_agreement.pk}-end@" in staff, url

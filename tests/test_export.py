"""Exports: the import format, stable to the byte, safe to open in a spreadsheet."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from openpyxl import load_workbook

from cooperation.models import (
    Event,
    Membership,
    Municipality,
    Source,
)
from cooperation.porting import export, importer
from cooperation.porting.columns import COLUMNS
from tests.factories import empty_the_register

DATA = Path(__file__).parent / "data"


@pytest.fixture
def register(admin_user, svm, msg):
    """The reference data, the two seed cases and the example partnership with its events."""
    for kind, name in (("partnerships", "partnerships.csv"), ("events", "events.csv")):
        report = importer.run_import(
            kind=kind, data=(DATA / name).read_bytes(), filename=name, user=admin_user, dry_run=False
        )
        assert report.ok, report.problems
    return admin_user


def memberships() -> list[tuple]:
    return sorted(
        Membership.objects.for_audience(False).values_list(
            "partnership__slug", "municipality__cbs_code", "state", "start_text", "end_text"
        )
    )


def xlsx_rows(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.mark.parametrize("file_format", ["csv", "json", "xlsx"])
def test_export_import_into_an_empty_register_export_again_gives_the_same(register, file_format):
    exported = {kind: export.export_file(kind=kind, file_format=file_format) for kind in importer.KINDS}
    members_before = memberships()
    sources_before = sorted(Source.objects.values_list("url", "title", "publisher", "author", "published_on"))
    empty_the_register()
    assert not Municipality.objects.exists()
    for kind in importer.KINDS:
        report = importer.run_import(
            kind=kind, data=exported[kind], filename=f"{kind}.{file_format}", user=register, dry_run=False
        )
        assert report.ok, (kind, report.problems[:5])
        assert report.new == report.total_rows
    again = {kind: export.export_file(kind=kind, file_format=file_format) for kind in importer.KINDS}
    if file_format == "xlsx":  # a workbook carries the moment it was written; its cells are the contract
        assert {kind: xlsx_rows(data) for kind, data in again.items()} == {
            kind: xlsx_rows(data) for kind, data in exported.items()
        }
    else:
        assert again == exported
    assert memberships() == members_before
    assert sorted(Source.objects.values_list("url", "title", "publisher", "author", "published_on")) == sources_before


def test_importing_an_export_again_changes_nothing(register):
    for kind in importer.KINDS:
        report = importer.run_import(
            kind=kind, data=export.export_file(kind=kind), filename="x.csv", user=register, dry_run=False
        )
        assert report.ok and report.unchanged == report.total_rows and report.batch_id is None


def test_csv_opens_in_excel_utf8_with_bom_and_crlf(register):
    data = export.export_file(kind="municipalities")
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.startswith(",".join(COLUMNS["municipalities"]) + "\r\n")
    assert "GM1900,Súdwest-Fryslân,Fryslân,,," in text
    assert "GM0796,'s-Hertogenbosch,Noord-Brabant,,," in text  # an apostrophe that is not a formula stays


def test_several_sources_are_one_per_line_in_each_source_column(register):
    decision = Event.objects.get(partnership__slug="voorbeeld-ict-samenwerking-fryslan", kind="withdrawal_decided")
    data = export.export_file(kind="events", file_format="json", queryset=Event.objects.filter(pk=decision.pk))
    [row] = json.loads(data)
    # In the order of their addresses: the newspaper's article, then the council's decision.
    assert row["source_publisher"] == "Voorbeeldkrant\nGemeente Harlingen"
    assert row["source_author"] == "A. de Vries\n"  # the second source has no author
    assert row["municipalities"] == "GM0072" and row["date"] == "2023-05"


FORMULAS = {
    "title": '=HYPERLINK("https://kwaad.example.org","Klik hier")',
    "description": "+31 10 123 45 67",
    "reason": "-1 stem tegen",
    "cost_note": "@SUM(A1:A9)",
}


@pytest.fixture
def formula_event(register):
    event = Event.objects.get(partnership__slug="voorbeeld-ict-samenwerking-fryslan", kind="signed")
    for name, value in FORMULAS.items():
        setattr(event, name, value)
    event.save()
    return event


def test_formula_cells_are_neutralised_in_csv_and_come_back_unchanged(formula_event, register):
    queryset = Event.objects.filter(pk=formula_event.pk)
    data = export.export_file(kind="events", queryset=queryset)
    [row] = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    for name, value in FORMULAS.items():
        assert row[name] == "'" + value, name
    report = importer.run_import(kind="events", data=data, filename="x.csv", user=register, dry_run=False)
    assert report.ok and report.unchanged == 1  # the apostrophe is taken off again


def test_formula_cells_are_text_in_xlsx(formula_event):
    data = export.export_file(kind="events", file_format="xlsx", queryset=Event.objects.filter(pk=formula_event.pk))
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    for name, value in FORMULAS.items():
        cell = sheet.cell(row=2, column=header.index(name) + 1)
        assert (cell.value, cell.data_type, cell.quotePrefix) == (value, "s", True), name


def test_json_is_not_altered(formula_event):
    data = export.export_file(kind="events", file_format="json", queryset=Event.objects.filter(pk=formula_event.pk))
    assert json.loads(data)[0]["title"] == FORMULAS["title"]


# --- The command and the admin ------------------------------------------------------------


def test_export_data_command_writes_a_file_or_standard_output(register, tmp_path, capsys):
    target = tmp_path / "partnerships.xlsx"
    call_command("export_data", "partnerships", "--format", "xlsx", "-o", str(target))
    assert xlsx_rows(target.read_bytes()) == xlsx_rows(export.export_file(kind="partnerships", file_format="xlsx"))
    capsys.readouterr()
    call_command("export_data", "events", "--format", "json")
    assert json.loads(capsys.readouterr().out) == json.loads(export.export_file(kind="events", file_format="json"))
    with pytest.raises(CommandError, match="binair"):
        call_command("export_data", "events", "--format", "xlsx")


def test_admin_action_exports_the_selected_rows(admin_client, register, svm):
    selected = list(svm.events.values_list("pk", flat=True)[:2])
    response = admin_client.post(
        reverse("admin:cooperation_event_changelist"),
        {"action": "export_selected_csv", "_selected_action": selected},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="events-v1.2-')
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert sorted(row["uid"] for row in rows) == sorted(str(e.uid) for e in Event.objects.filter(pk__in=selected))


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "json"])
def test_admin_exports_the_whole_list(admin_client, register, file_format):
    response = admin_client.get(reverse("admin:cooperation_partnership_export", args=[file_format]))
    assert response.status_code == 200
    assert response["Content-Type"] == export.CONTENT_TYPES[file_format]
    assert response.content == export.export_file(kind="partnerships", file_format=file_format) or (
        file_format == "xlsx"
        and xlsx_rows(response.content) == xlsx_rows(export.export_file(kind="partnerships", file_format="xlsx"))
    )

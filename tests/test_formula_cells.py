"""One exporter for every file the portal writes: each output neutralises formula-like cells.

The admin's export, `export_data` and every /downloads/ register file go through
`porting.export.write_table`; each is checked here on its own, with cells that a spreadsheet
would run: `=HYPERLINK(...)`, `+cmd`, `  -2+3` (after spaces), `@SUM(...)`.
"""

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from cooperation.downloads import open_data_store
from cooperation.models import Agreement, Event, Municipality

HOSTILE = {
    "title": '=HYPERLINK("https://kwaad.example.org","Klik hier")',
    "description": "+cmd|' /C calc'!A0",
    "reason": "  -2+3",
    "cost_note": "@SUM(A1:A9)",
}
PARTNERSHIP_SUMMARY = "=1+1"
MUNICIPALITY_NAME = "@SUM(1+1)"
AGREEMENT_HOSTILE = {
    "title": '=HYPERLINK("https://kwaad.example.org","Overeenkomst")',
    "description": "+cmd|' /C notepad'!A0",
    "term_note": "@SUM(B1:B9)",
}


@pytest.fixture
def hostile(svm, municipality):
    event = svm.events.get(kind="signed")
    for name, value in HOSTILE.items():
        setattr(event, name, value)
    event.cost_internal = False
    event.save()
    svm.summary = PARTNERSHIP_SUMMARY
    svm.save()
    Municipality.objects.filter(cbs_code="GM0606").update(name=MUNICIPALITY_NAME)
    Agreement.objects.filter(partnership=svm).update(**AGREEMENT_HOSTILE)
    return event


def hostile_values(table: str) -> list[str]:
    return {
        "events": list(HOSTILE.values()),
        "partnerships": [PARTNERSHIP_SUMMARY],
        "municipalities": [MUNICIPALITY_NAME],
        "agreements": list(AGREEMENT_HOSTILE.values()),
    }[table]


def assert_neutralised(data: bytes, file_format: str, expected: list[str]) -> None:
    """No cell runs as a formula, and each hostile value is there, as text."""
    if file_format == "csv":
        assert data.startswith(b"\xef\xbb\xbf"), "no BOM"
        text = data.decode("utf-8-sig")
        assert "\n" not in text.split("\r\n", 1)[0], "the header line does not end in CRLF"
        cells = [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]
        for cell in cells:
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")), cell
        for value in expected:
            assert "'" + value in cells, value
    else:
        sheet = load_workbook(io.BytesIO(data)).worksheets[0]
        cells = [cell for row in sheet.iter_rows() for cell in row]
        assert not [cell.value for cell in cells if cell.data_type == "f"]
        for value in expected:
            [cell] = [cell for cell in cells if cell.value == value]
            assert (cell.data_type, cell.quotePrefix) == ("s", True), value


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_admin_export_neutralises_formula_cells(admin_client, hostile, file_format):
    response = admin_client.get(reverse("admin:cooperation_event_export", args=[file_format]))
    assert response.status_code == 200
    assert_neutralised(response.content, file_format, hostile_values("events"))


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_admin_export_action_neutralises_formula_cells(admin_client, hostile, file_format):
    response = admin_client.post(
        reverse("admin:cooperation_event_changelist"),
        {"action": f"export_selected_{file_format}", "_selected_action": [hostile.pk]},
    )
    assert response.status_code == 200
    assert_neutralised(response.content, file_format, hostile_values("events"))


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_data_command_neutralises_formula_cells(hostile, tmp_path, file_format):
    target = tmp_path / f"events.{file_format}"
    call_command("export_data", "events", "--format", file_format, "--output", str(target))
    assert_neutralised(target.read_bytes(), file_format, hostile_values("events"))


@pytest.mark.parametrize("table", ["events", "partnerships", "municipalities", "agreements"])
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_each_download_neutralises_formula_cells(client, hostile, table, file_format):
    open_data_store(base_url="https://portal.example.org")
    response = client.get(reverse("open-data:download", args=[f"{table}.{file_format}"]))
    assert response.status_code == 200
    assert_neutralised(b"".join(response.streaming_content) if response.streaming else response.content,
                       file_format, hostile_values(table))  # fmt: skip


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_admin_export_of_agreements_neutralises_formula_cells(admin_client, hostile, file_format):
    response = admin_client.get(reverse("admin:cooperation_agreement_export", args=[file_format]))
    assert response.status_code == 200
    assert_neutralised(response.content, file_format, hostile_values("agreements"))


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_data_command_neutralises_formula_cells_of_agreements(hostile, tmp_path, file_format):
    target = tmp_path / f"agreements.{file_format}"
    call_command("export_data", "agreements", "--format", file_format, "--output", str(target))
    assert_neutralised(target.read_bytes(), file_format, hostile_values("agreements"))


def test_an_exported_agreements_csv_imports_back_without_the_apostrophes(admin_user, hostile, svm):
    from cooperation.porting.export import export_file
    from cooperation.porting.importer import run_import

    data = export_file(kind="agreements", queryset=Agreement.objects.filter(partnership=svm))
    assert "'" + AGREEMENT_HOSTILE["term_note"] in data.decode("utf-8-sig")
    report = run_import(kind="agreements", data=data, filename="x.csv", user=admin_user, dry_run=False)
    assert report.ok and report.unchanged == 1, report.problems


def test_an_exported_csv_imports_back_without_the_apostrophes(admin_user, hostile):
    from cooperation.porting.export import export_file
    from cooperation.porting.importer import run_import

    data = export_file(kind="events", queryset=Event.objects.filter(pk=hostile.pk))
    report = run_import(kind="events", data=data, filename="x.csv", user=admin_user, dry_run=False)
    assert report.ok, report.problems
    hostile.refresh_from_db()
    assert (hostile.title, hostile.description, hostile.cost_note) == (
        HOSTILE["title"],
        HOSTILE["description"],
        HOSTILE["cost_note"],
    )
    assert hostile.reason == "-2+3"  # an import strips leading spaces from every cell

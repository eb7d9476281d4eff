"""Imports: every file format, every bad file, every rule, all or nothing, permissions, the commands."""

import csv
import io
import json
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.urls import reverse

from cooperation import derived, search
from cooperation.models import (
    EditorProfile,
    Event,
    ImportBatch,
    ImportJob,
    Membership,
    Municipality,
    Notification,
    Partnership,
    Source,
    Subscription,
)
from cooperation.porting import columns, files
from cooperation.porting import export as exporter
from cooperation.porting.columns import COLUMNS
from cooperation.porting.importer import run_import

DATA = Path(__file__).parent / "data"
EXAMPLE = "voorbeeld-ict-samenwerking-fryslan"


def data_file(name: str) -> bytes:
    return (DATA / name).read_bytes()


def csv_bytes(kind: str, rows: list[dict], delimiter: str = ",", encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=COLUMNS[kind], delimiter=delimiter, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in COLUMNS[kind]})
    return out.getvalue().encode(encoding)


def event_row(**values) -> dict:
    return {"partnership": EXAMPLE, "status": "happened", "visibility": "public", **values}


@pytest.fixture
def importer(admin_user):
    """run_import as the administrator, for one kind; a file name in tests/data or bytes."""

    def run(kind: str, source, *, dry_run: bool = False, user=None, filename: str | None = None):
        data = data_file(source) if isinstance(source, str) else source
        name = filename or (source if isinstance(source, str) else f"{kind}.csv")
        return run_import(kind=kind, data=data, filename=name, user=user or admin_user, dry_run=dry_run)

    return run


@pytest.fixture
def example(importer):
    """The example partnership of tests/data/partnerships.csv, without events."""
    report = importer("partnerships", "partnerships.csv")
    assert report.ok, report.problems
    return Partnership.objects.get(slug=EXAMPLE)


def problems(report) -> list[tuple]:
    return [(problem.row, problem.column, problem.message) for problem in report.problems]


def table_counts() -> dict:
    models = [Event, Source, Partnership, Municipality, Membership, ImportBatch]
    counts = {model.__name__: model.objects.count() for model in models}
    counts |= {f"history {model.__name__}": model.history.count() for model in (Event, Source, Partnership)}
    counts["links"] = Event.municipalities.through.objects.count() + Event.sources.through.objects.count()
    return counts


# --- The example files ------------------------------------------------------------------


def test_example_files_import_in_every_format(importer, example):
    for name in ["events.csv", "events.xlsx", "events.json", "events-semicolon.csv"]:
        report = importer("events", name, dry_run=True)
        assert report.ok, (name, report.problems)
        assert (report.total_rows, report.new, report.updated, report.unchanged) == (6, 6, 0, 0), name
        assert [row.action for row in report.rows] == ["new"] * 6
    assert not example.events.exists()  # a dry run writes nothing


def test_example_events_are_on_the_public_pages(importer, example, client):
    report = importer("events", "events.csv")
    assert report.ok, report.problems
    assert ImportBatch.objects.get(pk=report.batch_id).kind == "events"
    example.refresh_from_db()
    assert example.events.count() == 6
    assert example.status == "active"
    members = {
        m.municipality.name: m.state for m in example.memberships.for_audience(False).select_related("municipality")
    }
    assert members == {"Harlingen": "ended", "Súdwest-Fryslân": "active", "Waadhoeke": "active", "Leeuwarden": "active"}
    joined = example.events.get(kind="joined")
    assert joined.date_text == "2020-09-01"  # entered as 01-09-2020
    decision = example.events.get(kind="withdrawal_decided")
    assert sorted(decision.sources.values_list("publisher", flat=True)) == ["Gemeente Harlingen", "Voorbeeldkrant"]
    assert Source.objects.filter(url="https://voorbeeld.example.org/nieuws/2020/leeuwarden-sluit-aan").count() == 1
    page = client.get(reverse("cooperation:partnership-detail", args=[EXAMPLE])).content.decode()
    assert "Leeuwarden sluit aan" in page
    assert "Ontvlechting Harlingen" not in page  # marked internal in the file


def test_municipalities_example_changes_nothing_and_survives_windows_1252(importer):
    for name in ["municipalities.csv", "municipalities-windows-1252.csv"]:
        report = importer("municipalities", name, dry_run=True)
        assert report.ok, report.problems
        assert (report.total_rows, report.unchanged) == (7, 7), name


def test_partnerships_example_adds_one_and_leaves_the_seeds(importer, svm):
    report = importer("partnerships", "partnerships.csv")
    assert (report.new, report.unchanged, report.updated) == (1, 2, 0)
    example = Partnership.objects.get(slug=EXAMPLE)
    assert sorted(example.pillars.values_list("code", flat=True)) == ["joint_procurement", "knowledge_sharing"]
    assert search.matches(example.search_text, search.terms("Friese gemeenten"))


# --- Bad files: a clear message, never an exception ----------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("bad/empty.csv", "Het bestand is leeg."),
        ("bad/header_only.csv", "kolomnamen maar geen rijen"),
        ("bad/missing_columns.csv", "Ontbrekende kolommen: status, visibility"),
        ("bad/wrong_columns.csv", "Onbekende kolommen: slug, name"),
        ("bad/not_a_spreadsheet.pdf", "geen CSV-, XLSX- of JSON-bestand"),
        ("bad/old_excel.xls", "oud Excel-bestand (.xls)"),
        ("bad/broken.xlsx", "niet te lezen als Excel-werkmap"),
        ("bad/broken.json", "Deze JSON is niet te lezen"),
    ],
)
def test_bad_file_gets_a_clear_message(importer, example, name, expected):
    before = table_counts()
    report = importer("events", name)
    assert not report.ok
    assert all(problem.row is None for problem in report.problems)
    assert expected in " ".join(problem.message for problem in report.problems), report.problems
    assert table_counts() == before


def test_file_over_the_size_limit_is_refused(importer, example):
    with override_settings(IMPORT_MAX_UPLOAD_BYTES=1000):
        report = importer("events", "events.csv")
    # Sizes are written with a no-break space: "1,9 KB".
    assert [(p.row, p.message.replace("\xa0", " ")) for p in report.problems] == [
        (
            None,
            "Het bestand is 1,9 KB groot; bestanden tot 1000 bytes kunnen worden geïmporteerd. "
            "Splits het in kleinere bestanden.",
        )
    ]


def test_row_with_more_cells_than_columns_is_named(importer, example):
    data = csv_bytes("events", [event_row(kind="signed", date="2019", municipalities="GM0072")])
    data += b"," * 30 + b"x\r\n"
    report = importer("events", data)
    assert "Rij 3 heeft 31 cellen" in report.problems[0].message


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("delimiter", [",", ";"])
def test_encodings_and_separators_as_excel_writes_them(importer, example, encoding, delimiter):
    data = csv_bytes(
        "events",
        [event_row(kind="signed", date="14-03-2019", municipalities="GM1900;GM0072", title="Súdwest-Fryslân tekent")],
        delimiter=delimiter,
        encoding=encoding,
    )
    report = importer("events", data)
    assert report.ok, report.problems
    assert example.events.get().title == "Súdwest-Fryslân tekent"


def test_read_dataset_recognises_the_format_by_its_content():
    for name in ["events.csv", "events.xlsx", "events.json", "events-semicolon.csv"]:
        dataset = files.read_dataset(data=data_file(name), filename="upload.bin")
        # The example files are of format version 1: without the optional source_kind and agreement_uid.
        assert dataset.headers == [c for c in COLUMNS["events"] if c not in ("source_kind", "agreement_uid")], name
        assert len(dataset) == 6
        assert dataset[1][dataset.headers.index("municipalities")] == "GM0080"
    with pytest.raises(files.ImportFileError):
        files.read_dataset(data=data_file("bad/old_excel.xls"), filename="events.csv")


# --- Rules, named by row and column ------------------------------------------------------


def test_every_rule_violation_names_its_row_and_column(importer, example):
    before = table_counts()
    report = importer("events", "bad/events-rule-violations.csv")
    found = {(row, column): message for row, column, message in problems(report)}
    assert set(found) == {(3, "municipalities"), (4, "date"), (5, "municipalities"), (6, "date")}
    assert "Onbekende CBS-code “GM9999”" in found[3, "municipalities"]
    assert "“31 september 2020” kunnen wij niet als datum lezen. Die dag bestaat niet." in found[4, "date"]
    assert "'s-Hertogenbosch is op mei 2021 geen lid van Voorbeeld" in found[5, "municipalities"]
    assert "Bolsward bestond tot en met 31 december 2010 (opgegaan in Súdwest-Fryslân)" in found[6, "date"]
    assert table_counts() == before


def test_unknown_code_suggests_the_closest_municipalities(importer, example):
    report = importer("events", csv_bytes("events", [event_row(kind="signed", municipalities="Sudwest-Fryslan")]))
    [(row, column, message)] = problems(report)
    assert (row, column) == (2, "municipalities")
    assert message.startswith(
        "Onbekende CBS-code “Sudwest-Fryslan”. Gemeenten die er het meest op lijken: Súdwest-Fryslân (GM1900), "
    )


@pytest.mark.parametrize(
    "values, column, fragment",
    [
        (
            {"kind": "tekenen"},
            "kind",
            "Onbekende waarde “tekenen”; gebruik een code of de omschrijving: cooperation_started (samenwerking",
        ),
        ({"kind": ""}, "kind", "Leeg; vul een van deze codes in"),
        ({"partnership": "voorbeeld-ict"}, "partnership", "Onbekend samenwerkingsverband “voorbeeld-ict”"),
        ({"partnership": ""}, "partnership", "Leeg; vul de slug van het samenwerkingsverband in."),
        ({"pillar": "procurement"}, "pillar", "Onbekende waarde “procurement”"),
        (
            {"status": "misschien"},
            "status",
            "Onbekende waarde “misschien”; gebruik een code of de omschrijving: happened (gebeurd)",
        ),
        ({"cost_eur": "veel"}, "cost_eur", "“veel” is geen bedrag in euro’s"),
        ({"uid": "abc"}, "uid", "“abc” is geen uid van een gebeurtenis"),
        ({"source_url": "www.example.org/x", "source_title": "X"}, "source_url", "is geen webadres"),
        ({"source_url": "https://example.org/x"}, "source_title", "Elke bron heeft een titel nodig."),
        ({"source_title": "X", "source_date": "31-02-2020"}, "source_date", "“31-02-2020” is geen dag"),
        ({"title": "x" * 201}, "title", "niet meer dan 200 tekens"),
    ],
)
def test_a_bad_value_is_named_by_row_and_column(importer, example, values, column, fragment):
    row = event_row(kind="signed", date="2019", municipalities="GM0072") | values
    report = importer("events", csv_bytes("events", [row]))
    assert [(p.row, p.column) for p in report.problems] == [(2, column)], report.problems
    assert fragment in report.problems[0].message


def test_a_key_twice_in_one_file_is_a_problem(importer, example):
    uid = str(uuid.uuid4())
    rows = [event_row(uid=uid, kind="signed", date="2019", municipalities="GM0072")] * 2
    report = importer("events", csv_bytes("events", rows))
    assert problems(report) == [
        (3, "uid", f"“{uid}” komt meer dan eens voor in dit bestand (voor het eerst in rij 2).")
    ]


def test_a_disentanglement_without_exit_points_at_the_kind(importer, example):
    rows = [
        event_row(kind="signed", date="2019", municipalities="GM0072;GM1900"),
        event_row(kind="disentangled", date="2020", municipalities="GM0072"),
    ]
    report = importer("events", csv_bytes("events", rows))
    assert [(p.row, p.column) for p in report.problems] == [(3, "kind")]
    assert "moet volgen op een uittreding of een opzegging" in report.problems[0].message


def test_rules_see_stored_and_imported_events_together(importer, svm, municipality):
    # Schiedam signed in 2013 (stored); a withdrawal in the file is fine, by Leiden it is not.
    rows = [
        {**event_row(kind="evaluated", date="2014", municipalities="GM0606"), "partnership": svm.slug},
        {**event_row(kind="withdrawal_decided", date="2015", municipalities="GM0546"), "partnership": svm.slug},
    ]
    report = importer("events", csv_bytes("events", rows))
    assert [(p.row, p.column) for p in report.problems] == [(3, "municipalities")]
    assert "Leiden is op 2015 geen lid van" in report.problems[0].message


def test_an_update_that_invalidates_a_stored_event_is_refused(importer, svm):
    # Move the signing of Schiedam, Vlaardingen and Maassluis to after Maassluis' withdrawal decision.
    signed = svm.events.get(kind="signed")
    export = exporter.export_file(kind="events", queryset=Event.objects.filter(pk=signed.pk)).decode("utf-8-sig")
    changed = export.replace(signed.date_text, "2018", 1).encode("utf-8")
    report = importer("events", changed)
    assert not report.ok
    assert all(problem.row is None for problem in report.problems)
    assert "die door dit bestand ongeldig zou worden" in report.problems[0].message
    signed.refresh_from_db()
    assert signed.date_text == "2013-04-16"


# --- All or nothing ------------------------------------------------------------------------


def test_one_bad_row_and_nothing_is_written(importer, example):
    rows = [
        event_row(kind="signed", date=str(2015 + n), municipalities="GM0072;GM1900", title=f"Rij {n}") for n in range(5)
    ]
    rows.append(event_row(kind="joined", date="2020", municipalities="GM0000"))
    before = table_counts()
    report = importer("events", csv_bytes("events", rows))
    assert [(p.row, p.column) for p in report.problems] == [(7, "municipalities")]
    assert (report.total_rows, report.new) == (6, 5)
    assert report.batch_id is None
    assert table_counts() == before


def test_a_bad_row_after_batches_were_written_undoes_them(importer, example):
    """Large files are written batch by batch inside the import's transaction; a late problem rolls all back."""
    rows = [event_row(kind="signed", date="2019", municipalities="GM0072", title=f"Rij {n}") for n in range(2500)]
    rows.append(event_row(kind="withdrawn", date="2020", municipalities="GM0080"))
    before = table_counts()
    report = importer("events", csv_bytes("events", rows))
    assert [(p.row, p.column) for p in report.problems] == [(2502, "municipalities")]
    assert table_counts() == before


def test_a_large_file_is_written_in_batches_with_its_history(importer, example):
    rows = [
        event_row(kind="signed", date="2019", municipalities="GM0072;GM1949", title=f"Rij {n}") for n in range(2500)
    ]
    calls = []
    report = run_import(
        kind="events",
        data=csv_bytes("events", rows),
        filename="groot.csv",
        user=get_user_model().objects.get(username="beheerder"),
        dry_run=False,
        progress=lambda done, total: calls.append((done, total)),
        duplicates="import",  # the rows differ only in their titles: duplicates, imported all the same
    )
    assert report.ok and report.new == 2500
    assert calls[0] == (1000, 2500) and calls[-1] == (2500, 2500)
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert (batch.total_rows, batch.new, batch.user.username) == (2500, 2500, "beheerder")
    records = Event.history.filter(history_change_reason=batch.change_reason)
    assert records.count() == 2500 and set(records.values_list("history_type", flat=True)) == {"+"}
    record = records.first()
    assert sorted(record.municipalities.values_list("municipality__cbs_code", flat=True)) == ["GM0072", "GM1949"]
    assert example.memberships.for_audience(False).count() == 2


def test_dry_run_reports_and_writes_nothing(importer, example):
    before = table_counts()
    report = importer("events", "events.csv", dry_run=True)
    assert report.ok and report.dry_run and report.new == 6 and report.batch_id is None
    assert table_counts() == before


# --- Updates by uid -----------------------------------------------------------------------


def test_update_by_uid_changes_the_event_and_records_it(importer, svm):
    event = svm.events.get(kind="withdrawal_decided")
    version = event.version
    export = exporter.export_file(kind="events", queryset=svm.events.all()).decode("utf-8-sig")
    assert importer("events", export.encode()).unchanged == svm.events.count()  # unchanged: nothing recorded
    assert not Event.history.filter(history_change_reason__startswith="import:").exists()

    rows = list(csv.DictReader(io.StringIO(export)))
    for row in rows:
        if row["uid"] == str(event.uid):
            row["reason"] = "Maassluis kiest voor zelfstandigheid."
            row["cost_eur"] = "1.250.000,00"
    report = importer("events", csv_bytes("events", rows))
    assert report.ok, report.problems
    assert (report.updated, report.unchanged) == (1, len(rows) - 1)
    assert [row.changes for row in report.rows if row.action == "update"] == [("reason", "cost_eur")]
    event.refresh_from_db()
    assert event.reason == "Maassluis kiest voor zelfstandigheid." and str(event.cost_eur) == "1250000.00"
    assert event.version == version + 1
    record = event.history.first()
    assert record.history_change_reason == f"import:{report.batch_id}" and record.history_type == "~"


def test_a_new_uid_from_another_portal_is_kept(importer, example):
    uid = uuid.uuid4()
    report = importer("events", csv_bytes("events", [event_row(uid=str(uid), kind="signed", municipalities="GM0072")]))
    assert report.new == 1
    assert Event.objects.get(uid=uid).partnership == example


# --- Who may import -------------------------------------------------------------------------


def make_user(username: str, role: str | None, *codes: str):
    user = get_user_model().objects.create_user(username, password="Test-wachtwoord-123", is_staff=role is not None)
    if role:
        user.groups.add(Group.objects.get(name=role))
    if codes:
        EditorProfile.objects.create(user=user).municipalities.set(Municipality.objects.filter(cbs_code__in=codes))
    return user


def test_an_editor_imports_only_into_partnerships_of_their_municipalities(importer, svm, msg):
    editor = make_user("redacteur_schiedam", "editor", "GM0606")
    rows = [
        {**event_row(kind="evaluated", date="2014", municipalities="GM0606"), "partnership": svm.slug},
        {**event_row(kind="evaluated", date="2011", municipalities="GM0935"), "partnership": msg.slug},
    ]
    report = importer("events", csv_bytes("events", rows), user=editor)
    assert [(p.row, p.column) for p in report.problems] == [(3, "partnership")]
    assert "U mag ICT-samenwerking Maastricht en Sittard-Geleen niet wijzigen" in report.problems[0].message
    # An unchanged row of another partnership touches nothing, so a full export re-imports.
    export = exporter.export_file(kind="events").decode("utf-8-sig")
    assert importer("events", export.encode(), user=editor).ok


def test_an_editor_may_not_move_an_event_of_another_partnership_into_their_own(importer, svm, msg):
    editor = make_user("redacteur_schiedam", "editor", "GM0606")
    event = msg.events.get(kind="signed")
    [row] = csv.DictReader(
        io.StringIO(exporter.export_file(kind="events", queryset=Event.objects.filter(pk=event.pk)).decode("utf-8-sig"))
    )
    moved = {**row, "partnership": svm.slug, "agreement_uid": ""}
    report = importer("events", csv_bytes("events", [moved]), user=editor)
    assert [(p.row, p.column) for p in report.problems][:1] == [(2, "partnership")]
    assert "U mag ICT-samenwerking Maastricht en Sittard-Geleen niet wijzigen" in report.problems[0].message
    event.refresh_from_db()
    assert event.partnership == msg


def test_an_event_moved_to_another_partnership_rebuilds_both(importer, svm, msg, derived_matches_a_fresh_derivation):
    event = msg.events.get(kind="signed")
    [row] = csv.DictReader(
        io.StringIO(exporter.export_file(kind="events", queryset=Event.objects.filter(pk=event.pk)).decode("utf-8-sig"))
    )
    report = importer("events", csv_bytes("events", [{**row, "partnership": svm.slug, "agreement_uid": ""}]))
    assert report.ok and report.updated == 1, report.problems
    derived_matches_a_fresh_derivation()


def test_municipalities_and_new_partnerships_are_for_administrators(importer):
    editor = make_user("redacteur", "editor", "GM0606")
    assert problems(importer("municipalities", "municipalities.csv", user=editor)) == [
        (None, "", "Alleen beheerders mogen gemeenten importeren.")
    ]
    report = importer("partnerships", "partnerships.csv", user=editor)
    assert {(p.row, p.column) for p in report.problems} == {(4, "slug")}  # unchanged rows touch nothing
    viewer = make_user("kijker", "viewer")
    assert "U mag geen gegevens importeren" in importer("events", "events.csv", user=viewer).problems[0].message


# --- Municipalities and partnerships --------------------------------------------------------


def test_a_municipality_merger_can_refer_to_a_later_row(importer):
    rows = [
        {
            "cbs_code": "GM0072",
            "name": "Harlingen",
            "province": "Fryslân",
            "existed_until": "31-12-2029",
            "merged_into": "GM9901",
        },
        {"cbs_code": "GM9901", "name": "Waddengemeente", "province": "fryslân", "existed_from": "2030-01-01"},
    ]
    report = importer("municipalities", csv_bytes("municipalities", rows))
    assert report.ok, report.problems
    assert (report.new, report.updated) == (1, 1)
    harlingen = Municipality.objects.get(cbs_code="GM0072")
    assert harlingen.merged_into.name == "Waddengemeente" and harlingen.merged_into.province == "Fryslân"
    assert harlingen.history.first().history_change_reason == f"import:{report.batch_id}"


def test_a_circle_of_mergers_is_refused(importer):
    rows = [
        {"cbs_code": "GM0072", "name": "Harlingen", "merged_into": "GM0080"},
        {"cbs_code": "GM0080", "name": "Leeuwarden", "merged_into": "GM0072"},
    ]
    report = importer("municipalities", csv_bytes("municipalities", rows))
    assert [(p.row, p.column) for p in report.problems] == [(2, "merged_into"), (3, "merged_into")]
    assert "kringloop: GM0072 → GM0080 → GM0072" in report.problems[0].message


def test_a_bad_cbs_code_uses_the_models_own_check(importer):
    report = importer("municipalities", csv_bytes("municipalities", [{"cbs_code": "0072", "name": "Harlingen"}]))
    assert [(p.row, p.column) for p in report.problems] == [(2, "cbs_code")]


# --- The commands ---------------------------------------------------------------------------


def test_import_data_command_imports_and_says_so(example, capsys):
    call_command("import_data", "events", str(DATA / "events.csv"))
    assert example.events.count() == 6
    assert "6 rijen: 6 nieuw, 0 bijgewerkt, 0 ongewijzigd." in capsys.readouterr().out


def test_import_data_dry_run_writes_nothing(example, capsys):
    call_command("import_data", "events", str(DATA / "events.xlsx"), "--dry-run")
    assert not example.events.exists()
    assert "Proefimport, er is niets opgeslagen." in capsys.readouterr().out


def test_import_data_prints_every_problem_and_fails(example, capsys):
    before = table_counts()
    with pytest.raises(CommandError, match="4 problemen; er is niets geïmporteerd"):
        call_command("import_data", "events", str(DATA / "bad" / "events-rule-violations.csv"))
    err = capsys.readouterr().err
    assert "Rij 3, kolom municipalities: Onbekende CBS-code “GM9999”" in err
    assert "Rij 6, kolom date: Bolsward bestond" in err
    assert table_counts() == before


def test_import_data_records_the_named_user(example, admin_user):
    call_command("import_data", "events", str(DATA / "events.json"), "--user", admin_user.username)
    assert ImportBatch.objects.get(kind="events").user == admin_user
    with pytest.raises(CommandError, match="Er is geen gebruiker “niemand”"):
        call_command("import_data", "events", str(DATA / "events.json"), "--user", "niemand")


def test_import_data_exits_non_zero_from_the_shell(example):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "manage.py", "import_data", "events", str(DATA / "bad" / "empty.csv"), "--dry-run"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode == 1
    assert "Het bestand is leeg." in done.stderr


# --- The admin ------------------------------------------------------------------------------


def test_admin_import_previews_then_confirms(admin_client, example):
    url = reverse("admin:cooperation_event_import")
    with (DATA / "events.csv").open("rb") as upload:
        response = admin_client.post(url, {"file": upload})
    assert response.status_code == 200
    content = response.content.decode()
    assert "6 rijen: 6 nieuw, 0 bij te werken, 0 ongewijzigd." in content
    assert not example.events.exists()
    job = response.context["job_id"]
    assert ImportJob.objects.get(pk=job).status == ImportJob.Status.PREVIEWED  # the upload is a row, not a file
    batches = ImportBatch.objects.count()
    response = admin_client.post(url, {"job": job, "confirm": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:cooperation_event_changelist")
    assert example.events.count() == 6
    # the admin capitalises a message's first letter: the file's name must not come first
    assert "Geïmporteerd uit events.csv: 6 nieuw" in response.content.decode()
    # Confirming twice does not import twice: the second confirm shows the first one's result.
    response = admin_client.post(url, {"job": job, "confirm": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("cooperation:import-job", args=[job])
    assert "De import is voltooid." in response.content.decode()
    assert example.events.count() == 6
    assert ImportBatch.objects.count() == batches + 1


@pytest.mark.parametrize("name", ["bad/broken.xlsx", "bad/events-rule-violations.csv", "bad/not_a_spreadsheet.pdf"])
def test_admin_import_of_a_bad_file_shows_the_problems(admin_client, example, name):
    with (DATA / name).open("rb") as upload:
        response = admin_client.post(reverse("admin:cooperation_event_import"), {"file": upload})
    assert response.status_code == 200
    assert response.context["report"].problems
    assert response.context["job_id"] is None
    assert 'name="confirm"' not in response.content.decode()


def test_admin_import_refuses_a_file_over_the_limit_before_reading_it(admin_client, example):
    with override_settings(IMPORT_MAX_UPLOAD_BYTES=100), (DATA / "events.csv").open("rb") as upload:
        response = admin_client.post(reverse("admin:cooperation_event_import"), {"file": upload})
    assert response.status_code == 200
    [message] = response.context["form"].errors["file"]
    assert message.replace("\xa0", " ").endswith(
        "bestanden tot 100 bytes kunnen worden geïmporteerd. Splits het in kleinere bestanden."
    )
    assert message in response.content.decode()


def test_admin_changelist_offers_import_and_export(admin_client):
    content = admin_client.get(reverse("admin:cooperation_event_changelist")).content.decode()
    assert reverse("admin:cooperation_event_import") in content
    assert reverse("admin:cooperation_event_export", args=["xlsx"]) in content


# --- Building blocks ----------------------------------------------------------------------


def test_fast_new_instance_equals_the_models_own(db):
    fast, slow = columns.new_instance(Event), Event()
    assert {k: v for k, v in fast.__dict__.items() if k not in ("_state", "uid")} == {
        k: v for k, v in slow.__dict__.items() if k not in ("_state", "uid")
    }
    assert fast.uid != slow.uid and fast._state.adding


def test_rebuilding_many_together_equals_one_by_one(svm, msg):
    fields = ("audience", "municipality_id", "role", "state", "start_text", "end_text")
    derived_fields = ("status", "first_date", "last_date", "search_text", "staff_status", "staff_search_text")

    def state(partnership):
        rows = list(Membership.objects.filter(partnership=partnership).order_by(*fields).values_list(*fields))
        return rows, Partnership.objects.filter(pk=partnership.pk).values_list(*derived_fields).get()

    expected = []
    for partnership in (svm, msg):
        derived.rebuild([partnership.pk])
        expected.append(state(partnership))
    Membership.objects.all().delete()
    Partnership.objects.update(status="planned", search_text="", staff_status="planned", staff_search_text="")
    derived.rebuild([svm.pk, msg.pk])
    assert [state(svm), state(msg)] == expected


def test_report_is_plain_data_for_background_jobs(importer, example):
    report = importer("events", "bad/events-rule-violations.csv", dry_run=True)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False and data["problems"][0]["row"] == 3


def test_event_list_filters_and_searches_on_what_people_scan(admin_client, svm, municipality):
    maassluis = municipality("Maassluis")
    url = reverse("admin:cooperation_event_changelist")
    response = admin_client.get(url, {"municipalities__id__exact": maassluis.pk})
    expected = set(maassluis.events.values_list("pk", flat=True))
    assert {event.pk for event in response.context["cl"].result_list} == expected
    for query in ["GM0556", svm.slug, "withdrawal_decided", "2016-23"]:
        found = {event.pk for event in admin_client.get(url, {"q": query}).context["cl"].result_list}
        assert found & expected, query
    content = admin_client.get(url).content.decode()
    assert "najaar 2016" in content  # the date in words


def test_imported_events_reach_their_followers_as_entered_ones_do(importer, example, municipality):
    User = get_user_model()
    follower = User.objects.create_user("volger", "volger@example.org", "correct-horse-battery-9")
    bystander = User.objects.create_user("ander", "ander@example.org", "correct-horse-battery-9")
    Subscription.objects.create(user=follower, partnership=example)
    Subscription.objects.create(user=bystander, municipality=municipality("Amsterdam"))

    assert importer("events", "events.csv", dry_run=True).ok
    assert not Notification.objects.exists()  # a preview publishes nothing

    assert importer("events", "events.csv").ok
    imported = list(Event.objects.filter(partnership=example))
    assert len(imported) > 1
    # One import is one burst: the follower gets one summary of all its events, not one e-mail each.
    (notified,) = Notification.objects.filter(recipient=follower)
    assert notified.kind == Notification.Kind.BURST
    assert notified.body_text.count(f"/partnerships/{example.slug}/#event-") == len(imported)
    assert not Notification.objects.filter(recipient=bystander).exists()


def test_an_import_that_makes_an_event_public_notifies_new_followers_once(importer, example):
    uid = uuid.uuid4()
    row = event_row(uid=str(uid), kind="signed", date="2019", municipalities="GM0072", visibility="internal")
    assert importer("events", csv_bytes("events", [row])).ok
    follower = get_user_model().objects.create_user("volger", "volger@example.org", "correct-horse-battery-9")
    Subscription.objects.create(user=follower, partnership=example)

    assert importer("events", csv_bytes("events", [{**row, "title": "Andere titel"}])).ok  # still internal
    assert not Notification.objects.exists()
    public = {**row, "title": "Andere titel", "visibility": "public"}
    assert importer("events", csv_bytes("events", [public])).ok
    assert importer("events", csv_bytes("events", [{**public, "title": "Derde titel"}])).ok
    (notification,) = Notification.objects.all()
    assert notification.recipient == follower and notification.event.uid == uid


def test_dates_in_words_import_as_edtf(importer, example):
    """The date column reads what people write (dates.read_date), in Dutch and English; a source date too."""
    rows = [
        event_row(
            kind="signed",
            date="27 oktober 2010",
            municipalities="GM0072",
            source_url="https://example.org/besluit",
            source_title="Besluit",
            source_date="27 oktober 2010",
        ),
        event_row(kind="evaluated", date="Najaar 2016", municipalities="GM0072"),
        event_row(kind="amended", date="tussen najaar 2016 en 2017", municipalities="GM0072"),
        event_row(kind="tender_launched", date="late 2018", municipalities="GM0072", status="planned"),
    ]
    report = importer("events", csv_bytes("events", rows, delimiter=";"))
    assert report.ok, report.problems
    stored = dict(example.events.values_list("kind", "date_text"))
    assert stored == {
        "signed": "2010-10-27",
        "evaluated": "2016-23",
        "amended": "2016-23/2017",
        "tender_launched": "2018-36",
    }
    assert Source.objects.get(url="https://example.org/besluit").published_on.isoformat() == "2010-10-27"


def test_a_date_in_words_that_cannot_be_read_gets_one_message(importer, example):
    report = importer("events", csv_bytes("events", [event_row(kind="signed", date="najaar", municipalities="GM0072")]))
    assert [(p.row, p.column) for p in report.problems] == [(2, "date")]
    assert report.problems[0].message.startswith("“najaar” kunnen wij niet als datum lezen. Schrijf bijvoorbeeld")

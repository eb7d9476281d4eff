"""Format version 1.1: the events carry each source's kind; files of version 1 still import."""

import csv
import io
from pathlib import Path

import pytest

from cooperation.models import Event, Source
from cooperation.porting.export import export_file
from cooperation.porting.importer import run_import

DATA = Path(__file__).parent / "data"


@pytest.fixture
def example(admin_user, svm, msg):
    report = run_import(
        kind="partnerships", data=(DATA / "partnerships.csv").read_bytes(), filename="p.csv", user=admin_user,
        dry_run=False,
    )  # fmt: skip
    assert report.ok, report.problems
    report = run_import(
        kind="events", data=(DATA / "events.csv").read_bytes(), filename="e.csv", user=admin_user, dry_run=False
    )
    assert report.ok, report.problems  # a file of version 1, without source_kind
    return Event.objects.filter(partnership__slug="voorbeeld-ict-samenwerking-fryslan")


def rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_source_kind_is_exported_and_comes_back_into_an_empty_register(admin_user, example):
    event = example.filter(sources__isnull=False).first()
    source = event.sources.first()
    Source.objects.filter(pk=source.pk).update(kind=Source.Kind.COUNCIL_DECISION)
    data = export_file(kind="events", queryset=Event.objects.filter(pk=event.pk))
    [row] = rows(data)
    assert row["source_kind"].splitlines()[row["source_url"].splitlines().index(source.url)] == "council_decision"
    # The file is changed back on the way in: the kind comes from the file, not from what is stored.
    Source.objects.filter(pk=source.pk).update(kind=Source.Kind.OTHER)
    report = run_import(kind="events", data=data, filename="e.csv", user=admin_user, dry_run=False)
    assert report.ok and report.updated == 1, report.problems
    source.refresh_from_db()
    assert source.kind == Source.Kind.COUNCIL_DECISION


def test_a_version_1_file_without_source_kind_keeps_the_stored_kinds(admin_user, example):
    event = example.filter(sources__isnull=False).first()
    source = event.sources.first()
    Source.objects.filter(pk=source.pk).update(kind=Source.Kind.PRESS_RELEASE)
    data = export_file(kind="events", queryset=Event.objects.filter(pk=event.pk))
    [row] = rows(data)
    del row["source_kind"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\r\n")
    writer.writeheader()
    writer.writerow(row)
    report = run_import(kind="events", data=out.getvalue().encode(), filename="v1.csv", user=admin_user, dry_run=False)
    assert report.ok and report.unchanged == 1, report.problems
    source.refresh_from_db()
    assert source.kind == Source.Kind.PRESS_RELEASE


def test_an_unknown_source_kind_is_refused_in_dutch(admin_user, example):
    event = example.filter(sources__isnull=False).first()
    [row] = rows(export_file(kind="events", queryset=Event.objects.filter(pk=event.pk)))
    row["source_kind"] = "\n".join("krantje" for _ in row["source_kind"].splitlines())
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\r\n")
    writer.writeheader()
    writer.writerow(row)
    report = run_import(kind="events", data=out.getvalue().encode(), filename="x.csv", user=admin_user, dry_run=True)
    assert [problem.column for problem in report.problems][:1] == ["source_kind"]
    assert "Onbekende waarde “krantje”; gebruik een code of de omschrijving: press_release (persbericht)" in (
        report.problems[0].message
    )

"""Standard exports: Popolo JSON and the register in the import formats, built by a Celery task,
stored, and served from the store."""

import csv
import datetime
import io
import json

import openpyxl
import pytest
from django.core.cache import cache
from django.utils import timezone

from cooperation import dates, services
from cooperation.downloads import COLUMNS, FILES, open_data_store, refresh_lock, register_rows
from cooperation.fragments import register_stamp
from cooperation.models import Event, OpenDataFile, Partnership
from cooperation.popolo import popolo_date, popolo_export
from cooperation.porting.columns import LIST_SEPARATOR
from portal.celery import app

SVM = "schiedam-vlaardingen-maassluis-ict"
BASE = "https://portaal.example.org"


def svm_memberships(document) -> dict[str, dict]:
    return {m["member"]["id"]: m for m in document["memberships"] if m["organization_id"] == f"partnership/{SVM}"}


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2013-04-16", "2013-04-16", "2013-04-16"),
        ("2009-10", "2009-10", "2009-10"),
        ("2010-12~", "2010-12", "2010-12"),
        ("2016-23", "2016", "2016"),
        ("2017", "2017", "2017"),
        ("2016-23/2017", "2016", "2017"),
        ("2016-09/", "2016-09-01", "2016-09-01"),
        ("", None, None),
    ],
)
def test_vague_dates_are_reduced_to_what_popolo_allows(text, start, end):
    fuzzy = dates.parse_date(text)
    assert popolo_date(fuzzy, "start") == start
    assert popolo_date(fuzzy, "end") == end


@pytest.mark.django_db
def test_popolo_export_of_the_seed_cases_has_maassluis_leaving():
    document = popolo_export(BASE)
    assert document["meta"]["schema_version"] == "1.0"
    memberships = svm_memberships(document)
    assert set(memberships) == {"municipality/GM0606", "municipality/GM0622", "municipality/GM0556"}
    maassluis = memberships["municipality/GM0556"]
    assert maassluis["start_date"] == "2013-04-16"
    # Withdrawal decided in autumn 2016, disentangled in 2017: ended by 2017 at the latest.
    assert maassluis["end_date"] == "2017"
    assert maassluis["end_date_edtf"] == "2016-23/2017"
    assert maassluis["end_reason"] == "withdrawn"
    assert maassluis["state"] == "ended"
    assert maassluis["source_notes"][0].startswith("Schiedam ziet af van ICT-samenwerking met Vlaardingen")
    # Schiedam and Vlaardingen had not left when the partnership's termination was decided.
    assert "end_date" not in memberships["municipality/GM0606"]
    organizations = {o["id"]: o for o in document["organizations"]}
    svm = organizations[f"partnership/{SVM}"]
    assert svm["founding_date"] == "2013-04-16"
    # "ending" rests on the article of 8 May 2019, older than the horizon: unknown today.
    assert (svm["status"], svm["last_evidence"]) == ("unknown", "2019-05-08")
    assert memberships["municipality/GM0622"]["state_as_of"] == "2019-05-08"
    assert maassluis["state_as_of"] is None  # having left is a fact of the past
    assert svm["links"][0]["url"] == f"{BASE}/partnerships/{SVM}/"
    maassluis_org = organizations["municipality/GM0556"]
    assert {"scheme": "cbs", "identifier": "GM0556"} in maassluis_org["identifiers"]
    # Every membership refers to organizations that are in the document.
    for membership in document["memberships"]:
        assert membership["organization_id"] in organizations
        assert membership["member"]["id"] in organizations


@pytest.mark.django_db
def test_popolo_export_leaves_out_internal_data(svm, municipality):
    hidden = Partnership.objects.create(name="Intern verband", slug="intern-verband", visibility="internal")
    services.event_record(
        partnership=hidden,
        kind="signed",
        date_text="2020",
        municipalities=[municipality("Delft")],
        visibility="internal",
    )
    services.event_record(
        partnership=svm,
        kind="joined",
        date_text="2014",
        municipalities=[municipality("Delft")],
        visibility="internal",
    )
    document = popolo_export(BASE)
    ids = {o["id"] for o in document["organizations"]}
    assert "partnership/intern-verband" not in ids
    assert "municipality/GM0503" not in ids  # Delft appears only in internal events
    assert "municipality/GM0503" not in svm_memberships(document)


@pytest.mark.django_db
def test_register_tables_have_the_import_columns_and_the_public_rows(svm):
    Event.objects.filter(partnership=svm, kind="signed").update(cost_eur=1000, cost_internal=True, cost_note="geheim")
    assert COLUMNS["events"] == [
        "uid", "partnership", "kind", "date", "status", "municipalities", "title", "description", "pillar",
        "decided_by", "reason", "cost_eur", "cost_note", "source_url", "source_title", "source_publisher",
        "source_author", "source_date", "source_kind", "visibility", "agreement_uid",
    ]  # fmt: skip
    events = [dict(zip(COLUMNS["events"], row, strict=True)) for row in register_rows("events")]
    assert len(events) == Event.objects.public().count()
    signed = next(row for row in events if row["partnership"] == SVM and row["kind"] == "signed")
    assert signed["date"] == "2013-04-16"
    assert sorted(signed["municipalities"].split(LIST_SEPARATOR)) == ["GM0556", "GM0606", "GM0622"]
    assert signed["cost_eur"] == "" and signed["cost_note"] == ""
    assert signed["source_title"] == "Schiedam ziet af van ICT-samenwerking met Vlaardingen"
    assert signed["source_date"] == "2019-05-08"
    assert COLUMNS["partnerships"] == [
        "slug",
        "name",
        "legal_form",
        "pillars",
        "summary",
        "visibility",
        "last_verified",
    ]
    assert len(register_rows("partnerships")) == 2
    assert COLUMNS["municipalities"] == ["cbs_code", "name", "province", "existed_from", "existed_until", "merged_into"]
    municipalities = register_rows("municipalities")
    assert len(municipalities) == 1472


@pytest.mark.django_db
def test_downloads_are_served_from_the_store_with_conditional_requests(client):
    open_data_store(base_url=BASE)
    assert sorted(OpenDataFile.objects.values_list("name", flat=True)) == sorted(FILES)
    response = client.get("/downloads/popolo.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["X-Schema-Version"] == "1.0"
    assert "attachment" in response["Content-Disposition"]
    document = json.loads(response.content)
    assert svm_memberships(document)["municipality/GM0556"]["end_date"] == "2017"
    assert client.get("/downloads/popolo.json", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304

    rows = list(csv.DictReader(io.StringIO(client.get("/downloads/events.csv").content.decode("utf-8-sig"))))
    assert list(rows[0]) == COLUMNS["events"]
    workbook = openpyxl.load_workbook(io.BytesIO(client.get("/downloads/partnerships.xlsx").content))
    header = [cell.value for cell in next(workbook.active.iter_rows(max_row=1))]
    assert header == COLUMNS["partnerships"]
    assert client.get("/downloads/secrets.txt").status_code == 404


@pytest.mark.django_db
def test_a_missing_download_is_queued_not_built_in_the_request(client):
    lock = refresh_lock(register_stamp(internal=False))
    cache.delete(lock)
    app.conf.task_always_eager = True  # as under `make run`
    try:
        assert not OpenDataFile.objects.exists()
        response = client.get("/downloads/municipalities.csv")
    finally:
        app.conf.task_always_eager = False
        cache.delete(lock)
    # Eager mode ran the task in-process, so the file is there at once.
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbfcbs_code,name,province")  # UTF-8 with BOM, as every CSV


@pytest.mark.django_db
def test_without_a_worker_a_missing_download_answers_503_with_retry_after(client, settings):
    # Hold the refresh lock: a build is already queued, so this request queues nothing more.
    lock = refresh_lock(register_stamp(internal=False))
    cache.set(lock, True, 60)
    try:
        response = client.get("/downloads/popolo.json")
    finally:
        cache.delete(lock)
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response["Content-Type"] == "application/problem+json"


def test_the_celery_worker_builds_the_downloads(seeded_transactional, celery_worker_thread, client, settings):
    from cooperation.tasks import build_open_data

    settings.PORTAL_BASE_URL = BASE
    OpenDataFile.objects.all().delete()
    build_open_data.delay()
    celery_worker_thread.wait_idle(timeout=60)
    assert sorted(OpenDataFile.objects.values_list("name", flat=True)) == sorted(FILES)
    stored = OpenDataFile.objects.get(name="popolo.json")
    assert timezone.now() - stored.generated_at < datetime.timedelta(minutes=1)
    document = json.loads(client.get("/downloads/popolo.json").content)
    maassluis = svm_memberships(document)["municipality/GM0556"]
    assert (maassluis["start_date"], maassluis["end_date"]) == ("2013-04-16", "2017")


@pytest.mark.django_db
def test_a_download_built_before_something_left_public_view_is_not_served(client, msg, settings):
    settings.PORTAL_BASE_URL = BASE
    open_data_store(base_url=BASE)
    assert msg.name in client.get("/downloads/partnerships.csv").content.decode("utf-8-sig")
    msg.visibility = "internal"
    services.partnership_save(partnership=msg)
    # The stored files still hold it; none is served until rebuilt (here the build is only queued:
    # hold its lock, as a queued build does).
    cache.set(refresh_lock(register_stamp(internal=False)), True, 60)
    for name in ("partnerships.csv", "events.json", "agreements.xlsx", "popolo.json"):
        response = client.get(f"/downloads/{name}")
        assert response.status_code == 503, name
        assert response["Retry-After"] == "60"
    # Rebuilt, the files are served again, without it.
    open_data_store(base_url=BASE)
    response = client.get("/downloads/partnerships.csv")
    assert response.status_code == 200
    assert msg.name not in response.content.decode("utf-8-sig")
    assert msg.slug not in client.get("/downloads/events.csv").content.decode("utf-8-sig")

"""History: every change kept with who and when, revertible; deletions restorable; an import undone as one."""

from pathlib import Path

import pytest
from django.urls import reverse

from cooperation import services
from cooperation.models import Event, ImportBatch, Municipality, Partnership, Source
from cooperation.porting import export as exporter
from cooperation.porting import importer, undo
from tests.factories import admin_form_data

DATA = Path(__file__).parent / "data"
EXAMPLE = "voorbeeld-ict-samenwerking-fryslan"


def change_event(client, event, **changes):
    url = reverse("admin:cooperation_event_change", args=[event.pk])
    response = client.post(url, {**admin_form_data(client.get(url)), **changes})
    assert response.status_code == 302, response.context and response.context["errors"]


def test_an_admin_change_is_recorded_with_who_and_when(admin_client, admin_user, svm):
    event = svm.events.get(kind="withdrawal_decided")
    change_event(admin_client, event, reason="Maassluis wil zelfstandig blijven.")
    record = event.history.first()
    assert (record.history_type, record.history_user, record.reason) == (
        "~",
        admin_user,
        "Maassluis wil zelfstandig blijven.",
    )
    page = admin_client.get(reverse("admin:cooperation_event_history", args=[event.pk]))
    assert page.status_code == 200
    assert admin_user.username in page.content.decode()


def test_reverting_an_event_restores_its_fields_municipalities_and_derived_data(admin_client, msg, municipality):
    event = msg.events.get(kind="signed")
    sittard = municipality("Sittard-Geleen")
    before = event.history.first()
    original = (event.title, sorted(event.municipalities.values_list("pk", flat=True)))
    assert msg.memberships.for_audience(False).get(municipality=sittard).start_text == "2010-10-27"
    change_event(admin_client, event, title="Per ongeluk gewijzigd", municipalities=[municipality("Maastricht").pk])
    assert not msg.memberships.for_audience(False).filter(municipality=sittard).exists()  # no start of its own left

    url = reverse("admin:cooperation_event_simple_history", args=[event.pk, before.history_id])
    form = admin_client.get(url)
    assert sorted(form.context["adminform"].form.initial["municipalities"]) == original[1]
    response = admin_client.post(url, admin_form_data(form))
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.title, sorted(event.municipalities.values_list("pk", flat=True))) == original
    assert msg.memberships.for_audience(False).get(municipality=sittard).start_text == "2010-10-27"
    assert event.history.first().history_type == "~"  # the revert is a change of its own, kept too


def test_deleting_asks_first_and_can_be_undone(admin_client, svm, municipality):
    event = svm.events.get(kind="withdrawal_decided")
    url = reverse("admin:cooperation_event_delete", args=[event.pk])
    confirm = admin_client.get(url)
    assert confirm.status_code == 200 and "Weet u zeker" in confirm.content.decode()
    assert Event.objects.filter(pk=event.pk).exists()
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Event.objects.filter(pk=event.pk).exists()
    svm.refresh_from_db()
    assert (
        svm.memberships.for_audience(False).get(municipality=municipality("Maassluis")).state == "ended"
    )  # still disentangled

    deleted = admin_client.get(reverse("admin:cooperation_event_deleted"))
    [record] = [r for r in deleted.context["records"] if r.id == event.pk]
    response = admin_client.post(reverse("admin:cooperation_event_deleted"), {"history_id": record.history_id})
    assert response.status_code == 302
    restored = Event.objects.get(pk=event.pk)
    assert (restored.uid, restored.date_text) == (event.uid, "2016-23")
    assert list(restored.municipalities.all()) == [municipality("Maassluis")]
    assert restored.history.first().history_change_reason == "restore"


def test_a_deleted_partnership_comes_back_with_its_events(admin_client, svm):
    events = sorted(svm.events.values_list("uid", flat=True))
    members = sorted(svm.memberships.for_audience(False).values_list("municipality__name", "state"))
    participants = list(svm.events.get(kind="signed").participants.values_list("person__name", flat=True))
    url = reverse("admin:cooperation_partnership_delete", args=[svm.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Partnership.objects.filter(pk=svm.pk).exists()
    record = Partnership.history.filter(id=svm.pk, history_type="-").get()
    admin_client.post(reverse("admin:cooperation_partnership_deleted"), {"history_id": record.history_id})
    restored = Partnership.objects.get(pk=svm.pk)
    assert sorted(restored.events.values_list("uid", flat=True)) == events
    assert sorted(restored.memberships.for_audience(False).values_list("municipality__name", "state")) == members
    assert restored.events.get(kind="signed").participants.exists() == bool(participants)


def test_restoring_an_event_whose_partnership_is_gone_says_so(admin_client, msg):
    event = msg.events.first()
    pk = event.pk
    event.delete()
    record = Event.history.filter(id=pk, history_type="-").get()
    msg.delete()
    response = admin_client.post(
        reverse("admin:cooperation_event_deleted"), {"history_id": record.history_id}, follow=True
    )
    assert "zet eerst het samenwerkingsverband terug" in response.content.decode()
    assert not Event.objects.filter(pk=pk).exists()


# --- An import is one change set, to be seen and undone ------------------------------------


@pytest.fixture
def imported(admin_user, svm):
    """The example partnership and its events imported, then a change to a seed event by import."""
    reports = {}
    for kind, name in (("partnerships", "partnerships.csv"), ("events", "events.csv")):
        reports[kind] = importer.run_import(
            kind=kind, data=(DATA / name).read_bytes(), filename=name, user=admin_user, dry_run=False
        )
    event = svm.events.get(kind="withdrawal_decided")
    export = exporter.export_file(kind="events", queryset=Event.objects.filter(pk=event.pk)).decode("utf-8-sig")
    changed = export.replace("GM0556", "GM0556;GM0622")  # Vlaardingen withdraws too
    reports["update"] = importer.run_import(
        kind="events", data=changed.encode(), filename="wijziging.csv", user=admin_user, dry_run=False
    )
    assert all(report.ok for report in reports.values()), reports
    return reports


def test_every_record_of_an_import_carries_its_batch(imported):
    batch = ImportBatch.objects.get(pk=imported["events"].batch_id)
    records = Event.history.filter(history_change_reason=batch.change_reason)
    assert records.count() == 6
    assert Source.history.filter(history_change_reason=batch.change_reason).count() == 4


def test_undoing_an_update_restores_the_event_and_its_links(admin_client, imported, svm, municipality):
    event = svm.events.get(kind="withdrawal_decided")
    vlaardingen = municipality("Vlaardingen")
    assert vlaardingen.events.filter(kind="withdrawal_decided").exists()
    batch = ImportBatch.objects.get(pk=imported["update"].batch_id)
    page = admin_client.get(reverse("admin:cooperation_importbatch_change", args=[batch.pk]))
    assert page.status_code == 200 and "Deze import ongedaan maken" in page.content.decode()
    confirm = admin_client.get(reverse("admin:cooperation_importbatch_undo", args=[batch.pk]))
    assert "Ja, deze import ongedaan maken" in confirm.content.decode()
    response = admin_client.post(reverse("admin:cooperation_importbatch_undo", args=[batch.pk]), follow=True)
    undone = "Import ongedaan gemaakt: 0 verwijderd (rijen en de bronnen die ze meebrachten), 1 teruggezet."
    assert undone in response.content.decode()
    assert list(event.municipalities.all()) == [municipality("Maassluis")]
    assert not vlaardingen.events.filter(kind="withdrawal_decided").exists()
    assert event.history.first().history_change_reason == f"undo:import:{batch.pk}"
    batch.refresh_from_db()
    assert batch.undone_at is not None
    response = admin_client.post(reverse("admin:cooperation_importbatch_undo", args=[batch.pk]), follow=True)
    assert "Deze import is al ongedaan gemaakt." in response.content.decode()


def test_undoing_an_import_of_new_events_deletes_them_and_their_new_sources(admin_user, imported):
    example = Partnership.objects.get(slug=EXAMPLE)
    batch = ImportBatch.objects.get(pk=imported["events"].batch_id)
    counts = undo.import_undo(batch=batch, user=admin_user)
    assert counts == {"deleted": 10, "restored": 0}
    assert not example.events.exists()
    assert not Source.objects.filter(url__startswith="https://voorbeeld.example.org/").exists()
    example.refresh_from_db()
    assert example.status == "planned" and not example.memberships.for_audience(False).exists()
    assert Event.history.filter(history_change_reason=f"undo:{batch.change_reason}", history_type="-").count() == 6


def test_an_import_built_on_since_cannot_be_undone(admin_client, admin_user, imported):
    event = Event.objects.get(partnership__slug=EXAMPLE, kind="joined")
    services.event_record(
        partnership=event.partnership,
        kind=event.kind,
        date_text=event.date_text,
        municipalities=list(event.municipalities.all()),
        title="Later gecorrigeerd",
        uid=event.uid,
    )
    batch = ImportBatch.objects.get(pk=imported["events"].batch_id)
    conflicts = undo.import_undo_conflicts(batch)
    assert len(conflicts) == 1 and "Gebeurtenis “" in conflicts[0] and "is op" in conflicts[0]
    response = admin_client.post(reverse("admin:cooperation_importbatch_undo", args=[batch.pk]), follow=True)
    assert "er is sindsdien op voortgebouwd" in response.content.decode()
    assert Event.objects.filter(partnership__slug=EXAMPLE).count() == 6


def test_undoing_a_municipalities_import_restores_names_without_earlier_history(admin_user):
    """Municipalities are loaded in bulk without history; the import records their state first."""
    data = (DATA / "municipalities.csv").read_text(encoding="utf-8-sig").replace("Waadhoeke", "Waadhoeke (nieuw)")
    report = importer.run_import(
        kind="municipalities", data=data.encode(), filename="m.csv", user=admin_user, dry_run=False
    )
    assert report.updated == 1
    assert Municipality.objects.get(cbs_code="GM1949").name == "Waadhoeke (nieuw)"
    undo.import_undo(batch=ImportBatch.objects.get(pk=report.batch_id), user=admin_user)
    assert Municipality.objects.get(cbs_code="GM1949").name == "Waadhoeke"


def test_only_administrators_see_and_undo_imports(client, imported, editor_of):
    client.force_login(editor_of("GM0606"))
    batch = ImportBatch.objects.first()
    assert client.post(reverse("admin:cooperation_importbatch_undo", args=[batch.pk])).status_code == 403
    batch.refresh_from_db()
    assert batch.undone_at is None

"""One write path: every way of deleting (or bringing back) events leaves the derived data of
both audiences equal to a fresh derivation from the events, and the architecture keeps it so."""

from pathlib import Path

from django.urls import reverse

from cooperation import services
from cooperation.models import Event, ImportBatch, Membership, Partnership
from cooperation.porting import importer, undo

DATA = Path(__file__).parent / "data"


def form_data(response) -> dict:
    """The POST data of an admin form page (change or history) as the browser sends it unchanged."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        value = value() if callable(value) else value
        if isinstance(value, list | tuple) or hasattr(value, "all"):
            value = [getattr(item, "pk", item) for item in (value.all() if hasattr(value, "all") else value)]
        if value is not None:
            data[name] = getattr(value, "pk", value)
    for inline in response.context.get("inline_admin_formsets", []):
        management = inline.formset.management_form
        for name, field in management.fields.items():
            data[f"{inline.formset.prefix}-{name}"] = management.initial.get(name, field.initial)
    return data


def public_status(partnership) -> str:
    return Partnership.objects.for_audience(False).get(pk=partnership.pk).status


def test_deleting_events_with_the_admins_bulk_action(admin_client, svm, derived_matches_a_fresh_derivation):
    termination = svm.events.get(kind="termination_decided")
    assert public_status(svm) == "ending"
    response = admin_client.post(
        reverse("admin:cooperation_event_changelist"),
        {"action": "delete_selected", "_selected_action": [termination.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Event.objects.filter(pk=termination.pk).exists()
    assert public_status(svm) != "ending"
    assert not svm.memberships.filter(state="leaving").exists()
    derived_matches_a_fresh_derivation()


def test_deleting_events_by_undoing_their_import(admin_user, derived_matches_a_fresh_derivation):
    for kind, name in (("partnerships", "partnerships.csv"), ("events", "events.csv")):
        report = importer.run_import(
            kind=kind, data=(DATA / name).read_bytes(), filename=name, user=admin_user, dry_run=False
        )
        assert report.ok, report
    example = Partnership.objects.get(slug="voorbeeld-ict-samenwerking-fryslan")
    assert example.memberships.exists()
    undo.import_undo(batch=ImportBatch.objects.get(pk=report.batch_id), user=admin_user)
    assert not example.events.exists() and not example.memberships.exists()
    assert public_status(example) == "planned"
    derived_matches_a_fresh_derivation()


def test_deleting_and_restoring_an_event(admin_client, msg, municipality, derived_matches_a_fresh_derivation):
    signing = msg.events.get(kind="signed")
    sittard = municipality("Sittard-Geleen")
    assert msg.memberships.for_audience(False).get(municipality=sittard).start_text == "2010-10-27"
    assert admin_client.post(reverse("admin:cooperation_event_delete", args=[signing.pk]), {"post": "yes"}).status_code
    assert not msg.memberships.for_audience(False).filter(municipality=sittard).exists()  # no start left
    derived_matches_a_fresh_derivation()

    record = Event.history.filter(id=signing.pk, history_type="-").get()
    response = admin_client.post(reverse("admin:cooperation_event_deleted"), {"history_id": record.history_id})
    assert response.status_code == 302
    assert msg.memberships.for_audience(False).get(municipality=sittard).start_text == "2010-10-27"
    derived_matches_a_fresh_derivation()


def test_reverting_an_event_in_its_history(admin_client, msg, municipality, derived_matches_a_fresh_derivation):
    signing = msg.events.get(kind="signed")
    sittard, maastricht = municipality("Sittard-Geleen"), municipality("Maastricht")
    before = signing.history.first()
    signing.pending_municipalities = [maastricht]
    services.event_save(event=signing, save_links=lambda: signing.municipalities.set([maastricht]))
    assert not msg.memberships.for_audience(True).filter(municipality=sittard).exists()

    url = reverse("admin:cooperation_event_simple_history", args=[signing.pk, before.history_id])
    response = admin_client.post(url, form_data(admin_client.get(url)))
    assert response.status_code == 302
    assert sorted(signing.municipalities.values_list("name", flat=True)) == ["Maastricht", "Sittard-Geleen"]
    assert msg.memberships.for_audience(True).get(municipality=sittard).start_text == "2010-10-27"
    derived_matches_a_fresh_derivation()


def test_deleting_a_partnership_selection_removes_its_derived_rows(admin_client, msg):
    response = admin_client.post(
        reverse("admin:cooperation_partnership_changelist"),
        {"action": "delete_selected", "_selected_action": [msg.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(partnership_id=msg.pk).exists()


def test_an_edit_of_a_source_reaches_the_public_pages(client, msg):
    source = msg.events.first().sources.first()
    page = reverse("cooperation:partnership-detail", args=[msg.slug])
    assert source.title in client.get(page).content.decode()
    source.title = "Een nieuwe titel voor de bron"
    services.source_save(source=source)
    assert "Een nieuwe titel voor de bron" in client.get(page).content.decode()


def test_agreement_and_document_writes_rebuild_the_agreements_search_texts(
    svm, msg, derived_matches_a_fresh_derivation
):  # noqa: E501
    """Every write to an agreement, its documents or the events citing it rebuilds the search texts
    of the agreements of the partnerships it touched (derived.py, through partnerships_changed)."""
    from cooperation.models import Agreement, Document, Municipality
    from tests.factories import make_document, make_pdf

    def texts(agreement) -> tuple[str, str]:
        return Agreement.objects.values_list("search_text", "staff_search_text").get(pk=agreement.pk)

    agreement = services.agreement_save(
        agreement=Agreement(partnership=svm, kind=Agreement.Kind.SERVICE_LEVEL_AGREEMENT, title="Dienstenniveau")
    )
    public, staff = texts(agreement)
    assert " dienstenniveau " in public and " schiedam " in public and " vlaardingen " in public
    derived_matches_a_fresh_derivation()

    make_document(agreement=agreement, data=make_pdf("Storingsafhandeling binnen vier uur"))
    secret = make_document(agreement=agreement, data=make_pdf("Boeteclausule leverancier"), visibility="internal")
    public, staff = texts(agreement)
    assert " storingsafhandeling " in public and " boeteclausule " not in public
    assert " storingsafhandeling " in staff and " boeteclausule " in staff
    derived_matches_a_fresh_derivation()

    # An internal signing citing it names its parties for staff only.
    services.event_record(
        partnership=svm,
        kind="signed",
        date_text="2014-02",
        municipalities=[Municipality.objects.get(name="Vlaardingen")],
        agreement=agreement,
        visibility="internal",
    )
    public, staff = texts(agreement)
    # Vlaardingen's province and former names: a party's, in the staff copy only.
    assert " zouteveen " not in public and " zuid " not in public
    assert " zouteveen " in staff and " zuid " in staff
    derived_matches_a_fresh_derivation()

    services.documents_delete(documents=Document.objects.filter(pk=secret.pk))
    assert " boeteclausule " not in texts(agreement)[1]
    derived_matches_a_fresh_derivation()

    # Moved to another partnership: its partnership's name and parties follow.
    agreement.partnership = msg
    services.agreement_save(agreement=agreement)
    public, _staff = texts(agreement)
    assert " maastricht " in public and " schiedam " not in public
    derived_matches_a_fresh_derivation()

    agreement.visibility = "internal"
    services.agreement_save(agreement=agreement)
    assert texts(agreement)[0] == "" and " storingsafhandeling " in texts(agreement)[1]
    derived_matches_a_fresh_derivation()

    services.agreements_delete(agreements=[agreement])
    derived_matches_a_fresh_derivation()

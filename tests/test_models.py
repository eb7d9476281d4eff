"""Integrity in the database, whatever the code path."""

import pytest
from django.db import DataError, IntegrityError, transaction

from cooperation.models import Event, Municipality, Partnership, Pillar, Source


def refused(callable_):
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        callable_()


def test_pillars_are_the_four_fixed_codes(db):
    assert list(Pillar.objects.values_list("code", flat=True)) == [
        "knowledge_sharing",
        "architecture_alignment",
        "joint_procurement",
        "service_modernisation",
    ]
    assert Pillar.objects.get(code="joint_procurement").name_nl == "Gezamenlijke inkoop"


@pytest.mark.parametrize("code", ["GM123", "gm0935", "XX0935", "GM09355", "GM 935"])
def test_database_refuses_malformed_cbs_codes(db, code):
    refused(lambda: Municipality.objects.create(cbs_code=code, name="Nergenshuizen", slug=f"n-{code}"))


def test_database_refuses_duplicate_cbs_code_and_slug(db):
    refused(lambda: Municipality.objects.create(cbs_code="GM0935", name="Maastricht 2", slug="maastricht-2"))
    refused(lambda: Municipality.objects.create(cbs_code="GM9999", name="Maastricht", slug="maastricht"))
    refused(lambda: Partnership.objects.create(name="Dubbel", slug="schiedam-vlaardingen-maassluis-ict"))


def test_database_refuses_date_bounds_in_the_wrong_order(svm):
    event = svm.events.first()
    refused(lambda: Event.objects.filter(pk=event.pk).update(date_lower="2020-01-01", date_upper="2019-01-01"))


def test_database_refuses_two_sources_with_one_url(db):
    Source.objects.create(url="https://example.org/a", title="A")
    refused(lambda: Source.objects.create(url="https://example.org/a", title="B"))
    # Sources without a URL (an article we only have as text) may coexist.
    Source.objects.create(title="C")
    Source.objects.create(title="D")


def test_saving_derives_the_bounds_from_the_text(svm):
    event = svm.events.get(kind="withdrawal_decided")
    assert (event.date_lower.isoformat(), event.date_upper.isoformat(), event.date_precision) == (
        "2016-09-01",
        "2016-11-30",
        "season",
    )


def test_municipality_has_its_tooi_identifier(db):
    assert (
        Municipality.objects.get(cbs_code="GM0935").tooi_uri == "https://identifier.overheid.nl/tooi/id/gemeente/gm0935"
    )


# --- Verifications: an act by an editor, recorded as a row (issue 15) ------------------------


@pytest.fixture
def editor_vlaardingen(db):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from cooperation.models import EditorProfile

    editor = get_user_model().objects.create_user("editor_vl", password="Redacteur-wachtwoord-1", is_staff=True)
    editor.groups.add(Group.objects.get(name="editor"))
    EditorProfile.objects.create(user=editor).municipalities.set([Municipality.objects.get(cbs_code="GM0622")])
    return editor


def test_the_demo_carries_no_verification(svm, msg):
    assert not svm.verifications.exists() and not msg.verifications.exists()


def test_an_editor_records_a_verification_of_their_own_partnership_only(client, editor_vlaardingen, svm, msg):
    from django.urls import reverse
    from django.utils import timezone

    client.force_login(editor_vlaardingen)
    response = client.post(
        reverse("admin:cooperation_partnership_changelist"),
        {"action": "record_verification", "_selected_action": [svm.pk, msg.pk]},
    )
    assert response.status_code == 302
    verification = svm.verifications.get()
    assert (verification.user, verification.verified_on) == (editor_vlaardingen, timezone.localdate())
    assert [source.title for source in verification.sources.all()] == [
        "Schiedam ziet af van ICT-samenwerking met Vlaardingen"
    ]
    # Maastricht–Sittard-Geleen is not theirs: nothing recorded there.
    assert not msg.verifications.exists()
    # A verification is evidence: the cached status of today is "ending" again, not "unknown".
    svm.refresh_from_db()
    assert svm.last_evidence == timezone.localdate()
    assert Partnership.objects.with_current_status("ending", timezone.localdate()).filter(pk=svm.pk).exists()


def test_with_current_status_follows_the_horizon(svm, msg, settings):
    import datetime

    today = datetime.date(2026, 12, 1)
    unknown = set(Partnership.objects.with_current_status("unknown", today).values_list("slug", flat=True))
    assert unknown == {svm.slug, msg.slug}
    assert not Partnership.objects.with_current_status("active", today).exists()
    settings.PORTAL_EVIDENCE_HORIZON_DAYS = 365 * 30
    assert list(Partnership.objects.with_current_status("active", today)) == [msg]
    assert list(Partnership.objects.with_current_status("ending", today)) == [svm]

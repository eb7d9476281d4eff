"""The admin is good enough to enter and read the seed cases by hand."""

import pytest
from django.urls import reverse

from cooperation.models import Event


@pytest.mark.parametrize("slug_fixture", ["svm", "msg"])
def test_seed_partnership_opens_with_all_its_events(admin_client, request, slug_fixture):
    partnership = request.getfixturevalue(slug_fixture)
    response = admin_client.get(reverse("admin:cooperation_partnership_change", args=[partnership.pk]))
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][1].formset
    assert formset.total_form_count() == partnership.events.count()
    for event in partnership.events.all():
        assert event.title in response.content.decode()


@pytest.mark.parametrize("model", ["municipality", "pillar", "partnership", "event", "agreement", "source", "person"])
def test_every_changelist_opens(admin_client, model):
    response = admin_client.get(reverse(f"admin:cooperation_{model}_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "query", ["kind=signed", "status=planned", "pillar__id__exact=3", "province=Limburg", "year=2016", "q=Maassluis"]
)
def test_event_changelist_filters(admin_client, query):
    response = admin_client.get(reverse("admin:cooperation_event_changelist") + "?" + query)
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


def test_year_filter_matches_vague_dates(admin_client, svm):
    response = admin_client.get(reverse("admin:cooperation_event_changelist") + "?year=2016")
    uids = {event.uid for event in response.context["cl"].result_list}
    assert svm.events.get(kind="withdrawal_decided").uid in uids  # autumn 2016


def test_admin_labels_are_dutch(admin_client):
    response = admin_client.get(reverse("admin:cooperation_event_add"))
    content = response.content.decode()
    assert "Gemeenten" in content or "gemeenten" in content
    assert "Gebeurtenis" in content or "gebeurtenis" in content


def event_post_data(partnership, municipality, **overrides):
    data = {
        "partnership": partnership.pk,
        "kind": "withdrawal_decided",
        "status": "happened",
        "date_text": "2012",
        "municipalities": [municipality.pk],
        "role": "participant",
        "visibility": "public",
        "title": "",
        "description": "",
        "reason": "",
        "cost_note": "",
        "procurement_reference": "",
        "participants-TOTAL_FORMS": "0",
        "participants-INITIAL_FORMS": "0",
        "participants-MIN_NUM_FORMS": "0",
        "participants-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_admin_refuses_withdrawal_by_non_member_with_a_named_message(admin_client, msg, municipality):
    before = Event.objects.count()
    response = admin_client.post(reverse("admin:cooperation_event_add"), event_post_data(msg, municipality("Schiedam")))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Schiedam" in content and "geen lid van" in content, content[content.find("errornote") :][:2000]
    assert Event.objects.count() == before


def test_admin_refuses_an_unreadable_date(admin_client, msg, municipality):
    response = admin_client.post(
        reverse("admin:cooperation_event_add"),
        event_post_data(msg, municipality("Maastricht"), kind="evaluated", date_text="najaar 2016"),
    )
    assert response.status_code == 200
    assert "2016-23" in response.content.decode()


def test_admin_records_an_event_and_rebuilds_the_memberships(admin_client, msg, municipality):
    response = admin_client.post(
        reverse("admin:cooperation_event_add"),
        event_post_data(msg, municipality("Sittard-Geleen"), kind="withdrawn", date_text="01-01-2015"),
    )
    assert response.status_code == 302
    event = Event.objects.get(partnership=msg, kind="withdrawn")
    assert event.date_text == "2015-01-01"
    assert msg.memberships.for_audience(False).get(municipality__name="Sittard-Geleen").state == "ended"


def test_inline_events_entered_together_are_judged_together(admin_client, municipality):
    """A signing and a withdrawal entered in one save: the withdrawal is valid."""
    from cooperation.models import Partnership

    delft, rijswijk = municipality("Delft"), municipality("Rijswijk")
    data = {
        "name": "Proef",
        "slug": "proef",
        "summary": "",
        "legal_form": "covenant",
        "visibility": "public",
        "agreements-TOTAL_FORMS": "0",
        "agreements-INITIAL_FORMS": "0",
        "agreements-MIN_NUM_FORMS": "0",
        "agreements-MAX_NUM_FORMS": "1000",
        "events-TOTAL_FORMS": "2",
        "events-INITIAL_FORMS": "0",
        "events-MIN_NUM_FORMS": "0",
        "events-MAX_NUM_FORMS": "1000",
    }
    for index, (kind, when, members) in enumerate(
        [("signed", "2020-01-01", [delft.pk, rijswijk.pk]), ("withdrawn", "2022", [rijswijk.pk])]
    ):
        prefix = f"events-{index}-"
        data.update(
            {
                prefix + "kind": kind,
                prefix + "status": "happened",
                prefix + "date_text": when,
                prefix + "municipalities": members,
                prefix + "role": "participant",
                prefix + "visibility": "public",
            }
        )
    response = admin_client.post(reverse("admin:cooperation_partnership_add"), data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    partnership = Partnership.objects.get(slug="proef")
    assert partnership.events.count() == 2
    assert partnership.memberships.for_audience(False).get(municipality=rijswijk).state == "ended"

    data["slug"] = "proef-2"
    data["events-0-kind"] = "evaluated"  # no signing any more: the withdrawal is refused
    response = admin_client.post(reverse("admin:cooperation_partnership_add"), data)
    assert response.status_code == 200
    assert not Partnership.objects.filter(slug="proef-2").exists()


def test_events_added_together_to_an_existing_partnership_see_each_other(admin_client, msg, municipality):
    """Rijswijk joins and withdraws in one save of the Maastricht partnership's page."""
    page = admin_client.get(reverse("admin:cooperation_partnership_change", args=[msg.pk]))
    data = {}
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name, field in management.fields.items():
            data[f"{formset.formset.prefix}-{name}"] = management.initial.get(name, field.initial)
        for index, form in enumerate(formset.formset.forms):
            for name, field in form.fields.items():
                value = form.initial.get(name, field.initial)
                if hasattr(value, "pk"):
                    value = value.pk
                if isinstance(value, list):
                    value = [getattr(item, "pk", item) for item in value]
                if value is not None:
                    data[f"{formset.formset.prefix}-{index}-{name}"] = value
    for name in ("name", "slug", "summary", "legal_form", "visibility"):
        data[name] = getattr(msg, name)
    data["pillars"] = [p.pk for p in msg.pillars.all()]
    rijswijk = municipality("Rijswijk")
    existing = int(data["events-TOTAL_FORMS"])
    for offset, (kind, when) in enumerate([("joined", "2012-01-01"), ("withdrawn", "2013-06")]):
        prefix = f"events-{existing + offset}-"
        data.update(
            {
                prefix + "kind": kind,
                prefix + "status": "happened",
                prefix + "date_text": when,
                prefix + "municipalities": [rijswijk.pk],
                prefix + "role": "participant",
                prefix + "visibility": "public",
            }
        )
    data["events-TOTAL_FORMS"] = existing + 2
    response = admin_client.post(reverse("admin:cooperation_partnership_change", args=[msg.pk]), data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    assert msg.memberships.for_audience(False).get(municipality=rijswijk).state == "ended"

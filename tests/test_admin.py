"""The admin is good enough to enter and read the seed cases by hand."""

import pytest
from django.test import Client
from django.urls import reverse

from cooperation.models import Event, Municipality


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


def test_admin_refuses_an_unreadable_date_with_one_message_once(admin_client, msg, municipality):
    before = Event.objects.count()
    response = admin_client.post(
        reverse("admin:cooperation_event_add"),
        event_post_data(msg, municipality("Maastricht"), kind="evaluated", date_text="najaar"),
    )
    assert response.status_code == 200
    content = response.content.decode()
    message = "“najaar” kunnen wij niet als datum lezen."
    assert content.count(message) == 1
    assert response.context["adminform"].form.errors["date_text"] == [
        f"{message} Schrijf bijvoorbeeld 27 oktober 2010, oktober 2009, najaar 2016, eind 2010, omstreeks "
        "december 2010, voor 8 mei 2019 of tussen najaar 2016 en 2017 (of in EDTF: 2016-23)."
    ]
    assert "Use an EDTF date" not in content and "Gebruik een EDTF-datum" not in content  # the long help is gone
    assert "In woorden of als EDTF: 27 oktober 2010" in content
    assert Event.objects.count() == before


def test_admin_reads_a_phrase_back_before_saving_it(admin_client, msg, municipality):
    """Without JavaScript: the first save shows what was read and stores nothing; saving again stores it."""
    data = event_post_data(msg, municipality("Maastricht"), kind="evaluated", date_text="Najaar 2016")
    response = admin_client.post(reverse("admin:cooperation_event_add"), data)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Gelezen als: najaar 2016. Klopt dat?" in content
    assert '<p class="date-reading" id="id_date_text_reading"' in content and "gelezen als: najaar 2016</p>" in content
    assert 'name="date_text_read" value="Najaar 2016"' in content
    assert not msg.events.filter(kind="evaluated").exists()

    response = admin_client.post(reverse("admin:cooperation_event_add"), data | {"date_text_read": "Najaar 2016"})
    assert response.status_code == 302
    event = msg.events.get(kind="evaluated")
    assert (event.date_text, event.date_lower.isoformat(), event.date_upper.isoformat()) == (
        "2016-23",
        "2016-09-01",
        "2016-11-30",
    )
    response = admin_client.get(reverse("admin:cooperation_event_change", args=[event.pk]))
    assert "gelezen als: najaar 2016</p>" in response.content.decode()


def test_a_changed_phrase_is_read_back_again(admin_client, msg, municipality):
    data = event_post_data(msg, municipality("Maastricht"), kind="evaluated", date_text="eind 2010")
    response = admin_client.post(reverse("admin:cooperation_event_add"), data | {"date_text_read": "najaar 2016"})
    assert response.status_code == 200
    assert "Gelezen als: vierde kwartaal 2010. Klopt dat?" in response.content.decode()


def test_edtf_and_a_dutch_day_are_stored_at_once(admin_client, msg, municipality):
    data = event_post_data(msg, municipality("Maastricht"), kind="evaluated", date_text="2016-23")
    assert admin_client.post(reverse("admin:cooperation_event_add"), data).status_code == 302
    assert msg.events.get(kind="evaluated").date_text == "2016-23"


def test_an_agreement_in_the_partnership_form_reads_a_phrase(admin_client, msg):
    agreement = msg.agreements.first()
    response = admin_client.get(reverse("admin:cooperation_agreement_change", args=[agreement.pk]))
    form = response.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields if name not in ("date_text",)}
    data |= {"date_text": "omstreeks december 2010", "date_text_read": "omstreeks december 2010"}
    for inline in response.context["inline_admin_formsets"]:  # its documents, none added
        prefix = inline.formset.prefix
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
    response = admin_client.post(reverse("admin:cooperation_agreement_change", args=[agreement.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    agreement.refresh_from_db()
    assert agreement.date_text == "2010-12~"


def test_the_date_reading_endpoint_is_for_staff_only(viewer_client, admin_client):
    url = reverse("admin-date-reading") + "?text=najaar+2016"
    assert Client().get(url).status_code == 403  # anonymous
    assert viewer_client.get(url).status_code == 403  # an account without staff status
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "edtf": "2016-23", "reading": "gelezen als: najaar 2016"}
    answer = admin_client.get(reverse("admin-date-reading") + "?text=najaar").json()
    assert answer["ok"] is False and answer["error"].startswith("“najaar” kunnen wij niet als datum lezen.")
    assert admin_client.post(url).status_code == 405


def test_the_municipality_autocomplete_lists_current_ones_first_and_former_ones_as_such(
    admin_client, django_assert_num_queries
):
    url = reverse("admin:autocomplete")
    params = {"app_label": "cooperation", "model_name": "event", "field_name": "municipalities"}
    admin_client.get(url, params | {"term": "x"})  # the session and user, once
    with django_assert_num_queries(4):  # session, user, the page and its count: successors are joined
        results = admin_client.get(url, params | {"term": "geleen"}).json()["results"]
    assert [row["text"] for row in results] == [
        "Sittard-Geleen",
        "Geleen (tot 2001, nu Sittard-Geleen)",
        "Munstergeleen (tot 1982, nu Sittard-Geleen)",
    ]
    with django_assert_num_queries(4):
        results = admin_client.get(url, params | {"term": "rijswijk"}).json()["results"]
    assert [row["text"] for row in results][:2] == ["Rijswijk", "Rijswijk (NB) (tot 1973, nu Altena)"]


def test_a_chosen_former_municipality_reads_as_in_the_autocomplete(admin_client, msg):
    geleen = Municipality.objects.get(name="Geleen")
    data = event_post_data(msg, geleen, kind="evaluated", date_text="najaar")  # refused: the form comes back
    response = admin_client.post(reverse("admin:cooperation_event_add"), data)
    assert response.status_code == 200
    assert (
        f'<option value="{geleen.pk}" selected>Geleen (tot 2001, nu Sittard-Geleen)</option>'
        in response.content.decode()
    )


def test_the_admin_speaks_dutch_including_other_apps_and_the_javascript_catalog(admin_client):
    content = admin_client.get(reverse("admin:index")).content.decode()
    for dutch in ["Inlogpogingen", "Mislukte inlogpogingen", "Tweestapsverificatie: reservecodes", "Modelnaam"]:
        assert dutch in content
    for english in ["Access attempts", "Access failures", "Otp_Totp", "Model name"]:
        assert english not in content
    catalog = admin_client.get("/admin/jsi18n/").content.decode()
    assert "Kies %s door ze te selecteren" in catalog


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


@pytest.mark.parametrize("path", ["/admin/", "/admin/cooperation/event/"])
def test_signed_in_viewer_is_told_no_admin_access_without_a_redirect_loop(viewer_client, path):
    response = viewer_client.get(path, follow=True)
    assert len(response.redirect_chain) <= 3
    assert response.status_code == 403
    assert "Geen toegang tot het beheer" in response.content.decode()
    again = viewer_client.get(reverse("login") + "?next=/admin/", follow=True)
    assert again.status_code == 403

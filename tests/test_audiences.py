"""One derivation per audience: an internal event leaves no public trace anywhere, and staff
(any signed-in account) see it everywhere.

The case of issue 13: an internal `joined` event for Amsterdam (GM0363) and an internal
`termination_decided` on the public partnership Maastricht–Sittard-Geleen.
"""

import datetime
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from cooperation import downloads, popolo, services
from cooperation.models import Partnership

AMSTERDAM = "GM0363"
SECRET = "Zwaluwstaartverbinding"  # a word that only the internal events contain


@pytest.fixture
def internal_events(msg, municipality):
    """The two internal events; returns the moment just before they were recorded."""
    # The agreement runs until 2030: it shows in the calendars of its members' municipalities.
    agreement = msg.agreements.first()
    agreement.term_end = datetime.date(2030, 1, 1)
    services.agreement_save(agreement=agreement)
    # Checked against its sources today, so its status holds "now" (not "unknown" on the 2010 source).
    checker = get_user_model().objects.create_user("controleur", "controleur@example.org", "Controleur-wachtwoord-1")
    services.verification_record(partnership=msg, by=checker, verified_on=timezone.localdate())
    msg.refresh_from_db()
    before = timezone.now()
    services.event_record(
        partnership=msg,
        kind="joined",
        date_text="2012-03",
        municipalities=[municipality(AMSTERDAM)],
        title=f"Amsterdam sluit aan ({SECRET})",
        visibility="internal",
    )
    services.event_record(
        partnership=msg,
        kind="termination_decided",
        date_text="2013",
        municipalities=[municipality("Maastricht")],
        title=f"Opzegging ({SECRET})",
        visibility="internal",
    )
    cache.clear()
    return before


@pytest.fixture
def staff(client, viewer):
    client.force_login(viewer)
    return client


def card(client, partnership) -> str:
    """The list entry of a partnership on the list page."""
    response = client.get(reverse("cooperation:partnership-list"))
    [entry] = [entry for entry in response.context["cards"] if partnership.name in entry]
    return entry


def page(client, name, *args, **params) -> str:
    response = client.get(reverse(name, args=args), params)
    assert response.status_code == 200
    return response.content.decode()


def api(client, **params) -> list[str]:
    response = client.get(reverse("open-data:api-partnership-list"), params)
    assert response.status_code == 200, response.content
    return [item["slug"] for item in response.json()["results"]]


def test_the_public_copy_is_derived_from_public_events_only(internal_events, msg):
    public = Partnership.objects.for_audience(False).get(pk=msg.pk)
    staff = Partnership.objects.for_audience(True).get(pk=msg.pk)
    assert (public.status, staff.status) == ("active", "ending")
    public_members = msg.memberships.for_audience(False).values_list("municipality__cbs_code", flat=True)
    assert sorted(public_members) == ["GM0935", "GM1883"]
    assert AMSTERDAM in msg.memberships.for_audience(True).values_list("municipality__cbs_code", flat=True)
    assert f" {SECRET.lower()} " not in public.search_text and f" {SECRET.lower()} " in staff.search_text


def test_anonymous_pages_show_no_trace_of_internal_events(client, internal_events, msg):
    listing = page(client, "cooperation:partnership-list")
    assert msg.name in listing
    assert "Amsterdam" not in listing  # neither in the card nor in the municipality dropdown
    assert "badge--status-active" in card(client, msg)
    for params in (
        {"municipality": AMSTERDAM},
        {"province": "Noord-Holland"},
        {"status": "ending"},
        {"municipality": AMSTERDAM, "year": "2012"},
        {"q": "Amsterdam"},
        {"q": SECRET},
    ):
        response = client.get(reverse("cooperation:partnership-list"), params)
        if "municipality" in params:  # not a member of anything public: not a choice, said in Dutch
            assert "municipality" in response.context["form"].errors, params
        else:
            assert msg.slug not in response.content.decode(), params
        assert msg.slug not in api(client, **params), params
    assert msg.slug in page(client, "cooperation:partnership-list", status="active")

    home = client.get(reverse("cooperation:home"))
    assert (home.context["active_count"], home.context["municipality_count"]) == (1, 2)
    assert SECRET not in home.content.decode()

    municipality_page = page(client, "cooperation:municipality-detail", AMSTERDAM)
    assert msg.name not in municipality_page and SECRET not in municipality_page
    assert msg.name not in page(client, "open-data:calendar-municipality", AMSTERDAM)
    detail = page(client, "cooperation:partnership-detail", msg.slug)
    assert SECRET not in detail and "Amsterdam" not in detail


def test_anonymous_open_data_shows_no_trace_of_internal_events(client, internal_events, msg):
    for name, (content, _type, _version) in downloads.build_files("https://example.org").items():
        if name.endswith(".csv") or name.endswith(".json"):
            assert SECRET not in content.decode("utf-8"), name
    document = popolo.popolo_export("https://example.org")
    assert SECRET not in json.dumps(document, ensure_ascii=False)
    members = [m["member"]["id"] for m in document["memberships"] if m["organization_id"] == f"partnership/{msg.slug}"]
    assert sorted(members) == ["municipality/GM0935", "municipality/GM1883"]
    msg_organization = next(o for o in document["organizations"] if o["id"] == f"partnership/{msg.slug}")
    assert msg_organization["status"] == "active"

    for name, args in (
        ("open-data:feed-events", ()),
        ("open-data:feed-partnership", (msg.slug,)),
        ("open-data:feed-municipality", (AMSTERDAM,)),
    ):
        assert SECRET not in page(client, name, *args), name

    item = client.get(reverse("open-data:api-partnership-detail", args=[msg.slug])).json()
    assert "Amsterdam" not in json.dumps(item) and item["status"] == "active"
    assert msg.slug not in api(client, changed_since=internal_events.isoformat())
    assert datetime.datetime.fromisoformat(item["updated_at"]) < internal_events


def test_an_internal_edit_does_not_move_public_modification_dates(internal_events, msg):
    public = Partnership.objects.for_audience(False).get(pk=msg.pk)
    staff = Partnership.objects.for_audience(True).get(pk=msg.pk)
    assert public.changed_at < internal_events < staff.changed_at


def test_staff_see_the_internal_events_everywhere(staff, internal_events, msg):
    listing = page(staff, "cooperation:partnership-list")
    assert "Amsterdam" in listing and "badge--status-ending" in card(staff, msg)
    for params in ({"municipality": AMSTERDAM}, {"status": "ending"}, {"q": SECRET}, {"province": "Noord-Holland"}):
        assert msg.slug in page(staff, "cooperation:partnership-list", **params), params
        assert msg.slug in api(staff, **params), params
    assert msg.slug in api(staff, changed_since=internal_events.isoformat())
    home = staff.get(reverse("cooperation:home"))
    assert (home.context["active_count"], home.context["municipality_count"]) == (0, 0)
    assert msg.name in page(staff, "cooperation:municipality-detail", AMSTERDAM)
    assert msg.name in page(staff, "open-data:calendar-municipality", AMSTERDAM)
    assert SECRET in page(staff, "open-data:feed-municipality", AMSTERDAM)

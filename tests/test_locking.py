"""No lost updates: a save based on an older version is refused, with a link to the current one."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse

from cooperation import services
from cooperation.models import Event, Partnership
from tests.factories import admin_form_data


@pytest.fixture
def second_admin(client, admin_user):
    """Another browser of the same administrator: a second, independent session."""
    from django.test import Client

    other = Client()
    other.force_login(admin_user)
    return other


def test_second_save_of_an_event_is_refused_with_a_link(admin_client, second_admin, svm):
    event = svm.events.get(kind="withdrawal_decided")
    url = reverse("admin:cooperation_event_change", args=[event.pk])
    first = admin_form_data(admin_client.get(url))
    second = admin_form_data(second_admin.get(url))
    assert first["expected_version"] == second["expected_version"] == event.version

    response = admin_client.post(url, {**first, "reason": "Eerste versie van de reden."})
    assert response.status_code == 302
    response = second_admin.post(url, {**second, "reason": "Tweede versie, over de eerste heen."})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Iemand anders heeft deze gebeurtenis opgeslagen terwijl u die bewerkte" in content
    assert f'href="{url}"' in content and "Open de huidige versie" in content
    event.refresh_from_db()
    assert event.reason == "Eerste versie van de reden."
    assert event.version == first["expected_version"] + 1


def test_second_save_of_a_partnership_is_refused(admin_client, second_admin, msg):
    url = reverse("admin:cooperation_partnership_change", args=[msg.pk])
    first = admin_form_data(admin_client.get(url))
    second = admin_form_data(second_admin.get(url))
    assert admin_client.post(url, {**first, "summary": "Eerst."}).status_code == 302
    response = second_admin.post(url, {**second, "summary": "Daarna."})
    assert response.status_code == 200
    assert "Iemand anders heeft deze samenwerkingsverband opgeslagen" in response.content.decode()
    msg.refresh_from_db()
    assert msg.summary == "Eerst."


def test_a_stale_inline_event_on_the_partnership_page_is_refused(admin_client, second_admin, msg):
    """The partnership page carries its events; posting an old copy of one would overwrite it."""
    url = reverse("admin:cooperation_partnership_change", args=[msg.pk])
    stale = admin_form_data(second_admin.get(url))
    event = msg.events.get(kind="signed")
    services.event_record(
        partnership=msg,
        kind=event.kind,
        date_text=event.date_text,
        municipalities=list(event.municipalities.all()),
        title="Elders gewijzigd",
        uid=event.uid,
        expected_version=event.version,
    )
    response = second_admin.post(url, {**stale, "summary": "Alleen de samenvatting."})
    assert response.status_code == 200
    assert "Iemand anders heeft deze gebeurtenis opgeslagen" in response.content.decode()
    msg.refresh_from_db()
    assert Event.objects.get(pk=event.pk).title == "Elders gewijzigd"
    assert msg.summary != "Alleen de samenvatting."
    # From a fresh page, the same change goes through.
    fresh = admin_form_data(second_admin.get(url))
    assert second_admin.post(url, {**fresh, "summary": "Alleen de samenvatting."}).status_code == 302
    assert Event.objects.get(pk=event.pk).title == "Elders gewijzigd"


def test_every_save_counts_the_version_up(svm):
    event = svm.events.first()
    version = event.version
    event.save()
    event.save(update_fields=["title"])  # a partial save of other fields leaves the version alone
    event.refresh_from_db()
    assert event.version == version + 1


def test_the_service_refuses_a_stale_version(svm):
    event = svm.events.get(kind="signed")
    arguments = {
        "partnership": svm,
        "kind": event.kind,
        "date_text": event.date_text,
        "municipalities": list(event.municipalities.all()),
        "uid": event.uid,
    }
    services.event_record(**arguments, title="Eerste", expected_version=event.version)
    with pytest.raises(ValidationError) as refused:
        services.event_record(**arguments, title="Tweede", expected_version=event.version)
    assert refused.value.code == "stale"
    assert Event.objects.get(pk=event.pk).title == "Eerste"


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_saves_one_wins_one_is_refused():
    """Two real transactions at once: the row lock makes the second wait, then see the new version."""
    partnership = Partnership.objects.create(name="Gelijktijdig", slug="gelijktijdig")
    start = threading.Barrier(2)
    outcome = {}

    def edit(name: str, pause: float) -> None:
        try:
            copy = Partnership.objects.get(pk=partnership.pk)
            start.wait()
            with transaction.atomic():
                services.version_lock(instance=copy, expected_version=1)
                copy.summary = name
                threading.Event().wait(pause)  # hold the lock a while
                copy.save()
            outcome[name] = "saved"
        except ValidationError as error:
            outcome[name] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(name, pause)) for name, pause in (("a", 0.5), ("b", 0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcome.values()) == ["saved", "stale"]
    partnership.refresh_from_db()
    winner = next(name for name, result in outcome.items() if result == "saved")
    assert (partnership.summary, partnership.version) == (winner, 2)

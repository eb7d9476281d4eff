"""Notifications through a real Celery worker on the local Redis, and with the broker down."""

import contextlib
import os
import time

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
from django.urls import reverse

from cooperation import services, tasks
from cooperation.models import Event, Notification, Partnership, Subscription
from portal.celery import app

pytestmark = pytest.mark.django_db(transaction=True)

SVM = "schiedam-vlaardingen-maassluis-ict"
CLOSED_PORT = "redis://127.0.0.1:1/0"


@contextlib.contextmanager
def broker_at(url: str):
    """Point the app's publishing at another broker URL (its connection pools are rebuilt).

    Celery reads CELERY_BROKER_URL from the environment before its configuration, so both change.
    """
    original_conf, original_env = app.conf.broker_url, os.environ.get("CELERY_BROKER_URL")

    def reset():
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = os.environ["CELERY_BROKER_URL"] = url
    reset()
    try:
        assert app.connection_for_write().port == 1 or url != CLOSED_PORT
        yield
    finally:
        app.conf.broker_url = original_conf
        if original_env is None:
            del os.environ["CELERY_BROKER_URL"]
        else:
            os.environ["CELERY_BROKER_URL"] = original_env
        reset()


def follow_svm() -> tuple:
    user = get_user_model().objects.create_user("volger", "volger@example.org", "correct-horse-battery-9")
    partnership = Partnership.objects.get(slug=SVM)
    Subscription.objects.create(user=user, partnership=partnership)
    return user, partnership


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("Timed out waiting for the worker.")


def test_notification_is_sent_once_by_the_worker_even_when_delivered_twice(seeded_transactional, celery_worker_thread):
    user, partnership = follow_svm()

    with transaction.atomic():
        event = services.event_record(
            partnership=partnership, kind="evaluated", date_text="2026-23", municipalities=[], status="planned"
        )
        notification = Notification.objects.get(event=event)
        assert notification.status == Notification.Status.PENDING  # not before the commit
    # The on_commit hook queued it once; a redelivery (acks_late after a lost worker) and a sweep add two more.
    tasks.send_notification.delay(notification.pk)
    tasks.send_notification.delay(notification.pk)
    celery_worker_thread.wait_idle()

    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["volger@example.org"]
    assert "najaar 2026" in mail.outbox[0].body


def admin_add_event(client, partnership) -> tuple:
    data = {
        "partnership": partnership.pk,
        "kind": "evaluated",
        "status": "planned",
        "date_text": "2026-10",
        "role": "participant",
        "visibility": "public",
        "title": "Evaluatie van de samenwerking",
        "participants-TOTAL_FORMS": "0",
        "participants-INITIAL_FORMS": "0",
        "participants-MIN_NUM_FORMS": "0",
        "participants-MAX_NUM_FORMS": "1000",
        "_save": "Opslaan",
    }
    started = time.monotonic()
    response = client.post(reverse("admin:cooperation_event_add"), data)
    return response, time.monotonic() - started


def test_with_redis_down_saving_an_event_is_quick_and_the_sweep_sends_it_later(seeded_transactional, client):
    _user, partnership = follow_svm()
    admin = get_user_model().objects.create_superuser("beheerder", "beheerder@example.org", "correct-horse-battery-9")
    client.force_login(admin)

    with broker_at(CLOSED_PORT):
        response, seconds = admin_add_event(client, partnership)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert seconds < 2.0
    event = Event.objects.get(title="Evaluatie van de samenwerking")
    notification = Notification.objects.get(event=event)
    assert notification.status == Notification.Status.PENDING
    assert notification.enqueued_at is None
    assert mail.outbox == []

    # The broker is back: the periodic sweep hands the row to a real worker, which sends it.
    from celery.contrib.testing.worker import start_worker

    app.control.purge()
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        assert tasks.sweep_outbox.delay() is not None
        wait_for(lambda: Notification.objects.get(pk=notification.pk).status == Notification.Status.SENT)
    assert len(mail.outbox) == 1
    assert "Evaluatie van de samenwerking" in mail.outbox[0].body


def test_with_redis_down_the_sweep_itself_gives_up_quickly(seeded_transactional):
    _user, partnership = follow_svm()
    with broker_at(CLOSED_PORT):
        services.event_record(
            partnership=partnership, kind="evaluated", date_text="2026-10", municipalities=[], status="planned"
        )
        notification = Notification.objects.get()
        assert notification.enqueued_at is None  # the hand-over after the commit failed
        started = time.monotonic()
        assert tasks.sweep_outbox() == 0
        assert time.monotonic() - started < 2.0
    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING and notification.enqueued_at is None

"""Following, the outbox, the e-mail itself and unsubscribing (without a worker: tasks run in-process)."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.core import mail, signing
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cooperation import notifications, services, tasks
from cooperation.models import Event, Notification, Pillar, Subscription


@pytest.fixture
def follower(db):
    return get_user_model().objects.create_user("volger", "volger@example.org", "correct-horse-battery-9")


def record_event(partnership, **values):
    defaults = {"kind": "evaluated", "date_text": "2026-23", "municipalities": [], "status": Event.Status.PLANNED}
    return services.event_record(partnership=partnership, **{**defaults, **values})


def test_follower_of_the_partnership_gets_one_dutch_email_with_link_and_unsubscribe(
    follower, svm, municipality, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL_BASE_URL = "https://portal.example.nl"
    schiedam = municipality("Schiedam")
    Subscription.objects.create(user=follower, partnership=svm)
    Subscription.objects.create(user=follower, municipality=schiedam)  # a second reason: still one e-mail

    with django_capture_on_commit_callbacks() as callbacks:
        event = record_event(svm, municipalities=[schiedam], title="Evaluatie van de ontvlechting")
    assert len(callbacks) == 1
    (notification,) = Notification.objects.filter(event=event)
    assert notification.status == Notification.Status.PENDING

    assert tasks.send_notification(notification.pk) == "sent"
    (message,) = mail.outbox
    assert message.to == ["volger@example.org"]
    assert "najaar 2026" in message.subject and "geëvalueerd" in message.subject.lower()
    link = f"https://portal.example.nl/partnerships/{svm.slug}/#event-{event.uid}"
    assert link in message.body
    assert "Beste volger" in message.body and "Gemeenten: Schiedam" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f'href="{link}"' in html and 'lang="nl"' in html
    assert "https://portal.example.nl/unsubscribe/" in message.body
    assert message.extra_headers["List-Unsubscribe"].startswith("<https://portal.example.nl/unsubscribe/")
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT and notification.sent_at


def test_followers_of_a_municipality_or_pillar_hear_of_its_events_others_do_not(svm, msg, municipality, follower):
    User = get_user_model()
    pillar_follower = User.objects.create_user("pijler", "pijler@example.org", "correct-horse-battery-9")
    bystander = User.objects.create_user("ander", "ander@example.org", "correct-horse-battery-9")
    Subscription.objects.create(user=follower, municipality=municipality("Vlaardingen"))
    Subscription.objects.create(user=pillar_follower, pillar=Pillar.objects.get(code="joint_procurement"))
    Subscription.objects.create(user=bystander, partnership=msg)

    event = record_event(
        svm, municipalities=[municipality("Vlaardingen")], pillar=Pillar.objects.get(code="joint_procurement")
    )

    assert set(Notification.objects.filter(event=event).values_list("recipient__username", flat=True)) == {
        "volger",
        "pijler",
    }


def test_internal_event_goes_to_active_followers_marked_internal_and_not_again_when_made_public(follower, svm):
    inactive = get_user_model().objects.create_user(
        "oud", "oud@example.org", "correct-horse-battery-9", is_active=False
    )
    Subscription.objects.create(user=follower, partnership=svm)
    Subscription.objects.create(user=inactive, partnership=svm)

    event = record_event(svm, visibility="internal")
    (notification,) = Notification.objects.filter(event=event)
    assert notification.recipient == follower
    assert "intern" in notification.body_text

    record_event(svm, visibility="public", uid=event.uid)  # changed to public: the follower knew already
    assert Notification.objects.filter(event=event).count() == 1


def test_a_change_that_is_not_a_publication_sends_nothing(follower, svm):
    event = record_event(svm)
    Subscription.objects.create(user=follower, partnership=svm)
    record_event(svm, uid=event.uid, title="Nieuwe titel")
    assert not Notification.objects.filter(event=event).exists()


def test_a_follower_who_arrives_before_the_event_is_made_public_hears_of_it_then(follower, svm):
    other = get_user_model().objects.create_user("later", "later@example.org", "correct-horse-battery-9")
    event = record_event(svm, visibility="internal")
    Subscription.objects.create(user=other, partnership=svm)
    record_event(svm, visibility="public", uid=event.uid)
    assert list(Notification.objects.filter(event=event).values_list("recipient__username", flat=True)) == ["later"]


def test_delivering_twice_sends_one_email(follower, svm):
    Subscription.objects.create(user=follower, partnership=svm)
    (notification,) = Notification.objects.filter(event=record_event(svm))
    assert notifications.deliver(notification.pk) == "sent"
    assert notifications.deliver(notification.pk) == "skipped"
    assert len(mail.outbox) == 1


def test_smtp_failure_is_retried_with_backoff_then_marked_failed(follower, svm, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2  # nothing listens
    settings.NOTIFICATION_MAX_RETRIES = 2
    Subscription.objects.create(user=follower, partnership=svm)
    (notification,) = Notification.objects.filter(event=record_event(svm))

    # In-process execution retries at once instead of after the countdown.
    from portal.celery import app

    app.conf.task_eager_propagates = False
    try:
        result = tasks.send_notification.apply(args=[notification.pk])
    finally:
        app.conf.task_eager_propagates = True

    assert result.get() == "failed"
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.attempts == 3
    assert "ConnectionRefusedError" in notification.last_error
    for retries in range(8):  # exponential from 30 s, with up to a quarter of jitter, capped at an hour
        base = min(3600, 30 * 2**retries)
        assert all(base <= tasks.backoff_seconds(retries) <= base * 5 // 4 for _ in range(20))


def test_sweep_hands_over_only_rows_never_queued_or_queued_long_ago(follower, svm, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the sweep's hand-over runs the sending task in-process
    from portal.celery import app

    app.conf.task_always_eager = True
    try:
        Subscription.objects.create(user=follower, partnership=svm)
        (notification,) = Notification.objects.filter(event=record_event(svm))
        assert notifications.sweep() == 1
    finally:
        app.conf.task_always_eager = False
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notifications.sweep() == 0
    assert len(mail.outbox) == 1


def test_a_subscription_has_exactly_one_target(follower, svm, municipality):
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(user=follower, partnership=svm, municipality=municipality("Schiedam"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(user=follower)
    Subscription.objects.create(user=follower, partnership=svm)
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(user=follower, partnership=svm)


class TestFollowing:
    def test_follow_and_unfollow_from_the_partnership_page(self, client, follower, svm):
        client.force_login(follower)
        page = client.get(svm.get_absolute_url()).content.decode()
        assert "Schiedam-Vlaardingen-Maassluis" in page or svm.name in page
        assert f'value="{svm.slug}"' in page and reverse("cooperation:follow") in page

        response = client.post(
            reverse("cooperation:follow"), {"kind": "partnership", "key": svm.slug, "next": svm.get_absolute_url()}
        )
        assert response.status_code == 302 and response["Location"] == svm.get_absolute_url()
        subscription = Subscription.objects.get(user=follower)
        assert subscription.partnership == svm
        client.post(reverse("cooperation:follow"), {"kind": "partnership", "key": svm.slug})
        assert Subscription.objects.filter(user=follower).count() == 1

        page = client.get(reverse("cooperation:subscriptions")).content.decode()
        assert svm.name in page and reverse("cooperation:unfollow", args=[subscription.pk]) in page

        client.post(reverse("cooperation:unfollow", args=[subscription.pk]))
        assert not Subscription.objects.filter(user=follower).exists()

    def test_follow_a_municipality_and_a_pillar(self, client, follower, municipality):
        client.force_login(follower)
        client.post(reverse("cooperation:follow"), {"kind": "municipality", "key": "gm0606"})
        client.post(reverse("cooperation:follow"), {"kind": "pillar", "key": "knowledge_sharing"})
        assert {str(s.target) for s in Subscription.objects.filter(user=follower)} == {
            "Schiedam",
            str(Pillar.objects.get(code="knowledge_sharing")),
        }
        assert client.post(reverse("cooperation:follow"), {"kind": "pillar", "key": "nonsense"}).status_code == 404

    def test_anonymous_visitors_see_no_follow_button_and_cannot_follow(self, client, svm):
        assert reverse("cooperation:follow") not in client.get(svm.get_absolute_url()).content.decode()
        response = client.post(reverse("cooperation:follow"), {"kind": "partnership", "key": svm.slug})
        assert response.status_code == 302 and "login" in response["Location"]
        assert not Subscription.objects.exists()

    def test_nobody_unfollows_someone_elses_subscription(self, client, follower, svm):
        subscription = Subscription.objects.create(user=follower, partnership=svm)
        other = get_user_model().objects.create_user("ander", "ander@example.org", "correct-horse-battery-9")
        client.force_login(other)
        assert client.post(reverse("cooperation:unfollow", args=[subscription.pk])).status_code == 404
        assert Subscription.objects.filter(pk=subscription.pk).exists()

    def test_the_follow_button_costs_one_query_and_only_when_signed_in(self, client, follower, svm):
        def subscription_queries() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(svm.get_absolute_url()).status_code == 200
            return sum('"cooperation_subscription"' in query["sql"] for query in queries.captured_queries)

        assert subscription_queries() == 0
        client.force_login(follower)
        assert subscription_queries() == 1


class TestUnsubscribeToken:
    def test_valid_token_unsubscribes_without_logging_in(self, client, follower, svm, municipality):
        kept = Subscription.objects.create(user=follower, municipality=municipality("Maassluis"))
        stopped = Subscription.objects.create(user=follower, partnership=svm)
        token = notifications.make_unsubscribe_token(user=follower, subscriptions=[stopped])
        url = reverse("cooperation:unsubscribe", args=[token])

        page = client.get(url)
        assert page.status_code == 200 and svm.name in page.content.decode()
        assert Subscription.objects.filter(pk=stopped.pk).exists()  # a GET (mail scanner) changes nothing

        assert client.post(url).status_code == 200
        assert list(Subscription.objects.filter(user=follower)) == [kept]
        assert client.post(url).status_code == 200  # twice is harmless

    def test_tampered_token_is_refused(self, client, follower, svm):
        stopped = Subscription.objects.create(user=follower, partnership=svm)
        token = notifications.make_unsubscribe_token(user=follower, subscriptions=[stopped])
        other = get_user_model().objects.create_user("ander", "ander@example.org", "correct-horse-battery-9")
        victim = Subscription.objects.create(user=other, partnership=svm)
        forged = signing.dumps({"u": other.pk, "s": [victim.pk], "r": False}, salt="wrong-salt", compress=True)
        for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), forged, "nonsense"):
            response = client.post(reverse("cooperation:unsubscribe", args=[bad]))
            assert response.status_code == 400
            assert "niet geldig" in response.content.decode()
        assert Subscription.objects.count() == 2

    def test_expired_token_is_refused(self, client, follower, svm, settings, monkeypatch):
        settings.UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS = 90
        subscription = Subscription.objects.create(user=follower, partnership=svm)
        token = notifications.make_unsubscribe_token(user=follower, subscriptions=[subscription])
        url = reverse("cooperation:unsubscribe", args=[token])
        now = time.time()
        monkeypatch.setattr(signing.time, "time", lambda: now + 89 * 86400)
        assert client.get(url).status_code == 200
        monkeypatch.setattr(signing.time, "time", lambda: now + 91 * 86400)
        response = client.post(url)
        assert response.status_code == 400 and "verlopen" in response.content.decode()
        assert Subscription.objects.filter(pk=subscription.pk).exists()


class TestBursts:
    """Events published together (an import) reach each follower as one message."""

    def make_events(self, partnership, count):
        return [
            Event.objects.create(
                partnership=partnership, kind="evaluated", date_text=f"20{10 + n}", title=f"Rapport {n}"
            )
            for n in range(count)
        ]

    def test_a_burst_is_one_summary_per_follower_capped_with_a_link(self, follower, svm, settings):
        settings.PORTAL_BASE_URL = "https://portal.example.nl"
        Subscription.objects.create(user=follower, partnership=svm)
        events = self.make_events(svm, notifications.BURST_LISTED + 5)

        assert notifications.events_notify_followers([event.pk for event in events]) == 1
        (summary,) = Notification.objects.all()
        assert summary.kind == Notification.Kind.BURST and summary.event is None
        assert summary.subject == f"{len(events)} nieuwe gebeurtenissen in {svm.name}"
        assert summary.body_text.count("#event-") == notifications.BURST_LISTED
        assert "En nog 5 andere." in summary.body_text
        assert f"Bekijk alles: https://portal.example.nl/partnerships/{svm.slug}/" in summary.body_text
        assert "/unsubscribe/" in summary.body_text

    def test_the_same_burst_recorded_twice_queues_one_message(self, follower, svm):
        Subscription.objects.create(user=follower, partnership=svm)
        ids = [event.pk for event in self.make_events(svm, 3)]
        notifications.events_notify_followers(ids)
        notifications.events_notify_followers(list(reversed(ids)))
        assert Notification.objects.count() == 1

    def test_a_follower_concerned_by_one_event_of_a_burst_gets_that_events_email(self, follower, svm, msg):
        Subscription.objects.create(user=follower, partnership=msg)
        events = self.make_events(svm, 3) + self.make_events(msg, 1)
        notifications.events_notify_followers([event.pk for event in events])
        (notification,) = Notification.objects.all()
        assert notification.kind == Notification.Kind.EVENT and notification.event == events[-1]

    def test_each_follower_hears_only_of_what_they_follow(self, follower, svm, msg, municipality):
        other = get_user_model().objects.create_user("ander", "ander@example.org", "correct-horse-battery-9")
        Subscription.objects.create(user=follower, partnership=svm)
        Subscription.objects.create(user=other, municipality=municipality("Maastricht"))
        svm_events, msg_events = self.make_events(svm, 2), self.make_events(msg, 2)
        for event in msg_events:
            event.municipalities.set([municipality("Maastricht")])
        notifications.events_notify_followers([event.pk for event in svm_events + msg_events])
        mine, theirs = Notification.objects.get(recipient=follower), Notification.objects.get(recipient=other)
        assert all(f"#event-{event.uid}" in mine.body_text for event in svm_events)
        assert not any(f"#event-{event.uid}" in mine.body_text for event in msg_events)
        assert all(f"#event-{event.uid}" in theirs.body_text for event in msg_events)

    def test_a_burst_costs_a_fixed_number_of_queries(self, follower, svm, django_assert_num_queries):
        Subscription.objects.create(user=follower, partnership=svm)
        ids = [event.pk for event in self.make_events(svm, 30)]
        # exists, subscriptions, events, their municipalities, their partnerships' pillars, outbox rows
        # already written, insert, read back the saved rows
        with django_assert_num_queries(8):
            notifications.events_notify_followers(ids)

"""The daily digest for editors: planned events starting in 30 days, and the agreements that the
register shows as "ending" (the same state and window, PORTAL_AGREEMENT_ENDING_DAYS: 365 days)."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from cooperation import notifications, services, tasks
from cooperation.models import Agreement, EditorProfile, Event, Notification

TODAY = datetime.date(2026, 8, 15)


def days(n: int) -> str:
    return (TODAY + datetime.timedelta(days=n)).isoformat()


def make_editor(username, *municipalities, receives_reminders=True):
    user = get_user_model().objects.create_user(username, f"{username}@example.org", "correct-horse-battery-9")
    profile = EditorProfile.objects.create(user=user, receives_reminders=receives_reminders)
    profile.municipalities.set(municipalities)
    return user


def planned(partnership, date_text, title, status=Event.Status.PLANNED):
    return services.event_record(
        partnership=partnership, kind="evaluated", date_text=date_text, municipalities=[], status=status, title=title
    )


@pytest.fixture
def editor(municipality):
    return make_editor("redacteur", municipality("Schiedam"))


@pytest.mark.parametrize(
    ("date_text", "due"),
    [
        (days(0), True),  # today
        (days(30), True),  # the last day of the window
        (days(31), False),
        (days(-1), False),  # already begun
        ("2026-23", True),  # autumn 2026 starts on 1 September, within the window
        ("2026-09", True),
        ("2026-10", False),  # starts after the window
        ("2026", False),  # started before the window (1 January)
        ("2026-09-14/2026-12", True),  # range starting within the window
        ("", False),  # unknown date
    ],
)
def test_planned_event_is_due_when_its_range_starts_within_30_days(svm, municipality, date_text, due):
    event = planned(svm, date_text, "Evaluatie")
    found = notifications.reminders_due(municipality_ids=[municipality("Schiedam").pk], today=TODAY)
    assert (event in found.events) is due


def test_autumn_is_no_longer_due_once_it_has_begun(svm, municipality):
    event = planned(svm, "2026-23", "Evaluatie")
    ids = [municipality("Schiedam").pk]
    assert event in notifications.reminders_due(municipality_ids=ids, today=datetime.date(2026, 8, 2)).events
    assert event not in notifications.reminders_due(municipality_ids=ids, today=datetime.date(2026, 8, 1)).events
    assert event not in notifications.reminders_due(municipality_ids=ids, today=datetime.date(2026, 9, 2)).events


def test_only_planned_events_are_due(svm, municipality):
    planned(svm, days(5), "Gebeurd", status=Event.Status.HAPPENED)
    planned(svm, days(5), "Afgeblazen", status=Event.Status.ABANDONED)
    assert not notifications.reminders_due(municipality_ids=[municipality("Schiedam").pk], today=TODAY).events


@pytest.mark.parametrize(("offset", "due"), [(0, True), (364, True), (365, True), (366, False), (-1, False)])
def test_agreement_is_due_when_its_term_ends_within_the_registers_window(svm, municipality, offset, due):
    agreement = Agreement.objects.create(
        partnership=svm,
        kind=Agreement.Kind.FRAMEWORK_CONTRACT,
        title="Mantelovereenkomst ICT",
        date_text=(TODAY - datetime.timedelta(days=4 * 365)).isoformat(),
        term_start=TODAY - datetime.timedelta(days=4 * 365),
        term_end=TODAY + datetime.timedelta(days=offset),
        term_note="vier jaar",
    )
    found = notifications.reminders_due(municipality_ids=[municipality("Schiedam").pk], today=TODAY)
    assert (agreement in found.agreements) is due
    state = dict(Agreement.objects.for_audience(True).with_state(TODAY).values_list("pk", "state"))[agreement.pk]
    assert (state == "ending") is due


def test_the_digest_and_the_register_agree_on_what_is_ending(svm, municipality, settings):
    """A terminated agreement, or one with no signing recorded, is not "ending" in the register,
    so the digest leaves it out; the window is the register's setting."""
    signed = {"date_text": "2020-01-01", "term_end": TODAY + datetime.timedelta(days=100)}
    ending = Agreement.objects.create(partnership=svm, kind="other", title="Loopt af", **signed)
    terminated = Agreement.objects.create(partnership=svm, kind="other", title="Opgezegd", **signed)
    services.event_record(
        partnership=svm, kind="termination_decided", date_text="2021", municipalities=[], agreement=terminated
    )
    unsigned = Agreement.objects.create(
        partnership=svm, kind="other", title="Niet ondertekend", term_end=signed["term_end"]
    )
    schiedam = [municipality("Schiedam").pk]
    found = notifications.reminders_due(municipality_ids=schiedam, today=TODAY).agreements
    assert ending in found and terminated not in found and unsigned not in found
    settings.PORTAL_AGREEMENT_ENDING_DAYS = 99
    assert ending not in notifications.reminders_due(municipality_ids=schiedam, today=TODAY).agreements


def test_each_editor_gets_one_digest_for_their_own_municipalities(svm, msg, municipality, editor):
    maastricht_editor = make_editor("maastricht", municipality("Maastricht"))
    make_editor("stil", municipality("Vlaardingen"), receives_reminders=False)
    planned(svm, days(10), "Evaluatie SVM")
    Agreement.objects.create(
        partnership=svm,
        kind=Agreement.Kind.FRAMEWORK_CONTRACT,
        title="Mantel SVM",
        date_text="2022-10-15",
        term_end=TODAY.replace(month=10),
    )

    queued = notifications.queue_reminders(today=TODAY)

    assert [n.recipient for n in queued] == [editor]  # nothing due for Maastricht; Vlaardingen opted out
    digest = queued[0]
    assert "Evaluatie SVM" in digest.body_text and "Mantel SVM" in digest.body_text
    assert "25 augustus 2026" in digest.body_text and "15 oktober 2026" in digest.body_text
    assert "/unsubscribe/" in digest.body_text and "<ul>" in digest.body_html
    assert maastricht_editor not in [n.recipient for n in queued]

    assert notifications.queue_reminders(today=TODAY) == []  # the same day again: nothing new
    assert Notification.objects.filter(kind=Notification.Kind.DIGEST).count() == 1
    assert len(notifications.queue_reminders(today=TODAY + datetime.timedelta(days=1))) == 1


def test_the_beat_task_queues_and_the_digest_is_sent_once(svm, editor, django_capture_on_commit_callbacks):
    planned(svm, (datetime.date.today() + datetime.timedelta(days=3)).isoformat(), "Evaluatie SVM")
    with django_capture_on_commit_callbacks() as callbacks:
        assert tasks.send_reminders() == 1
        assert tasks.send_reminders() == 0
    assert len(callbacks) == 1
    digest = Notification.objects.get(kind=Notification.Kind.DIGEST)
    tasks.send_notification(digest.pk)
    tasks.send_notification(digest.pk)
    (message,) = mail.outbox
    assert message.to == ["redacteur@example.org"] and "Evaluatie SVM" in message.body


def test_the_unsubscribe_link_in_a_digest_stops_reminders(client, svm, editor):
    planned(svm, days(3), "Evaluatie SVM")
    (digest,) = notifications.queue_reminders(today=TODAY)
    path = digest.unsubscribe_url.removeprefix("http://127.0.0.1:8000")
    assert path.startswith(reverse("cooperation:unsubscribe", args=["x"])[: -len("x/")])
    assert client.post(path).status_code == 200
    editor.editor_profile.refresh_from_db()
    assert editor.editor_profile.receives_reminders is False
    assert notifications.queue_reminders(today=TODAY + datetime.timedelta(days=1)) == []

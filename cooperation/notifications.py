"""E-mail to followers and editors, through an outbox that loses nothing.

Every e-mail is first written as a `Notification` row in the transaction of
what caused it (an event published, a day's reminders). After the commit a
Celery task is asked to send it; if the broker is down the row stays pending
and the periodic sweep (`tasks.sweep_outbox`) hands it over later. Sending
locks the row and marks it sent in one transaction, so a task delivered twice
sends one e-mail.

The e-mails are in Dutch (the portal's audience), in plain text and HTML.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from . import dates, queue, timeline
from .models import Agreement, EditorProfile, Event, Notification, Partnership, Subscription, Visibility
from .permissions import can_view_internal

logger = logging.getLogger(__name__)

EMAIL_LANGUAGE = "nl"
UNSUBSCRIBE_SALT = "cooperation.unsubscribe"
EVENT_WINDOW_DAYS = 30
# Agreements are due when the register says they are "ending": the window is the register's own
# (`timeline.agreement_ending_days()`, setting PORTAL_AGREEMENT_ENDING_DAYS), so the two never disagree.
# A pending row handed to the broker this long ago without being sent is handed over again.
REENQUEUE_AFTER = datetime.timedelta(minutes=10)


def absolute_url(path: str) -> str:
    return f"{settings.PORTAL_BASE_URL}{path}"


# Unsubscribe tokens ---------------------------------------------------------------------------


def make_unsubscribe_token(*, user, subscriptions: Iterable[Subscription] = (), reminders: bool = False) -> str:
    """A signed, timestamped token naming the user and what to stop: some subscriptions, or reminders."""
    payload = {"u": user.pk, "s": sorted(s.pk for s in subscriptions), "r": reminders}
    return signing.dumps(payload, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> dict:
    """The payload of a token; raises signing.SignatureExpired or signing.BadSignature."""
    max_age = datetime.timedelta(days=settings.UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS)
    payload = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=max_age)
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise signing.BadSignature("Malformed unsubscribe token.")
    return payload


@transaction.atomic
def unsubscribe(*, payload: dict) -> int:
    """Stop what a token names; returns how many things were stopped. Idempotent."""
    stopped, _details = Subscription.objects.filter(user_id=payload["u"], pk__in=payload.get("s", [])).delete()
    if payload.get("r"):
        stopped += EditorProfile.objects.filter(user_id=payload["u"], receives_reminders=True).update(
            receives_reminders=False
        )
    return stopped


def unsubscribe_url(token: str) -> str:
    with translation.override(EMAIL_LANGUAGE):
        return absolute_url(reverse("cooperation:unsubscribe", args=[token]))


# Subscriptions --------------------------------------------------------------------------------


def subscription_target(*, kind: str, key: str):
    """The partnership (slug), municipality (CBS code) or pillar (code) a follow form names, or None."""
    from .models import Municipality, Partnership, Pillar

    if kind == "partnership":
        return Partnership.objects.filter(slug=key).first()
    if kind == "municipality":
        return Municipality.objects.filter(cbs_code=key.upper()).first()
    if kind == "pillar":
        return Pillar.objects.filter(code=key).first()
    return None


def subscription_for(user, target) -> Subscription | None:
    """The user's subscription to a partnership, municipality or pillar, if any: 1 query."""
    if not getattr(user, "is_authenticated", False):
        return None
    field = target._meta.model_name
    return Subscription.objects.filter(user=user, **{field: target}).first()


@transaction.atomic
def subscription_create(*, user, target) -> Subscription:
    """Follow a partnership, municipality or pillar; following twice is one subscription."""
    field = target._meta.model_name
    existing = Subscription.objects.filter(user=user, **{field: target}).first()
    if existing:
        return existing
    subscription = Subscription(user=user, **{field: target})
    subscription.full_clean()
    subscription.save()
    return subscription


# Event notifications --------------------------------------------------------------------------


def is_public(event: Event) -> bool:
    return event.visibility == Visibility.PUBLIC and event.partnership.visibility == Visibility.PUBLIC


def followers(event: Event) -> dict:
    """Active users with an e-mail address who follow the event's partnership, one of its
    municipalities or pillars, mapped to the subscriptions that make them follow it. 2 queries."""
    municipality_ids = [m.pk for m in event.municipalities.all()]
    pillar_ids = list(event.partnership.pillars.values_list("pk", flat=True))
    if event.pillar_id:
        pillar_ids.append(event.pillar_id)
    subscriptions = (
        Subscription.objects.filter(
            Q(partnership=event.partnership_id) | Q(municipality__in=municipality_ids) | Q(pillar__in=pillar_ids),
            user__is_active=True,
        )
        .exclude(user__email="")
        .select_related("user", "partnership", "municipality", "pillar")
        .order_by("user_id", "pk")
    )
    by_user: dict = {}
    for subscription in subscriptions:
        by_user.setdefault(subscription.user, []).append(subscription)
    return by_user


def is_publication(*, created: bool, previous_visibility: str | None, event: Event) -> bool:
    """An event is published when it is created, or when it is changed to public."""
    return created or (previous_visibility != Visibility.PUBLIC and event.visibility == Visibility.PUBLIC)


def _render(template: str, context: dict) -> tuple[str, str]:
    with translation.override(EMAIL_LANGUAGE):
        return (
            render_to_string(f"email/{template}.txt", context),
            render_to_string(f"email/{template}.html", context),
        )


def event_notify_followers(*, event: Event, created: bool, previous_visibility: str | None) -> list[Notification]:
    """Write one outbox row per follower who may see the event and has not yet heard of it,
    and hand them to the worker after the commit. Call it, inside the transaction that saves
    the event, whenever an event is created or changed; it decides whether that is a publication.

    Internal events go only to followers who may see internal data (`can_view_internal`).
    """
    if not is_publication(created=created, previous_visibility=previous_visibility, event=event):
        return []
    already = set(Notification.objects.filter(event=event).values_list("recipient_id", flat=True))
    public = is_public(event)
    rows = [
        _event_row(event, user, subscriptions)
        for user, subscriptions in followers(event).items()
        if user.pk not in already and (public or can_view_internal(user))
    ]
    return _queue(rows)


def _event_row(event: Event, user, subscriptions: list[Subscription]) -> Notification:
    """The e-mail about one published event, for one follower."""
    with translation.override(EMAIL_LANGUAGE):
        date_in_words = dates.render_date(event.date_text)
        kind = event.get_kind_display()
        status = event.get_status_display()
        municipalities = ", ".join(m.name for m in event.municipalities.all())
    token = make_unsubscribe_token(user=user, subscriptions=subscriptions)
    context = {
        "user": user,
        "event": event,
        "partnership": event.partnership,
        "kind": kind,
        "status": status,
        "date_in_words": date_in_words,
        "municipalities": municipalities,
        "link": absolute_url(event.get_absolute_url()),
        "internal": not is_public(event),
        "subscriptions": subscriptions,
        "unsubscribe_url": unsubscribe_url(token),
        "subscriptions_url": absolute_url(reverse("cooperation:subscriptions")),
    }
    text, html = _render("event_published", context)
    return Notification(
        key=f"event:{event.uid}:user:{user.pk}",
        kind=Notification.Kind.EVENT,
        recipient=user,
        email=user.email,
        event=event,
        subject=f"{event.partnership.name}: {kind.lower()} ({date_in_words})"[:300],
        body_text=text,
        body_html=html,
        unsubscribe_url=context["unsubscribe_url"],
    )


NOTIFY_CHUNK = 1000
# A summary of a burst lists this many events; the rest are counted, with a link to see them.
BURST_LISTED = 20


def events_notify_followers(event_ids: Sequence[int]) -> int:
    """E-mail about events published together (an import, a save of several events): each
    follower hears of the burst ONCE. A follower concerned by one of the events gets that
    event's e-mail (`event_notify_followers`); one concerned by several gets one summary
    listing the first BURST_LISTED of them (the rest counted) with a link. Returns how many
    rows were queued.

    The summary's key names the events and the recipient, so recording the same burst twice
    queues one e-mail (the outbox's once-only guarantee). 1 query when nobody follows
    anything; otherwise the subscriptions, then per 1,000 events: the followed ones with their
    municipalities and pillars (3 queries), and the outbox rows already written for them.
    """
    event_ids = list(event_ids)
    followed = Subscription.objects.filter(user__is_active=True).exclude(user__email="")
    if not event_ids or not followed.exists():
        return 0
    subscriptions = list(followed.select_related("user", "partnership", "municipality", "pillar").order_by("pk"))
    by_recipient: dict[int, tuple] = {}
    for start in range(0, len(event_ids), NOTIFY_CHUNK):
        events = (
            Event.objects.filter(pk__in=event_ids[start : start + NOTIFY_CHUNK])
            .filter(
                Q(partnership__in=followed.values("partnership"))
                | Q(municipalities__in=followed.values("municipality"))
                | Q(pillar__in=followed.values("pillar"))
                | Q(partnership__pillars__in=followed.values("pillar"))
            )
            .distinct()
            .select_related("partnership")
            .prefetch_related("municipalities", "partnership__pillars")
            .order_by("pk")
        )
        events = list(events)
        already = set(Notification.objects.filter(event__in=events).values_list("event_id", "recipient_id").order_by())
        for event in events:
            public = is_public(event)
            municipality_ids = {m.pk for m in event.municipalities.all()}
            pillar_ids = {p.pk for p in event.partnership.pillars.all()} | {event.pillar_id}
            pillar_ids.discard(None)
            for subscription in subscriptions:
                user = subscription.user
                if not (
                    subscription.partnership_id == event.partnership_id
                    or subscription.municipality_id in municipality_ids
                    or subscription.pillar_id in pillar_ids
                ):
                    continue
                if (event.pk, user.pk) in already or not (public or can_view_internal(user)):
                    continue
                _user, concerned, reasons = by_recipient.setdefault(user.pk, (user, {}, {}))
                concerned[event.pk] = event
                reasons[subscription.pk] = subscription
    rows = []
    for user, concerned, reasons in by_recipient.values():
        events = sorted(concerned.values(), key=_burst_order)
        if len(events) == 1:
            rows.append(_event_row(events[0], user, list(reasons.values())))
        else:
            rows.append(_burst_row(events, user, list(reasons.values())))
    return len(_queue(rows))


def _burst_order(event: Event) -> tuple:
    return (event.partnership.name, event.date_lower or datetime.date.max, event.pk)


def _burst_row(events: list[Event], user, subscriptions: list[Subscription]) -> Notification:
    """One e-mail summarising several published events for one follower."""
    partnerships = {event.partnership_id: event.partnership for event in events}
    with translation.override(EMAIL_LANGUAGE):
        listed = [
            {
                "partnership": event.partnership.name,
                "kind": event.get_kind_display(),
                "title": event.title,
                "date_in_words": dates.render_date(event.date_text),
                "status": event.get_status_display(),
                "internal": not is_public(event),
                "link": absolute_url(event.get_absolute_url()),
            }
            for event in events[:BURST_LISTED]
        ]
        subject = translation.ngettext(
            "%(count)s new events in %(partnership)s",
            "%(count)s new events in %(partnerships)s partnerships",
            len(partnerships),
        ) % {"count": len(events), "partnership": events[0].partnership.name, "partnerships": len(partnerships)}
    single = next(iter(partnerships.values())) if len(partnerships) == 1 else None
    link = absolute_url(single.get_absolute_url() if single else reverse("cooperation:home"))
    token = make_unsubscribe_token(user=user, subscriptions=subscriptions)
    context = {
        "user": user,
        "count": len(events),
        "listed": listed,
        "more": len(events) - len(listed),
        "partnership_count": len(partnerships),
        "single": single,
        "link": link,
        "subscriptions": subscriptions,
        "unsubscribe_url": unsubscribe_url(token),
        "subscriptions_url": absolute_url(reverse("cooperation:subscriptions")),
    }
    text, html = _render("events_published", context)
    digest = hashlib.sha256(",".join(str(event.uid) for event in sorted(events, key=lambda e: str(e.uid))).encode())
    return Notification(
        key=f"burst:{digest.hexdigest()[:40]}:user:{user.pk}",
        kind=Notification.Kind.BURST,
        recipient=user,
        email=user.email,
        subject=subject[:300],
        body_text=text,
        body_html=html,
        unsubscribe_url=context["unsubscribe_url"],
    )


def _queue(rows: list[Notification]) -> list[Notification]:
    """Insert the rows (a key already present is skipped) and enqueue them after the commit."""
    if not rows:
        return []
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    saved = list(Notification.objects.filter(key__in=[row.key for row in rows], status=Notification.Status.PENDING))
    ids = [row.pk for row in saved]
    transaction.on_commit(lambda: enqueue(ids), robust=True)
    return saved


def enqueue(ids: Sequence[int]) -> int:
    """Hand pending rows to the broker; stops at the first failure (the sweep retries later).

    Publishing gives up quickly when the broker is down (bounded retries, see settings),
    so a request that saved an event is never held up by it. Returns how many were handed over.
    """
    from kombu.exceptions import OperationalError

    handed = 0
    for pk in ids:
        try:
            queue.enqueue("send_notification", pk)
        except (OperationalError, OSError) as error:
            logger.warning("Broker unavailable, %d notification(s) left for the sweep: %s", len(ids) - handed, error)
            break
        Notification.objects.filter(pk=pk, status=Notification.Status.PENDING).update(enqueued_at=timezone.now())
        handed += 1
    return handed


def sweep(*, now: datetime.datetime | None = None) -> int:
    """Enqueue pending rows never handed to the broker, or handed over long ago and still unsent."""
    now = now or timezone.now()
    ids = list(
        Notification.objects.filter(status=Notification.Status.PENDING)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REENQUEUE_AFTER))
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    return enqueue(ids)


def deliver(notification_id: int) -> str:
    """Send one pending notification and mark it sent, in one transaction holding its row lock.

    Returns "sent", or "skipped" when it is already sent, failed or being sent by another
    worker (so a task delivered twice sends one e-mail). Sending errors propagate.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, status=Notification.Status.PENDING)
            .first()
        )
        if notification is None:
            return "skipped"
        headers = {"List-Unsubscribe": f"<{notification.unsubscribe_url}>"} if notification.unsubscribe_url else {}
        message = EmailMultiAlternatives(
            subject=notification.subject,
            body=notification.body_text,
            to=[notification.email],
            headers=headers,
        )
        message.attach_alternative(notification.body_html, "text/html")
        message.send()
        notification.status = Notification.Status.SENT
        notification.sent_at = timezone.now()
        notification.attempts = F("attempts") + 1
        notification.save(update_fields=["status", "sent_at", "attempts"])
    return "sent"


def record_failure(notification_id: int, error: Exception, *, final: bool) -> None:
    Notification.objects.filter(pk=notification_id, status=Notification.Status.PENDING).update(
        attempts=F("attempts") + 1,
        last_error=f"{type(error).__name__}: {error}"[:2000],
        status=Notification.Status.FAILED if final else Notification.Status.PENDING,
    )


# Reminders ------------------------------------------------------------------------------------


@dataclass
class Reminders:
    events: list[Event]
    agreements: list[Agreement]

    def __bool__(self) -> bool:
        return bool(self.events or self.agreements)


def reminders_due(*, municipality_ids: Iterable[int], today: datetime.date) -> Reminders:
    """Planned events whose date range starts in the next 30 days (today included) and agreements
    that the register shows as "ending" today (`AgreementQuerySet.with_state`, the same state as
    `timeline.agreement_state`: signed, not terminated, term ending within
    PORTAL_AGREEMENT_ENDING_DAYS), in partnerships in which one of the municipalities takes part
    (as member or in any event). Editors are staff: internal ones included. 2 queries."""
    ids = list(municipality_ids)
    concerns = Q(partnership__memberships__municipality__in=ids) | Q(partnership__events__municipalities__in=ids)
    events = (
        Event.objects.filter(
            concerns | Q(municipalities__in=ids),
            status=Event.Status.PLANNED,
            date_lower__gte=today,
            date_lower__lte=today + datetime.timedelta(days=EVENT_WINDOW_DAYS),
        )
        .select_related("partnership")
        .distinct()
        .order_by("date_lower", "partnership__name", "pk")
    )
    concerned = Partnership.objects.filter(concerns_partnership(ids)).values("pk")
    agreements = (
        Agreement.objects.for_audience(True)
        .in_state(timeline.AGREEMENT_ENDING, today)
        .filter(partnership__in=concerned)
        .select_related("partnership")
        .order_by("term_end", "partnership__name", "pk")
    )
    return Reminders(events=list(events), agreements=list(agreements))


def concerns_partnership(ids: list[int]) -> Q:
    """Partnerships in which one of these municipalities takes part (as member or in any event)."""
    return Q(memberships__municipality__in=ids) | Q(events__municipalities__in=ids)


def queue_reminders(*, today: datetime.date) -> list[Notification]:
    """One digest per editor (who wants reminders) per day, if anything is due. Idempotent:
    running it twice on a day queues nothing new. 1 query per editor plus 2 per editor with
    municipalities."""
    User = get_user_model()
    editors = (
        User.objects.filter(is_active=True, editor_profile__receives_reminders=True)
        .exclude(email="")
        .prefetch_related("editor_profile__municipalities")
        .order_by("pk")
    )
    done = set(
        Notification.objects.filter(kind=Notification.Kind.DIGEST, key__endswith=f":{today.isoformat()}").values_list(
            "recipient_id", flat=True
        )
    )
    rows = []
    with transaction.atomic():
        for user in editors:
            if user.pk in done:
                continue
            municipalities = list(user.editor_profile.municipalities.all())
            if not municipalities:
                continue
            due = reminders_due(municipality_ids=[m.pk for m in municipalities], today=today)
            if not due:
                continue
            with translation.override(EMAIL_LANGUAGE):
                events = [
                    {
                        "event": event,
                        "kind": event.get_kind_display(),
                        "date_in_words": dates.render_date(event.date_text),
                        "link": absolute_url(event.get_absolute_url()),
                    }
                    for event in due.events
                ]
                agreements = [
                    {
                        "agreement": agreement,
                        "kind": agreement.get_kind_display(),
                        "link": absolute_url(agreement.get_absolute_url()),
                    }
                    for agreement in due.agreements
                ]
            token = make_unsubscribe_token(user=user, reminders=True)
            context = {
                "user": user,
                "today": today,
                "municipalities": municipalities,
                "events": events,
                "agreements": agreements,
                "event_days": EVENT_WINDOW_DAYS,
                "agreement_days": timeline.agreement_ending_days(),
                "unsubscribe_url": unsubscribe_url(token),
            }
            text, html = _render("reminder_digest", context)
            rows.append(
                Notification(
                    key=f"digest:user:{user.pk}:{today.isoformat()}",
                    kind=Notification.Kind.DIGEST,
                    recipient=user,
                    email=user.email,
                    subject=f"Herinnering ICT-samenwerking: gepland en aflopend ({today:%d-%m-%Y})",
                    body_text=text,
                    body_html=html,
                    unsubscribe_url=context["unsubscribe_url"],
                )
            )
        return _queue(rows)

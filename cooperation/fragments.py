"""Cached rendering of expensive page fragments, never stale after an edit.

The partnership page's status, membership chart and table and timeline are derived from all
its events; they are rendered once and kept in the cache (`CACHE_URL`: local memory by
default, Redis in production). The key holds what the fragment depends on:

- `Partnership.updated_at`, which moves on every change of the partnership, its events,
  their municipalities, sources, participants and people, and its agreements
  (`derived.rebuild_derived()` and the signal receivers below);
- whether the reader may see internal events, the language and today's date (the chart
  draws "today");
- a digest of the code and templates that render it, so a deploy never serves old markup.

The key is read from the partnership row the page fetches anyway, so a cached page costs no
extra query. Receivers only touch timestamps (one UPDATE); they hold no domain logic.

Pages that read across the register (home, the partnership list, a municipality page, the API
lists) are keyed on `register_stamp()`: one cheap query whose value changes whenever any
partnership changes (the latest `updated_at`) or is deleted (the count). Their counts, the ids of
each page and their expensive fragments are cached under it (`RegisterPaginator`,
`register_key()`), so their cost no longer grows with the register, and an edit anywhere
invalidates them at once.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db.models import Count, Max, QuerySet, prefetch_related_objects
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import get_language

FRAGMENT_TIMEOUT = 24 * 3600
_DEPENDENCIES = [
    "cooperation/timeline.py",
    "cooperation/dates.py",
    "cooperation/views.py",
    "cooperation/map_views.py",
    "cooperation/geo.py",
    "cooperation/templatetags/portal.py",
    "templates/cooperation/_partnership_body.html",
    "templates/cooperation/_chart.html",
    "templates/cooperation/_event.html",
    "templates/cooperation/_event_list.html",
    "templates/cooperation/_partnership_item.html",
    "templates/cooperation/_pagination.html",
    "templates/cooperation/_municipality_body.html",
    "templates/cooperation/_map_partnership.html",
    "templates/cooperation/_map_municipality.html",
    "templates/cooperation/_map_country.html",
    "templates/cooperation/_map_defs.html",
    "templates/cooperation/_map_inset.html",
    "locale/nl/LC_MESSAGES/django.mo",
]


@functools.cache
def code_version() -> str:
    """A digest of the code, templates and translations that render the fragments."""
    digest = hashlib.sha256()
    for name in _DEPENDENCIES:
        path = Path(settings.BASE_DIR) / name
        digest.update(path.read_bytes() if path.exists() else name.encode())
    return digest.hexdigest()[:12]


def partnership_key(partnership, *, internal: bool, today: datetime.date, part: str = "page") -> str:
    stamp = partnership.updated_at.isoformat() if partnership.updated_at else "new"
    audience = "internal" if internal else "public"
    return f"fragment:partnership-{part}:{partnership.pk}:{stamp}:{audience}:{get_language()}:{today}:{code_version()}"


def cached(key: str, build):
    """The cached value for `key`, built (and stored) when missing."""
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, FRAGMENT_TIMEOUT)
    return value


def partnership_cards(partnerships, *, internal: bool, today: datetime.date) -> list[str]:
    """The list entry of each partnership (`_partnership_item.html`), each rendered once per change
    of it; one cache round trip for the lot. Only for entries not in the cache are pillars and
    memberships read: 2 queries, or none when all are cached."""
    from .models import list_prefetches

    partnerships = list(partnerships)
    keys = [partnership_key(p, internal=internal, today=today, part="card") for p in partnerships]
    found = cache.get_many(keys)
    to_render = [(key, p) for key, p in zip(keys, partnerships, strict=True) if key not in found]
    prefetch_related_objects([p for _key, p in to_render], *list_prefetches())
    missing = {
        key: render_to_string("cooperation/_partnership_item.html", {"partnership": partnership})
        for key, partnership in to_render
    }
    if missing:
        cache.set_many(missing, FRAGMENT_TIMEOUT)
    return [found.get(key) or missing[key] for key in keys]


def register_stamp() -> str:
    """1 query: changes whenever a partnership, or anything shown with one, changes or is deleted."""
    from .models import Partnership

    figures = Partnership.objects.aggregate(count=Count("pk"), latest=Max("updated_at"))
    latest = figures["latest"].isoformat() if figures["latest"] else "none"
    return f"{figures['count']}:{latest}"


def register_key(name: str, *parts, stamp: str, internal: bool) -> str:
    """The cache key of something read across the register, for one audience and language."""
    audience = "internal" if internal else "public"
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:24]
    return f"register:{name}:{stamp}:{audience}:{get_language()}:{code_version()}:{digest}"


class RegisterPaginator(Paginator):
    """A paginator for querysets that counts and finds each page's rows once per state of the register.

    The count and the ids of a page are cached under the queryset's SQL (which holds the filters
    and the audience) and `register_stamp()`; the page's objects are then fetched by id, by
    `fetch(ids)` when given (a queryset without the filters, which need not run again), else by
    the queryset itself. Cold: stamp, count, ids, objects (+ prefetches); warm: stamp and objects
    (+ prefetches).
    """

    def __init__(self, object_list, per_page, *, stamp: str | None = None, fetch=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self._stamp = stamp
        self._fetch = fetch or (lambda ids: self.object_list.filter(pk__in=ids).order_by())

    def _cached(self, parts: tuple, build):
        try:
            sql, params = self.object_list.query.sql_with_params()
        except EmptyResultSet:  # a filter that can match nothing: nothing to count or cache
            return build()
        if self._stamp is None:
            self._stamp = register_stamp()
        digest = hashlib.sha256(repr((sql, params, parts)).encode()).hexdigest()[:32]
        return cached(f"register:query:{self._stamp}:{digest}", build)

    @cached_property
    def count(self) -> int:
        return self._cached(("count",), self.object_list.count)

    def page(self, number):
        page = super().page(number)
        ids = self._cached(
            ("page", page.number, self.per_page), lambda: list(page.object_list.values_list("pk", flat=True))
        )
        found = {obj.pk: obj for obj in self._fetch(ids)} if ids else {}
        page.object_list = [found[pk] for pk in ids if pk in found]
        return page


def touch(partnerships) -> None:
    """Mark partnerships (a queryset or ids) as changed, so their cached fragments are not used again."""
    from .models import Partnership

    if not isinstance(partnerships, QuerySet):
        partnerships = Partnership.objects.filter(pk__in=list(partnerships))
    partnerships.update(updated_at=timezone.now())


def _of_events(event_ids: Iterable[int]):
    from .models import Partnership

    return Partnership.objects.filter(events__pk__in=list(event_ids))


def _event_changed(sender, instance, **kwargs):
    touch([instance.partnership_id])


def _event_relation_changed(sender, instance, action, reverse, pk_set, **kwargs):
    from .models import Event

    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if isinstance(instance, Event):
        touch([instance.partnership_id])
    elif pk_set:
        touch(_of_events(pk_set))
    else:  # a municipality or source loses all its events: touch them before they go
        touch(_of_events(instance.events.values_list("pk", flat=True)))


def _pillars_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """A partnership's pillars: its list entry and the pillar filter depend on them."""
    from .models import Partnership

    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if isinstance(instance, Partnership):
        touch([instance.pk])
    elif pk_set:
        touch(pk_set)
    else:
        touch(instance.partnerships.all())


def _participant_changed(sender, instance, **kwargs):
    touch(_of_events([instance.event_id]))


def _agreement_changed(sender, instance, **kwargs):
    touch([instance.partnership_id])


def _cited_changed(sender, instance, **kwargs):
    """A source, municipality or pillar shown in the timelines of the partnerships that mention it."""
    from .models import Municipality, Partnership, Pillar

    if isinstance(instance, Pillar):
        touch(Partnership.objects.filter(events__pillar=instance))
    elif isinstance(instance, Municipality):
        touch(Partnership.objects.filter(events__municipalities=instance))
    else:
        touch(Partnership.objects.filter(events__sources=instance))


def _person_changed(sender, instance, **kwargs):
    from .models import Partnership

    touch(Partnership.objects.filter(events__participants__person=instance))


def connect() -> None:
    """Connect the receivers (from CooperationConfig.ready)."""
    from .models import Agreement, Event, Municipality, Participant, Partnership, Person, Pillar, Source

    for signal in (post_save, post_delete):
        signal.connect(_event_changed, sender=Event, dispatch_uid=f"fragments-event-{signal}")
        signal.connect(_participant_changed, sender=Participant, dispatch_uid=f"fragments-participant-{signal}")
        signal.connect(_agreement_changed, sender=Agreement, dispatch_uid=f"fragments-agreement-{signal}")
    for model in (Source, Municipality, Pillar):
        post_save.connect(_cited_changed, sender=model, dispatch_uid=f"fragments-{model.__name__}-save")
        pre_delete.connect(_cited_changed, sender=model, dispatch_uid=f"fragments-{model.__name__}-delete")
    post_save.connect(_person_changed, sender=Person, dispatch_uid="fragments-person-save")
    for through in (Event.municipalities.through, Event.sources.through):
        m2m_changed.connect(_event_relation_changed, sender=through, dispatch_uid=f"fragments-{through.__name__}")
    m2m_changed.connect(_pillars_changed, sender=Partnership.pillars.through, dispatch_uid="fragments-pillars")

"""Cached rendering of expensive page fragments, never stale after an edit.

Django's cache API (`CACHE_URL`: local memory by default, Redis in production) holds rendered
fragments and the figures of register-wide pages. Every key is made by `key()`, and names what
the value depends on:

- the audience (public or staff, `permissions.can_view_internal`) and the language;
- for one partnership, when it last changed for that audience (`Partnership.changed_at`: the
  public or staff "changed at" that `derived.rebuild()` moves, the public one only when what the
  public sees changed), and today's date (the chart draws "today");
- for pages read across the register (home, lists, a municipality page, the API lists),
  `register_stamp(internal)`: one cheap query whose value changes whenever any partnership
  changes for that audience (the latest "changed at") or is deleted (the count).

Every write goes through `services`, which ends in `derived.rebuild()`, so the stamps move on
every change without signal receivers. The release (`settings.PORTAL_RELEASE`, by default a
digest of the code, templates and translations) is the cache's KEY_PREFIX, so a deploy never
serves old markup. A cached page costs no extra query: the stamp is read from the partnership row
the page fetches anyway.
"""

from __future__ import annotations

import datetime
import hashlib

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db.models import Count, Max, prefetch_related_objects
from django.template.loader import render_to_string
from django.utils.functional import cached_property
from django.utils.translation import get_language

from .models import Partnership, audience_of, list_prefetches

FRAGMENT_TIMEOUT = 24 * 3600


def key(name: str, *parts, internal: bool) -> str:
    """The one cache key helper: a name, the audience, the language and a digest of `parts`
    (stamps, ids, page numbers). The release prefix is added by the cache (KEY_PREFIX)."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"{name}:{audience_of(internal)}:{get_language()}:{digest}"


def partnership_key(partnership, *, internal: bool, today: datetime.date, part: str = "page") -> str:
    """The key of a fragment of one partnership, as read for this audience (`for_audience`)."""
    stamp = partnership.changed_at.isoformat() if partnership.changed_at else "new"
    return key(f"partnership-{part}", partnership.pk, stamp, today, internal=internal)


def cached(cache_key: str, build):
    """The cached value for `cache_key`, built (and stored) when missing."""
    value = cache.get(cache_key)
    if value is None:
        value = build()
        cache.set(cache_key, value, FRAGMENT_TIMEOUT)
    return value


def partnership_cards(partnerships, *, internal: bool, today: datetime.date) -> list[str]:
    """The list entry of each partnership (`_partnership_item.html`), each rendered once per change
    of it for this audience; one cache round trip for the lot. Only for entries not in the cache
    are pillars and memberships (this audience's copy) read: 2 queries, or none when all are cached."""
    partnerships = list(partnerships)
    keys = [partnership_key(p, internal=internal, today=today, part="card") for p in partnerships]
    found = cache.get_many(keys)
    to_render = [(k, p) for k, p in zip(keys, partnerships, strict=True) if k not in found]
    prefetch_related_objects([p for _key, p in to_render], *list_prefetches(internal))
    missing = {
        k: render_to_string("cooperation/_partnership_item.html", {"partnership": partnership})
        for k, partnership in to_render
    }
    if missing:
        cache.set_many(missing, FRAGMENT_TIMEOUT)
    return [found.get(k) or missing[k] for k in keys]


def register_stamp(internal: bool) -> str:
    """1 query (an index-only scan): changes whenever a partnership this audience sees changes
    for it, or is deleted."""
    partnerships = Partnership.objects.for_audience(internal)
    changed = partnerships.audience_field("changed_at")
    figures = partnerships.order_by().aggregate(count=Count("pk"), latest=Max(changed))
    latest = figures["latest"].isoformat() if figures["latest"] else "none"
    return f"{figures['count']}:{latest}"


def register_key(name: str, *parts, stamp: str, internal: bool) -> str:
    """The cache key of something read across the register, for one audience and language."""
    return key(f"register-{name}", stamp, *parts, internal=internal)


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
        internal = getattr(self.object_list, "audience", None) == audience_of(True)
        if self._stamp is None:
            self._stamp = register_stamp(internal)
        return cached(register_key("query", sql, params, parts, stamp=self._stamp, internal=internal), build)

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

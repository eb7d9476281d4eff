"""Template helpers that say how old the evidence of a "now" claim is, and what an event's status is
in words (issue 15). The words come from `timeline`; today is the local date of the request."""

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import dates, timeline

register = template.Library()


@register.filter
def event_status_words(event) -> str:
    """ "afgeblazen", "gepland", "gepland voor december 2021, niet bevestigd", or "" when it happened."""
    return timeline.event_status_words(event.status, event.fuzzy_date, timezone.localdate())


@register.simple_tag
def now_claim(label, state: str, evidence) -> str:
    """`label` as it stands, or qualified by the date of its evidence when that is older than the
    horizon: "actief volgens de laatste bron (27 oktober 2010)"."""
    return timeline.as_of(str(label), state, evidence, timezone.localdate())


@register.filter
def current_status(partnership) -> str:
    """The status to state today (`timeline.current_status`): "unknown" on old evidence."""
    return timeline.current_status(partnership.status, partnership.last_evidence, timezone.localdate())


@register.filter
def is_stale(evidence) -> bool:
    return timeline.is_stale(evidence, timezone.localdate())


@register.filter
def date_recorded(text: str) -> str:
    """The date in words, or "datum niet vastgelegd" when no source gives one (not "unknown")."""
    return dates.render_date(text) if text else _("date not recorded")

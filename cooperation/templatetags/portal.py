"""Small template helpers: language links, dates in words, money, the language of content."""

from decimal import Decimal

from django import template
from django.urls import translate_url
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import get_language

from .. import dates, documents

register = template.Library()


@register.simple_tag(takes_context=True)
def url_in_language(context, language: str) -> str:
    """The current page in another language (Dutch unprefixed, English under /en/)."""
    request = context["request"]
    return translate_url(request.get_full_path(), language)


# The register's content (names of partnerships, summaries, titles, event texts, sources) is
# written in Dutch; on an English page it is marked as such (WCAG 3.1.2). Names of municipalities
# and people are proper names and need no marking.
CONTENT_LANGUAGE = "nl"


def _foreign_page() -> bool:
    return not (get_language() or CONTENT_LANGUAGE).startswith(CONTENT_LANGUAGE)


@register.filter
def dutch(value):
    """Dutch content inline: `{{ event.title|dutch }}` is wrapped in <span lang="nl"> on an
    English page (escaped as usual), left as it is on a Dutch one."""
    if value in (None, "") or not _foreign_page():
        return value
    return format_html('<span lang="{}">{}</span>', CONTENT_LANGUAGE, value)


@register.filter
def target_name(target):
    """The name of what a subscription follows: a partnership's (Dutch) name marked as Dutch; a
    municipality's is a proper name, a pillar's is in the page's language."""
    return dutch(str(target)) if target._meta.model_name == "partnership" else str(target)


@register.simple_tag
def dutch_lang() -> str:
    """` lang="nl"` on an English page, for an element holding Dutch content: `<p{% dutch_lang %}>`."""
    return format_html(' lang="{}"', CONTENT_LANGUAGE) if _foreign_page() else ""


@register.filter
def date_words(text: str) -> str:
    return dates.render_date(text)


@register.filter
def date_iso(text: str) -> str:
    return dates.iso_datetime_attr(text)


@register.filter
def euros(amount: Decimal | None) -> str:
    if amount is None:
        return ""
    return "€\u00a0" + number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, "")


@register.filter
def role_label(value: str) -> str:
    from ..models import Event

    return Event.Role(value).label


@register.filter
def status_label(value: str) -> str:
    from ..models import Event

    return Event.Status(value).label


@register.filter
def membership_label(value: str) -> str:
    from ..models import Membership

    return Membership.State(value).label


@register.filter
def partnership_status_label(value: str) -> str:
    from ..models import Partnership

    return Partnership.Status(value).label


@register.filter
def document_format(content_type: str) -> str:
    """The kind of file a document is, in words (PDF, Word, ...)."""
    return documents.format_name(content_type)

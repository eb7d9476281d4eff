"""Small template helpers: language links, dates in words, money."""

from decimal import Decimal

from django import template
from django.urls import translate_url
from django.utils.formats import number_format

from .. import dates, documents

register = template.Library()


@register.simple_tag(takes_context=True)
def url_in_language(context, language: str) -> str:
    """The current page in another language (Dutch unprefixed, English under /en/)."""
    request = context["request"]
    return translate_url(request.get_full_path(), language)


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

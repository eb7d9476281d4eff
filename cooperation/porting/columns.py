"""The column contract of the import formats: columns, cell parsing, widgets and lookups.

CBS codes, partnership slugs, pillar and kind codes and event uids identify
everything, never database ids, so a file exported by one portal imports into
another. The columns are a public contract: docs/import-formats.md (format
version 1.2).
"""

from __future__ import annotations

import datetime
import difflib
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db.models.base import ModelState
from django.utils.translation import gettext as _
from import_export import widgets

from .. import dates, timeline
from ..models import CBS_CODE_PATTERN, Municipality, Partnership, Pillar
from .vocabulary import normalise, vocabulary

# 1.1: the optional column source_kind in the events format; a file of version 1 imports unchanged.
# 1.2: the agreements format, and the optional column agreement_uid in the events format; files of
# version 1 and 1.1 import unchanged.
FORMAT_VERSION = "1.2"

# In the order a register is imported (events cite agreements, which belong to partnerships).
COLUMNS = {
    "municipalities": ("cbs_code", "name", "province", "existed_from", "existed_until", "merged_into"),
    "partnerships": ("slug", "name", "legal_form", "pillars", "summary", "visibility", "last_verified"),
    "agreements": (
        "uid",
        "partnership",
        "kind",
        "title",
        "description",
        "date",
        "term_start",
        "term_end",
        "term_note",
        "visibility",
    ),
    "events": (
        "uid",
        "partnership",
        "kind",
        "date",
        "status",
        "municipalities",
        "title",
        "description",
        "pillar",
        "decided_by",
        "reason",
        "cost_eur",
        "cost_note",
        "source_url",
        "source_title",
        "source_publisher",
        "source_author",
        "source_date",
        "source_kind",
        "visibility",
        "agreement_uid",
    ),
}
# Columns a file may leave out (added in a later minor version of the format).
OPTIONAL_COLUMNS = {
    "municipalities": (),
    "partnerships": (),
    "agreements": (),
    "events": ("source_kind", "agreement_uid"),
}
SOURCE_COLUMNS = ("source_url", "source_title", "source_publisher", "source_author", "source_date", "source_kind")
LIST_SEPARATOR = ";"
# Rows kept for the preview; the counts always cover the whole file.
PREVIEW_ROWS = 1000
WRITE_BATCH = 2000

DUTCH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$")
CBS_CODE = re.compile(CBS_CODE_PATTERN)
SPACE = re.compile(r"\s")


def quoted(values) -> str:
    return ", ".join(f"“{value}”" for value in values)


def closest(value: str, candidates: dict[str, str], limit: int = 3) -> list[str]:
    """Labels of the candidates whose key is most like `value` (keys are matched in lower case)."""
    lowered = {key.lower(): label for key, label in candidates.items()}
    return [lowered[key] for key in difflib.get_close_matches(value.lower(), list(lowered), n=limit, cutoff=0.6)]


def parse_day(value: str) -> datetime.date | None:
    """An ISO day (2024-01-31), a Dutch one (31-01-2024) or one in words (31 januari 2024,
    31 January 2024: `dates.read_date`); empty is None; raises ValueError."""
    value = (value or "").strip()
    if not value:
        return None
    match = DUTCH_DAY.match(value)
    try:
        if match:
            return datetime.date(int(match[3]), int(match[2]), int(match[1]))
        return datetime.date.fromisoformat(value)
    except ValueError:
        pass
    try:
        parsed = dates.read_date(value)
    except ValidationError:
        parsed = None
    if parsed is not None and parsed.precision == dates.Precision.DAY and parsed.text[-1].isdigit():
        return parsed.lower
    raise ValueError(
        _("“%(value)s” is not a day; write it as 2024-01-31, 31-01-2024 or 31 January 2024.") % {"value": value}
    )


def parse_amount(value: str) -> Decimal | None:
    """Euros as Dutch or English spreadsheets write them: 125000, 125000.50, 125.000,50, € 1.250."""
    if not value:
        return None
    text = value.replace("€", "").replace("EUR", "").replace(" ", "").replace("\u00a0", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif text.count(".") > 1 or re.fullmatch(r"-?\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        raise ValueError(
            _("“%(value)s” is not an amount in euros; write it as 125000 or 125000,50.") % {"value": value}
        )
    return amount.quantize(Decimal("0.01"))


def render_amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


_DEFAULTS: dict[type, tuple[dict, list]] = {}


def new_instance(model):
    """A new, unsaved instance with its field defaults, as `model()` makes it but three times faster.

    Model.__init__ works field by field (30 µs for an Event); an import of
    100,000 rows copies the default values instead (tests/test_import.py checks
    the result equals `model()`). There are no pre_init/post_init receivers in
    this project to skip.
    """
    if model not in _DEFAULTS:
        fields = model._meta.concrete_fields
        dynamic = [(f.attname, f.default) for f in fields if f.has_default() and callable(f.default)]
        static = {f.attname: f.get_default() for f in fields if not (f.has_default() and callable(f.default))}
        _DEFAULTS[model] = static, dynamic
    static, dynamic = _DEFAULTS[model]
    instance = model.__new__(model)
    values = instance.__dict__
    values.update(static)
    values["_state"] = ModelState()
    for attname, default in dynamic:
        values[attname] = default()
    return instance


def is_web_address(url: str) -> bool:
    """http(s), a host, no spaces: what a source needs (Django's URLValidator costs 0.1 ms a call)."""
    if len(url) > 500 or SPACE.search(url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and "." in host


def split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]


# --- Widgets: text <-> value, with the lookups of the running import -----------------


class TextWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        return (value or "").strip()

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class ChoiceWidget(TextWidget):
    """A coded column: its code, its Dutch or English label or a common variant (see `vocabulary`);
    empty gives the default (or is an error without one)."""

    def __init__(self, column: str, default: str | None = None, blank: bool = False):
        self.column = column
        self.default = default
        self.blank = blank
        self.words = None  # the running import's vocabulary (RegisterResource.before_import)

    def clean(self, value, row=None, **kwargs):
        # Looking the vocabulary up per cell asks for the active language each time (a thread-local).
        words = self.words if self.words is not None else vocabulary(self.column)
        if not value or not value.strip():
            if self.default is not None:
                return self.default
            if self.blank:
                return ""
            raise ValueError(_("Empty; give one of: %(codes)s.") % {"codes": words.described()})
        code = words.code(value)
        if code is None:
            raise words.unknown(value.strip())
        return code


class DayWidget(TextWidget):
    def clean(self, value, row=None, **kwargs):
        return parse_day(value)

    def render(self, value, obj=None, **kwargs):
        return value.isoformat() if value else ""


class AmountWidget(TextWidget):
    def clean(self, value, row=None, **kwargs):
        return parse_amount(value)

    def render(self, value, obj=None, **kwargs):
        return render_amount(value)


class EdtfWidget(TextWidget):
    """An EDTF date or one in words ("najaar 2016", "27 oktober 2010": `dates.read_date`), stored as
    EDTF; the EDTF parse is cached in `dates`, phrases are read only when the text is not EDTF."""

    def clean(self, value, row=None, **kwargs):
        try:
            return dates.read_date(value).text
        except ValidationError as error:
            raise ValueError(" ".join(error.messages)) from None


class LookupForeignKeyWidget(widgets.ForeignKeyWidget):
    """A foreign key by code or slug, looked up in the import's cache instead of one query per row."""

    def __init__(self, model, field, lookup_name: str):
        super().__init__(model, field=field)
        self.lookup_name = lookup_name
        self.resource = None

    def clean(self, value, row=None, **kwargs):
        if not value:
            return None
        return self.resource.lookups.find(self.lookup_name, value)

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else getattr(value, self.field)


class LookupManyToManyWidget(widgets.ManyToManyWidget):
    """Codes separated by ";", looked up in the import's cache; rendered sorted, so exports are stable."""

    def __init__(self, model, field, lookup_name: str):
        super().__init__(model, separator=LIST_SEPARATOR, field=field)
        self.lookup_name = lookup_name
        self.resource = None

    def clean(self, value, row=None, **kwargs):
        found, unknown = [], []
        for code in split_list(value or ""):
            try:
                item = self.resource.lookups.find(self.lookup_name, code)
            except ValueError as error:
                unknown.append(str(error))
                continue
            if item not in found:
                found.append(item)
        if unknown:
            raise ValueError(" ".join(unknown))
        return found

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return LIST_SEPARATOR.join(sorted(getattr(item, self.field) for item in value.all()))


# --- Lookups: everything a row refers to, loaded once -----------------------------------


class Lookups:
    """Caches of the objects that rows refer to, with "did you mean" suggestions."""

    def __init__(self):
        municipalities = list(Municipality.objects.select_related("merged_into"))
        self.municipalities = {m.cbs_code: m for m in municipalities}
        self.municipality_labels = {m.cbs_code: f"{m.name} ({m.cbs_code})" for m in municipalities}
        self.municipality_names = {m.name: f"{m.name} ({m.cbs_code})" for m in municipalities}
        self.codes = {m.pk: m.cbs_code for m in municipalities}
        self.partnerships = {p.slug: p for p in Partnership.objects.only("pk", "slug", "name", "visibility")}
        self.pillars = {p.code: p for p in Pillar.objects.all()}
        self.pillar_words = vocabulary("pillar")
        self.pillar_names = {normalise(name): p.code for p in self.pillars.values() for name in (p.name_nl, p.name_en)}
        self._refs: dict[int, timeline.MunicipalityRef] | None = None

    def find(self, name: str, value: str):
        value = value.strip()
        if name == "municipality":
            code = value.upper()
            if code in self.municipalities:
                return self.municipalities[code]
            if CBS_CODE.match(code) or code.startswith("GM") or code.isdigit():
                suggestions = closest(code, self.municipality_labels)
            else:
                suggestions = closest(value, self.municipality_names)
            message = _("Unknown CBS code “%(value)s”.") % {"value": value}
            if suggestions:
                message += " " + _("Closest municipalities: %(names)s.") % {"names": ", ".join(suggestions)}
            raise ValueError(message)
        if name == "partnership":
            if value in self.partnerships:
                return self.partnerships[value]
            message = _("Unknown partnership “%(value)s”: give the slug of an existing partnership.") % {"value": value}
            suggestions = closest(value, {slug: slug for slug in self.partnerships})
            if suggestions:
                message += " " + _("Did you mean %(slugs)s?") % {"slugs": quoted(suggestions)}
            raise ValueError(message)
        if name == "pillar":
            code = self.pillar_words.code(value) or self.pillar_names.get(normalise(value))
            if code in self.pillars:
                return self.pillars[code]
            raise self.pillar_words.unknown(value)
        raise LookupError(name)

    def municipality_ref(self, pk: int) -> timeline.MunicipalityRef:
        """What the domain rules need of a municipality (its name, end and successor)."""
        if self._refs is None:
            self._refs = {
                m.pk: timeline.MunicipalityRef(
                    pk=m.pk,
                    name=m.name,
                    existed_until=m.existed_until,
                    successor_name=m.merged_into.name if m.merged_into_id else "",
                )
                for m in self.municipalities.values()
            }
        return self._refs[pk]


# --- The shared machinery ---------------------------------------------------------------

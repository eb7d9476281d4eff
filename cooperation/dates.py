"""Uncertain dates: EDTF text in, bounds and words out.

An event's date is stored as the EDTF text an editor entered (normalised),
with derived lower/upper bounds (the strict bounds the `edtf` library gives)
and a precision. The forms we accept are the ones the sources need:

    2010-10-27   a day              2010-10-27 .. 2010-10-27
    2009-10      a month            2009-10-01 .. 2009-10-31
    2016-23      a season (autumn)  2016-09-01 .. 2016-11-30
    2017         a year             2017-01-01 .. 2017-12-31
    2010-12~     approximate        (bounds of the month; rendered "around")
    2019?        uncertain
    2016-09/2017 between two dates; either side may be ".." (open) or empty
                 (unknown)
    27-10-2010   the Dutch way of writing a day, normalised to 2010-10-27
    (empty)      unknown

Rendering follows the active language (Dutch by default).
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from edtf import parse_edtf
from edtf.parser.edtf_exceptions import EDTFParseException


class Precision(models.TextChoices):
    DAY = "day", gettext_lazy("day")
    MONTH = "month", gettext_lazy("month")
    SEASON = "season", gettext_lazy("season")
    YEAR = "year", gettext_lazy("year")
    INTERVAL = "interval", gettext_lazy("interval")
    UNKNOWN = "unknown", gettext_lazy("unknown")


ACCEPTED_FORMS = gettext_lazy(
    "Use an EDTF date: 2010-10-27 (a day), 2009-10 (a month), 2016-23 (autumn 2016; "
    "21 spring, 22 summer, 23 autumn, 24 winter), 2017 (a year), 2010-12~ (around), "
    "2019? (uncertain) or 2016-09/2017 (between two dates, '..' for open). "
    "27-10-2010 is accepted too. Leave empty when the date is unknown."
)

_SINGLE = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?(?P<qualifier>[~?%])?$")
_DUTCH_DAY = re.compile(r"^(?P<day>\d{1,2})-(?P<month>\d{1,2})-(?P<year>\d{4})$")
_SEASON_NAMES = {
    21: gettext_lazy("spring %(year)s"),
    22: gettext_lazy("summer %(year)s"),
    23: gettext_lazy("autumn %(year)s"),
    24: gettext_lazy("winter %(year)s"),
}


@dataclass(frozen=True)
class FuzzyDate:
    """A parsed date: normalised EDTF text, strict bounds and precision."""

    text: str
    lower: datetime.date | None
    upper: datetime.date | None
    precision: str


UNKNOWN = FuzzyDate("", None, None, Precision.UNKNOWN)


def _invalid(text: str, problem: str | None = None) -> ValidationError:
    message = _("“%(text)s” is not a date we can read.") % {"text": text}
    if problem:
        message = f"{message} {problem}"
    return ValidationError(f"{message} {ACCEPTED_FORMS}", code="invalid_date")


def normalise_date_text(text: str | None) -> str:
    """Strip the text and rewrite a Dutch day (27-10-2010) as EDTF (2010-10-27)."""
    text = (text or "").strip()
    match = _DUTCH_DAY.match(text)
    if match:
        day, month, year = (int(match[g]) for g in ("day", "month", "year"))
        try:
            datetime.date(year, month, day)
        except ValueError:
            raise _invalid(text, _("That day does not exist.")) from None
        return f"{year:04d}-{month:02d}-{day:02d}"
    return text


def _single_precision(part: str) -> str | None:
    match = _SINGLE.match(part)
    if not match:
        return None
    if match["day"]:
        return Precision.DAY
    if match["month"]:
        return Precision.SEASON if int(match["month"]) in _SEASON_NAMES else Precision.MONTH
    return Precision.YEAR


def _struct_to_date(value) -> datetime.date | None:
    if isinstance(value, float):  # edtf uses +/- infinity for open interval ends
        return None
    return datetime.date(*value[:3])


# The months of a season as edtf bounds it (its strict bounds stay within the year, winter too).
_SEASON_MONTHS = {21: (3, 5), 22: (6, 8), 23: (9, 11), 24: (12, 12)}


def _plain_bounds(part: str) -> tuple[datetime.date, datetime.date] | None:
    """The strict bounds of a day, month, season or year (qualified or not), without edtf.

    The edtf grammar costs milliseconds per parse, which a 100,000-row import or a
    timeline rebuild cannot afford; these forms have the same bounds as edtf gives
    them (tests/test_dates.py compares them). Impossible dates return None and go
    through edtf, which says what is wrong.
    """
    match = _SINGLE.match(part)
    if not match or int(match["year"]) < 1:
        return None
    year = int(match["year"])
    if not match["month"]:
        return datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    month = int(match["month"])
    if month in _SEASON_MONTHS and not match["day"] and not match["qualifier"]:
        first, last = _SEASON_MONTHS[month]
        return datetime.date(year, first, 1), datetime.date(year, last, calendar.monthrange(year, last)[1])
    if not 1 <= month <= 12:
        return None
    if not match["day"]:
        return datetime.date(year, month, 1), datetime.date(year, month, calendar.monthrange(year, month)[1])
    try:
        day = datetime.date(year, month, int(match["day"]))
    except ValueError:
        return None
    return day, day


@functools.lru_cache(maxsize=8192)
def parse_date(text: str | None) -> FuzzyDate:
    """Parse EDTF text (or a Dutch dd-mm-yyyy day) into a FuzzyDate.

    Raises ValidationError (code "invalid_date") that says what is accepted.
    Results are cached: a FuzzyDate is immutable and depends on the text alone.
    """
    text = normalise_date_text(text)
    if not text:
        return UNKNOWN
    if "/" in text:
        if text.count("/") != 1:
            raise _invalid(text)
        start, end = text.split("/")
        sides = [side for side in (start, end) if side not in ("", "..")]
        if not sides or any(_single_precision(side) is None for side in sides):
            raise _invalid(text)
        precision = Precision.INTERVAL
    else:
        precision = _single_precision(text)
        if precision is None:
            raise _invalid(text)
        plain = _plain_bounds(text)
        if plain is not None:
            return FuzzyDate(text, plain[0], plain[1], precision)
        if precision == Precision.DAY:
            # An impossible day; edtf would take 29 February of any year.
            raise _invalid(text, _("Check that the month and day exist."))
    try:
        parsed = parse_edtf(text)
    except EDTFParseException:
        raise _invalid(text, _("Check that the month and day exist.")) from None
    lower = _struct_to_date(parsed.lower_strict())
    upper = _struct_to_date(parsed.upper_strict())
    if precision == Precision.INTERVAL:
        # An empty side means "unknown"; edtf would fill in today's date there.
        start, end = text.split("/")
        lower = None if start in ("", "..") else parse_date(start).lower
        upper = None if end in ("", "..") else parse_date(end).upper
        if lower and upper and lower > upper:
            raise _invalid(text, _("The start lies after the end."))
    return FuzzyDate(text, lower, upper, precision)


def validate_date_text(text: str | None) -> None:
    """A model-field validator."""
    parse_date(text)


def _render_single(part: str) -> str:
    match = _SINGLE.match(part)
    year, month, day = match["year"], match["month"], match["day"]
    if day:
        words = date_format(datetime.date(int(year), int(month), int(day)), "j F Y")
    elif month and int(month) in _SEASON_NAMES:
        words = _SEASON_NAMES[int(month)] % {"year": year}
    elif month:
        words = date_format(datetime.date(int(year), int(month), 1), "F Y")
    else:
        words = year
    qualifier = match["qualifier"]
    if qualifier == "~":
        return _("around %(date)s") % {"date": words}
    if qualifier == "?":
        return _("%(date)s (uncertain)") % {"date": words}
    if qualifier == "%":
        return _("around %(date)s (uncertain)") % {"date": words}
    return words


def render_date(text: str | None, language: str | None = None) -> str:
    """The date in words in the active language (or `language`).

    "2016-23" -> "najaar 2016" / "autumn 2016"; empty -> "datum onbekend".
    Text that does not parse is returned as it is, so a page never fails.
    """
    if language:
        with translation.override(language):
            return render_date(text)
    text = (text or "").strip()
    if not text:
        return _("date unknown")
    try:
        text = parse_date(text).text
    except ValidationError:
        return text
    if "/" not in text:
        return _render_single(text)
    start, end = text.split("/")
    if start in ("", ".."):
        template = _("before %(end)s") if start == ".." else _("unknown – %(end)s")
        return template % {"end": _render_single(end)}
    if end in ("", ".."):
        template = _("from %(start)s") if end == ".." else _("%(start)s – unknown")
        return template % {"start": _render_single(start)}
    return _("%(start)s – %(end)s") % {"start": _render_single(start), "end": _render_single(end)}


def iso_datetime_attr(text: str | None) -> str:
    """A value for <time datetime="..."> when the date allows one, else ""."""
    text = (text or "").strip()
    match = _SINGLE.match(text)
    if not match or match["qualifier"]:
        return ""
    if match["month"] and int(match["month"]) in _SEASON_NAMES:
        return ""
    return text

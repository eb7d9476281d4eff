"""Uncertain dates: EDTF text in, bounds and words out.

An event's date is stored as the EDTF text an editor entered (normalised), with derived
lower/upper bounds (the strict bounds of the Extended Date/Time Format, as the `edtf` library
gives them; tests/test_dates.py proves it form by form) and a precision. Parsing is done here,
without the library: its grammar costs milliseconds per parse, which a 100,000-row import or a
timeline rebuild cannot afford. The accepted set (docs/import-formats.md, "Dates"):

    level 0
    2010-10-27       a day                        2010-10-27 .. 2010-10-27
    2009-10          a month                      2009-10-01 .. 2009-10-31
    2017             a year                       2017-01-01 .. 2017-12-31
    2004-02/2005     between two dates            2004-02-01 .. 2005-12-31
    level 1
    2016-23          a season (21 spring, 22 summer, 23 autumn, 24 winter)
                                                  2016-09-01 .. 2016-11-30
    2010-12~ 2019?   approximate, uncertain, both (%): bounds unchanged, said in words
    2004-06-11%
    201X 20XX        unspecified year digits      2010-01-01 .. 2019-12-31
    2004-XX          unspecified month (and day)  2004-01-01 .. 2004-12-31
    1985-04-XX       unspecified day              1985-04-01 .. 1985-04-30
    1985/.. ../1985  open end, open start; either side empty ("1985/", "/1985") = unknown
    level 2 (sub-year groupings only)
    2001-25..28      seasons (northern hemisphere), as 21..24
    2001-29..32      seasons (southern hemisphere)
    2001-33..36      quarters                     2001-34 = 2001-04-01 .. 2001-06-30
    2001-37..39      four-month periods
    2001-40, 2001-41 half-years
    and
    27-10-2010       the Dutch way of writing a day, normalised to 2010-10-27
    (empty)          unknown

Refused, each with a message that says why and what is accepted: a time of day (the portal
dates events to the day), years before 0001 or after 9999 (0000, -1985, Y170000002: the
bounds are dates, which run from year 1 to 9999) and the other level-2 features (sets,
exponents, significant digits, qualifiers or X inside a date).

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


class Precision(models.TextChoices):
    DAY = "day", gettext_lazy("day")
    MONTH = "month", gettext_lazy("month")
    SEASON = "season", gettext_lazy("season")
    YEAR = "year", gettext_lazy("year")
    INTERVAL = "interval", gettext_lazy("interval")
    UNKNOWN = "unknown", gettext_lazy("unknown")


# The model field's help text (migration 0001 holds this text; the refusal below adds the rest).
ACCEPTED_FORMS = gettext_lazy(
    "Use an EDTF date: 2010-10-27 (a day), 2009-10 (a month), 2016-23 (autumn 2016; "
    "21 spring, 22 summer, 23 autumn, 24 winter), 2017 (a year), 2010-12~ (around), "
    "2019? (uncertain) or 2016-09/2017 (between two dates, '..' for open). "
    "27-10-2010 is accepted too. Leave empty when the date is unknown."
)
MORE_FORMS = gettext_lazy(
    "Also accepted: 201X or 2004-XX (unspecified digits), 2001-33 to 2001-36 (quarters), "
    "2001-37 to 2001-39 (four-month periods), 2001-40 and 2001-41 (half-years)."
)

_SINGLE = re.compile(
    r"^(?P<year>\d{4}|\d{3}X|\d{2}XX)(?:-(?P<month>\d{2}|XX)(?:-(?P<day>\d{2}|XX))?)?(?P<qualifier>[~?%])?$"
)
_DUTCH_DAY = re.compile(r"^(?P<day>\d{1,2})-(?P<month>\d{1,2})-(?P<year>\d{4})$")
_TIME_OF_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}T")
_OUT_OF_RANGE_YEAR = re.compile(r"^(?:Y-?\d{5,}|-\d{4}|0000)")

# Sub-year groupings (EDTF 21-41): (first month, last month, words). The strict bounds stay
# within the year, as the edtf library gives them (winter: December only).
_GROUPINGS: dict[int, tuple[int, int, str]] = {
    21: (3, 5, gettext_lazy("spring %(year)s")),
    22: (6, 8, gettext_lazy("summer %(year)s")),
    23: (9, 11, gettext_lazy("autumn %(year)s")),
    24: (12, 12, gettext_lazy("winter %(year)s")),
    25: (3, 5, gettext_lazy("spring %(year)s")),
    26: (6, 8, gettext_lazy("summer %(year)s")),
    27: (9, 11, gettext_lazy("autumn %(year)s")),
    28: (12, 12, gettext_lazy("winter %(year)s")),
    29: (9, 11, gettext_lazy("spring %(year)s (southern hemisphere)")),
    30: (12, 12, gettext_lazy("summer %(year)s (southern hemisphere)")),
    31: (3, 5, gettext_lazy("autumn %(year)s (southern hemisphere)")),
    32: (6, 8, gettext_lazy("winter %(year)s (southern hemisphere)")),
    33: (1, 3, gettext_lazy("first quarter of %(year)s")),
    34: (4, 6, gettext_lazy("second quarter of %(year)s")),
    35: (7, 9, gettext_lazy("third quarter of %(year)s")),
    36: (10, 12, gettext_lazy("fourth quarter of %(year)s")),
    37: (1, 4, gettext_lazy("first four-month period of %(year)s")),
    38: (5, 8, gettext_lazy("second four-month period of %(year)s")),
    39: (9, 12, gettext_lazy("third four-month period of %(year)s")),
    40: (1, 6, gettext_lazy("first half of %(year)s")),
    41: (7, 12, gettext_lazy("second half of %(year)s")),
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
    return ValidationError(f"{message} {ACCEPTED_FORMS} {MORE_FORMS}", code="invalid_date")


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


def _why_not(part: str) -> str | None:
    """The problem with a date that _SINGLE does not match, when we can name it."""
    if _TIME_OF_DAY.match(part):
        return _("Leave out the time of day: the portal dates events to the day.")
    if _OUT_OF_RANGE_YEAR.match(part):
        return _("The year must lie between 0001 and 9999.")
    if "X" in part:
        return _("X may stand only for the last one or two digits of a year, or for a whole month or day.")
    return None


def _single(part: str, whole: str) -> FuzzyDate:
    """One date (no interval): its strict bounds and precision, or ValidationError."""
    match = _SINGLE.match(part)
    if not match:
        raise _invalid(whole, _why_not(part))
    year_text, month_text, day_text = match["year"], match["month"], match["day"]
    if "X" in year_text:
        if month_text:
            raise _invalid(whole, _why_not("X"))
        first, last = int(year_text.replace("X", "0")), int(year_text.replace("X", "9"))
        if first < 1:
            raise _invalid(whole, _("The year must lie between 0001 and 9999."))
        return FuzzyDate(part, datetime.date(first, 1, 1), datetime.date(last, 12, 31), Precision.YEAR)
    year = int(year_text)
    if year < 1:
        raise _invalid(whole, _("The year must lie between 0001 and 9999."))
    year_bounds = (datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    if not month_text:
        return FuzzyDate(part, *year_bounds, Precision.YEAR)
    if month_text == "XX":
        if day_text not in (None, "XX"):
            raise _invalid(whole, _why_not("X"))
        return FuzzyDate(part, *year_bounds, Precision.YEAR)
    month = int(month_text)
    if month in _GROUPINGS:
        if day_text:
            raise _invalid(whole, _("A season, quarter or half-year has no day."))
        first, last, _words = _GROUPINGS[month]
        lower = datetime.date(year, first, 1)
        upper = datetime.date(year, last, calendar.monthrange(year, last)[1])
        return FuzzyDate(part, lower, upper, Precision.SEASON)
    if not 1 <= month <= 12:
        raise _invalid(whole, _("Check that the month and day exist."))
    month_bounds = (datetime.date(year, month, 1), datetime.date(year, month, calendar.monthrange(year, month)[1]))
    if not day_text or day_text == "XX":
        return FuzzyDate(part, *month_bounds, Precision.MONTH)
    try:
        day = datetime.date(year, month, int(day_text))
    except ValueError:
        raise _invalid(whole, _("That day does not exist.")) from None
    return FuzzyDate(part, day, day, Precision.DAY)


@functools.lru_cache(maxsize=8192)
def parse_date(text: str | None) -> FuzzyDate:
    """Parse EDTF text (or a Dutch dd-mm-yyyy day) into a FuzzyDate.

    Raises ValidationError (code "invalid_date") that says what is wrong and what is accepted;
    never another exception. Results are cached: a FuzzyDate is immutable and depends on the
    text alone.
    """
    text = normalise_date_text(text)
    if not text:
        return UNKNOWN
    if "/" not in text:
        return _single(text, text)
    if text.count("/") != 1:
        raise _invalid(text)
    start, end = text.split("/")
    if start in ("", "..") and end in ("", ".."):
        raise _invalid(text, _("Give at least one side of the interval."))
    # ".." is an open end, an empty side an unknown one (edtf would fill in today's date there).
    lower = None if start in ("", "..") else _single(start, text).lower
    upper = None if end in ("", "..") else _single(end, text).upper
    if lower and upper and lower > upper:
        raise _invalid(text, _("The start lies after the end."))
    return FuzzyDate(text, lower, upper, Precision.INTERVAL)


def validate_date_text(text: str | None) -> None:
    """A model-field validator."""
    parse_date(text)


def _render_single(part: str) -> str:
    match = _SINGLE.match(part)
    year, month, day = match["year"], match["month"], match["day"]
    if "X" in year:
        words = _("a year in %(first)s–%(last)s") % {"first": year.replace("X", "0"), "last": year.replace("X", "9")}
    elif month == "XX":
        words = _("a day in %(year)s") % {"year": year} if day else _("a month in %(year)s") % {"year": year}
    elif month and int(month) in _GROUPINGS:
        words = _GROUPINGS[int(month)][2] % {"year": year}
    elif day == "XX":
        words = _("a day in %(month)s") % {"month": date_format(datetime.date(int(year), int(month), 1), "F Y")}
    elif day:
        words = date_format(datetime.date(int(year), int(month), int(day)), "j F Y")
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

    "2016-23" -> "najaar 2016" / "autumn 2016"; "2001-34" -> "tweede kwartaal 2001";
    empty -> "datum onbekend". Text that does not parse (stored before a rule changed) is
    returned as it is, so a page never fails.
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
    """A value for <time datetime="..."> when the date allows one (a plain day, month or year), else ""."""
    text = (text or "").strip()
    match = _SINGLE.match(text)
    if not match or match["qualifier"] or "X" in text:
        return ""
    if match["month"] and int(match["month"]) in _GROUPINGS:
        return ""
    try:
        parse_date(text)
    except ValidationError:
        return ""
    return text

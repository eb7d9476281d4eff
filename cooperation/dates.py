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
    error = ValidationError(f"{message} {ACCEPTED_FORMS} {MORE_FORMS}", code="invalid_date")
    error.problem = problem  # read_date's one short message reuses it
    return error


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


# Dates as people write them ------------------------------------------------------------------
# `read_date` reads what an editor types in the admin or an import cell: any EDTF form above,
# and the Dutch and English phrases below (docs/import-formats.md, "Datums in woorden"). It
# returns the FuzzyDate of the EDTF it stands for, so the stored text is always EDTF.

_MONTHS = {
    **dict.fromkeys(["januari", "january", "jan"], 1),
    **dict.fromkeys(["februari", "february", "feb", "febr"], 2),
    **dict.fromkeys(["maart", "march", "mrt", "mar", "maa"], 3),
    **dict.fromkeys(["april", "apr"], 4),
    **dict.fromkeys(["mei", "may"], 5),
    **dict.fromkeys(["juni", "june", "jun"], 6),
    **dict.fromkeys(["juli", "july", "jul"], 7),
    **dict.fromkeys(["augustus", "august", "aug"], 8),
    **dict.fromkeys(["september", "sep", "sept"], 9),
    **dict.fromkeys(["oktober", "october", "okt", "oct"], 10),
    **dict.fromkeys(["november", "nov"], 11),
    **dict.fromkeys(["december", "dec"], 12),
}
_SEASONS = {
    **dict.fromkeys(["voorjaar", "lente", "spring"], 21),
    **dict.fromkeys(["zomer", "summer"], 22),
    **dict.fromkeys(["najaar", "herfst", "autumn", "fall"], 23),
    **dict.fromkeys(["winter"], 24),
}
_ORDINALS = {
    **dict.fromkeys(["eerste", "1e", "first", "1st"], 1),
    **dict.fromkeys(["tweede", "2e", "second", "2nd"], 2),
    **dict.fromkeys(["derde", "3e", "third", "3rd"], 3),
    **dict.fromkeys(["vierde", "4e", "fourth", "4th"], 4),
}
# Parts of a year, and the EDTF sub-year grouping each is read as (first = 1, second = 2, ...).
_PARTS = {
    **dict.fromkeys(["kwartaal", "quarter"], 33),
    **dict.fromkeys(["viermaandsperiode", "four-month period"], 37),
    **dict.fromkeys(["helft", "semester", "half", "half-year"], 40),
}
_PART_COUNTS = {33: 4, 37: 3, 40: 2}
_START_OF_YEAR = ("begin", "begin van", "aan het begin van", "early", "start of", "the start of", "beginning of")
_END_OF_YEAR = ("eind", "einde", "eind van", "einde van", "aan het eind van", "late", "end of", "the end of")
_AROUND = ("omstreeks", "rond", "rondom", "circa", "ca.", "ca", "ongeveer", "around", "about", "approximately", "c.")
_UNCERTAIN_SUFFIX = ("(onzeker)", "(uncertain)", "?")
_UNKNOWN_WORDS = ("", "onbekend", "datum onbekend", "unknown", "date unknown")

_MONTH_WORD = r"(?P<month>[a-z]+)\.?"
_YEAR = r"(?P<year>\d{4})"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th|e)?"
_PHRASE_FORMS = [
    ("day", re.compile(rf"^{_DAY}[ ./-]?{_MONTH_WORD},? {_YEAR}$")),
    ("day", re.compile(rf"^{_MONTH_WORD} {_DAY},? {_YEAR}$")),
    ("day", re.compile(r"^(?P<day>\d{1,2})[./](?P<month>\d{1,2})[./](?P<year>\d{4})$")),
    ("month", re.compile(rf"^{_MONTH_WORD},? {_YEAR}$")),
    ("season", re.compile(rf"^(?:(?:in )?(?:de |het |the )?)?(?P<season>[a-z]+)(?: van| of)? {_YEAR}$")),
    ("edge", re.compile(rf"^(?:(?:in )?(?:het |the ))?(?P<edge>[a-z .]+?) {_YEAR}$")),
    (
        "part",
        re.compile(
            rf"^(?:(?:in )?(?:het |de |the ))?(?P<ordinal>[a-z0-9]+) "
            rf"(?P<part>[a-z-]+(?: period)?)(?: van| of)? {_YEAR}$"
        ),
    ),
    ("quarter", re.compile(rf"^q(?P<ordinal>[1-4]) {_YEAR}$")),
    ("year_range", re.compile(r"^(?P<start>\d{4}) ?- ?(?P<end>\d{4})$")),
]
_BETWEEN = re.compile(
    r"^(?:tussen|between|van|from) (?P<start>.+?) (?:en|and|tot en met|t/m|tot|to|until) (?P<end>.+)$"
)
_DASH = re.compile(r" ?– ?| - ")
_OPEN_START = re.compile(r"^(?:voor|before) (?P<end>.+)$")
_OPEN_END = re.compile(r"^(?:vanaf|sinds|from|since) (?P<start>.+)$")

PHRASE_EXAMPLES = gettext_lazy(
    "Write it as, for example, 27 October 2010, October 2009, autumn 2016, end of 2010, "
    "around December 2010, before 8 May 2019 or between autumn 2016 and 2017 (or as EDTF: 2016-23)."
)


class _NotAPhrase(Exception):
    """The text is not a phrase we know; `problem` says why when we can."""

    def __init__(self, problem: str | None = None):
        super().__init__(problem)
        self.problem = problem


def _refusal(text: str, problem: str | None = None) -> ValidationError:
    message = _("“%(text)s” is not a date we can read.") % {"text": text}
    if problem:
        message = f"{message} {problem}"
    return ValidationError(f"{message} {PHRASE_EXAMPLES}", code="invalid_date")


def _clean_phrase(text: str) -> str:
    text = " ".join((text or "").split()).lower()
    return text.replace("vóór", "voor").replace("—", "–").replace("‐", "-").rstrip(" ,.")


def _edtf_checked(edtf: str) -> str:
    """The EDTF text, if our parser accepts it (so a day must exist); else _NotAPhrase with its problem."""
    try:
        return parse_date(edtf).text
    except ValidationError as error:
        raise _NotAPhrase(getattr(error, "problem", None)) from None


def _phrase_single(text: str) -> str:
    """One date in words (no interval), with its qualifiers, as single EDTF text."""
    qualifier = ""
    for suffix in _UNCERTAIN_SUFFIX:
        if text.endswith(suffix):
            text, qualifier = text[: -len(suffix)].strip(), "?"
            break
    for word in _AROUND:
        if text.startswith(word + " "):
            text, qualifier = text[len(word) + 1 :].strip(), "%" if qualifier else "~"
            break
    if not text:
        raise _NotAPhrase()
    edtf = _phrase_core(text)
    if qualifier:
        if edtf[-1] in "~?%":
            raise _NotAPhrase()
        edtf += qualifier
    return _edtf_checked(edtf)


def _phrase_core(text: str) -> str:
    try:
        parsed = parse_date(text)
    except ValidationError as error:
        if re.fullmatch(r"[\d\-X~?%]+", text) and getattr(error, "problem", None):
            raise _NotAPhrase(error.problem) from None
    else:
        if "/" not in parsed.text and parsed.text:
            return parsed.text
    for form, pattern in _PHRASE_FORMS:
        match = pattern.match(text)
        if not match:
            continue
        year = match["year"] if "year" in pattern.groupindex else ""
        if form == "day":
            month = _MONTHS.get(match["month"]) if not match["month"].isdigit() else int(match["month"])
            if month is None:
                continue
            return f"{year}-{month:02d}-{int(match['day']):02d}"
        if form == "month" and match["month"] in _MONTHS:
            return f"{year}-{_MONTHS[match['month']]:02d}"
        if form == "season" and match["season"] in _SEASONS:
            return f"{year}-{_SEASONS[match['season']]}"
        if form == "edge" and match["edge"] in _START_OF_YEAR:
            return f"{year}-33"
        if form == "edge" and match["edge"] in _END_OF_YEAR:
            return f"{year}-36"
        if form == "part" and match["part"] in _PARTS and match["ordinal"] in _ORDINALS:
            first, number = _PARTS[match["part"]], _ORDINALS[match["ordinal"]]
            if number <= _PART_COUNTS[first]:
                return f"{year}-{first + number - 1}"
        if form == "quarter":
            return f"{year}-{32 + int(match['ordinal'])}"
        if form == "year_range":
            return f"{match['start']}/{match['end']}"
    raise _NotAPhrase()


def _phrase_side(text: str) -> str:
    return "" if text.strip() in _UNKNOWN_WORDS else _phrase_single(text.strip())


def _phrase(text: str) -> str:
    """The EDTF text for a phrase (cleaned), or _NotAPhrase."""
    if text in _UNKNOWN_WORDS:
        return ""
    match = _BETWEEN.match(text)
    if match:
        return f"{_phrase_single(match['start'])}/{_phrase_single(match['end'])}"
    parts = _DASH.split(text)
    if len(parts) == 2:
        return f"{_phrase_side(parts[0])}/{_phrase_side(parts[1])}"
    match = _OPEN_START.match(text)
    if match:
        return f"../{_phrase_single(match['end'])}"
    match = _OPEN_END.match(text)
    if match:
        return f"{_phrase_single(match['start'])}/.."
    return _phrase_single(text)


@functools.lru_cache(maxsize=8192)
def read_date(text: str | None) -> FuzzyDate:
    """Read a date as people write it: EDTF, or a Dutch or English phrase.

    "najaar 2016" and "autumn 2016" -> 2016-23; "eind 2010" -> 2010-36 (fourth quarter);
    "omstreeks december 2010" -> 2010-12~; "voor 8 mei 2019" -> ../2019-05-08;
    "tussen najaar 2016 en 2017" -> 2016-23/2017. The table is in docs/import-formats.md
    ("Datums in woorden"). Raises one ValidationError (code "invalid_date") that says what is
    wrong, when we can tell, and how to write it.
    """
    raw = (text or "").strip()
    try:
        return parse_date(raw)
    except ValidationError as error:
        edtf_problem = getattr(error, "problem", None)
    cleaned = _clean_phrase(raw)
    try:
        edtf = _phrase(cleaned)
    except _NotAPhrase as refused:
        raise _refusal(" ".join(raw.split()), refused.problem or edtf_problem) from None
    try:
        return parse_date(edtf)
    except ValidationError as error:
        raise _refusal(" ".join(raw.split()), getattr(error, "problem", None)) from None


def read_date_text(text: str | None) -> str:
    """The EDTF text `read_date` stores for `text`."""
    return read_date(text).text

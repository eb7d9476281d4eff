import datetime

import pytest
from django.core.exceptions import ValidationError

from cooperation.dates import Precision, iso_datetime_attr, parse_date, render_date

D = datetime.date


@pytest.mark.parametrize(
    "text, lower, upper, precision",
    [
        ("2010-10-27", D(2010, 10, 27), D(2010, 10, 27), Precision.DAY),
        ("2009-10", D(2009, 10, 1), D(2009, 10, 31), Precision.MONTH),
        ("2016-23", D(2016, 9, 1), D(2016, 11, 30), Precision.SEASON),
        ("2010-12~", D(2010, 12, 1), D(2010, 12, 31), Precision.MONTH),
        ("2017", D(2017, 1, 1), D(2017, 12, 31), Precision.YEAR),
        ("2019?", D(2019, 1, 1), D(2019, 12, 31), Precision.YEAR),
        ("2016-23/2017", D(2016, 9, 1), D(2017, 12, 31), Precision.INTERVAL),
        ("../2019-05-08", None, D(2019, 5, 8), Precision.INTERVAL),
        ("2016-09/", D(2016, 9, 1), None, Precision.INTERVAL),
        ("", None, None, Precision.UNKNOWN),
        ("  2017 ", D(2017, 1, 1), D(2017, 12, 31), Precision.YEAR),
    ],
)
def test_bounds_and_precision(text, lower, upper, precision):
    parsed = parse_date(text)
    assert (parsed.lower, parsed.upper, parsed.precision) == (lower, upper, precision)


def test_dutch_day_is_normalised_to_edtf():
    parsed = parse_date("27-10-2010")
    assert parsed.text == "2010-10-27"
    assert parsed.lower == parsed.upper == D(2010, 10, 27)


@pytest.mark.parametrize(
    "text, dutch, english",
    [
        ("2010-10-27", "27 oktober 2010", "27 October 2010"),
        ("2009-10", "oktober 2009", "October 2009"),
        ("2016-21", "voorjaar 2016", "spring 2016"),
        ("2016-22", "zomer 2016", "summer 2016"),
        ("2016-23", "najaar 2016", "autumn 2016"),
        ("2016-24", "winter 2016", "winter 2016"),
        ("2010-12~", "omstreeks december 2010", "around December 2010"),
        ("2019?", "2019 (onzeker)", "2019 (uncertain)"),
        ("2017", "2017", "2017"),
        ("", "datum onbekend", "date unknown"),
        ("2016-23/2017", "najaar 2016 – 2017", "autumn 2016 – 2017"),
        ("../2019-05-08", "vóór 8 mei 2019", "before 8 May 2019"),
        ("2016-09/..", "vanaf september 2016", "from September 2016"),
        ("2016-09/", "september 2016 – onbekend", "September 2016 – unknown"),
    ],
)
def test_rendering_in_both_languages(text, dutch, english):
    assert render_date(text, "nl") == dutch
    assert render_date(text, "en") == english


@pytest.mark.parametrize(
    "text",
    ["2010-13", "2010-02-30", "31-02-2010", "autumn 2016", "27/10/2010", "2017/2016", "2010-10-27T10:00", "/", "x"],
)
def test_invalid_text_says_what_is_accepted(text):
    with pytest.raises(ValidationError) as caught:
        parse_date(text)
    message = " ".join(caught.value.messages)
    assert caught.value.code == "invalid_date"
    assert text.strip() in message
    assert "2016-23" in message and "27-10-2010" in message


def test_unreadable_text_renders_as_entered_instead_of_failing():
    assert render_date("not a date", "nl") == "not a date"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2010-10-27", "2010-10-27"),
        ("2009-10", "2009-10"),
        ("2017", "2017"),
        ("2016-23", ""),
        ("2010-12~", ""),
        ("", ""),
    ],
)
def test_machine_readable_date_only_where_the_date_allows(text, expected):
    assert iso_datetime_attr(text) == expected


def test_fast_bounds_are_the_bounds_edtf_gives():
    """dates._plain_bounds() skips the (slow) edtf grammar for days, months, seasons and years."""
    import datetime

    from edtf import parse_edtf

    from cooperation.dates import _plain_bounds

    texts = []
    for year in (1, 999, 1900, 2000, 2016, 2023, 2024, 9999):
        texts += [f"{year:04d}", f"{year:04d}~", f"{year:04d}?", f"{year:04d}%"]
        texts += [f"{year:04d}-{season}" for season in (21, 22, 23, 24)]
        for month in range(1, 13):
            texts += [f"{year:04d}-{month:02d}", f"{year:04d}-{month:02d}~"]
            texts += [f"{year:04d}-{month:02d}-{day:02d}" for day in (1, 28, 29, 30, 31)]
    checked = 0
    for text in texts:
        bounds = _plain_bounds(text)
        try:
            parsed = parse_edtf(text)
            expected = (datetime.date(*parsed.lower_strict()[:3]), datetime.date(*parsed.upper_strict()[:3]))
        except Exception:  # edtf refuses it, or gives a day that does not exist (29 February 2023)
            assert bounds is None, text
            continue
        assert bounds == expected, text
        checked += 1
    assert checked > 600


def test_29_february_exists_only_in_leap_years():
    assert parse_date("2024-02-29").lower == datetime.date(2024, 2, 29)
    with pytest.raises(ValidationError) as caught:
        parse_date("29-02-2023")
    assert caught.value.code == "invalid_date"

import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from edtf import parse_edtf
from edtf.parser.edtf_exceptions import EDTFParseException

from cooperation.dates import Precision, iso_datetime_attr, parse_date, read_date, render_date

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


def test_29_february_exists_only_in_leap_years():
    assert parse_date("2024-02-29").lower == datetime.date(2024, 2, 29)
    with pytest.raises(ValidationError) as caught:
        parse_date("29-02-2023")
    assert caught.value.code == "invalid_date"


# --- The EDTF specification's own examples (https://www.loc.gov/standards/datetime/, 2019) ---

# Accepted: (text, lower, upper, Dutch words, English words).
SPEC_ACCEPTED = [
    # level 0: dates
    ("1985-04-12", D(1985, 4, 12), D(1985, 4, 12), "12 april 1985", "12 April 1985"),
    ("1985-04", D(1985, 4, 1), D(1985, 4, 30), "april 1985", "April 1985"),
    ("1985", D(1985, 1, 1), D(1985, 12, 31), "1985", "1985"),
    # level 0: intervals
    ("1964/2008", D(1964, 1, 1), D(2008, 12, 31), "1964 – 2008", "1964 – 2008"),
    ("2004-06/2006-08", D(2004, 6, 1), D(2006, 8, 31), "juni 2004 – augustus 2006", "June 2004 – August 2006"),
    (
        "2004-02-01/2005-02-08",
        D(2004, 2, 1),
        D(2005, 2, 8),
        "1 februari 2004 – 8 februari 2005",
        "1 February 2004 – 8 February 2005",
    ),
    (
        "2004-02-01/2005-02",
        D(2004, 2, 1),
        D(2005, 2, 28),
        "1 februari 2004 – februari 2005",
        "1 February 2004 – February 2005",
    ),
    ("2004-02-01/2005", D(2004, 2, 1), D(2005, 12, 31), "1 februari 2004 – 2005", "1 February 2004 – 2005"),
    ("2005/2006-02", D(2005, 1, 1), D(2006, 2, 28), "2005 – februari 2006", "2005 – February 2006"),
    # level 1: seasons
    ("2001-21", D(2001, 3, 1), D(2001, 5, 31), "voorjaar 2001", "spring 2001"),
    ("2001-22", D(2001, 6, 1), D(2001, 8, 31), "zomer 2001", "summer 2001"),
    ("2001-23", D(2001, 9, 1), D(2001, 11, 30), "najaar 2001", "autumn 2001"),
    ("2001-24", D(2001, 12, 1), D(2001, 12, 31), "winter 2001", "winter 2001"),
    # level 1: qualification of a date (complete)
    ("1984?", D(1984, 1, 1), D(1984, 12, 31), "1984 (onzeker)", "1984 (uncertain)"),
    ("2004-06~", D(2004, 6, 1), D(2004, 6, 30), "omstreeks juni 2004", "around June 2004"),
    (
        "2004-06-11%",
        D(2004, 6, 11),
        D(2004, 6, 11),
        "omstreeks 11 juni 2004 (onzeker)",
        "around 11 June 2004 (uncertain)",
    ),
    # level 1: unspecified digits from the right
    ("201X", D(2010, 1, 1), D(2019, 12, 31), "een jaar in 2010–2019", "a year in 2010–2019"),
    ("20XX", D(2000, 1, 1), D(2099, 12, 31), "een jaar in 2000–2099", "a year in 2000–2099"),
    ("2004-XX", D(2004, 1, 1), D(2004, 12, 31), "een maand in 2004", "a month in 2004"),
    ("1985-04-XX", D(1985, 4, 1), D(1985, 4, 30), "een dag in april 1985", "a day in April 1985"),
    ("1985-XX-XX", D(1985, 1, 1), D(1985, 12, 31), "een dag in 1985", "a day in 1985"),
    # level 1: extended intervals (".." open, empty unknown)
    ("1985-04-12/..", D(1985, 4, 12), None, "vanaf 12 april 1985", "from 12 April 1985"),
    ("1985-04/..", D(1985, 4, 1), None, "vanaf april 1985", "from April 1985"),
    ("1985/..", D(1985, 1, 1), None, "vanaf 1985", "from 1985"),
    ("../1985-04-12", None, D(1985, 4, 12), "vóór 12 april 1985", "before 12 April 1985"),
    ("../1985-04", None, D(1985, 4, 30), "vóór april 1985", "before April 1985"),
    ("../1985", None, D(1985, 12, 31), "vóór 1985", "before 1985"),
    ("1985-04-12/", D(1985, 4, 12), None, "12 april 1985 – onbekend", "12 April 1985 – unknown"),
    ("1985-04/", D(1985, 4, 1), None, "april 1985 – onbekend", "April 1985 – unknown"),
    ("1985/", D(1985, 1, 1), None, "1985 – onbekend", "1985 – unknown"),
    ("/1985-04-12", None, D(1985, 4, 12), "onbekend – 12 april 1985", "unknown – 12 April 1985"),
    ("/1985-04", None, D(1985, 4, 30), "onbekend – april 1985", "unknown – April 1985"),
    ("/1985", None, D(1985, 12, 31), "onbekend – 1985", "unknown – 1985"),
    # level 1 (older drafts): qualified interval ends
    ("1984~/2004-06", D(1984, 1, 1), D(2004, 6, 30), "omstreeks 1984 – juni 2004", "around 1984 – June 2004"),
    ("2016-23~", D(2016, 9, 1), D(2016, 11, 30), "omstreeks najaar 2016", "around autumn 2016"),
    # level 2: sub-year groupings
    ("2001-25", D(2001, 3, 1), D(2001, 5, 31), "voorjaar 2001", "spring 2001"),
    ("2001-26", D(2001, 6, 1), D(2001, 8, 31), "zomer 2001", "summer 2001"),
    ("2001-27", D(2001, 9, 1), D(2001, 11, 30), "najaar 2001", "autumn 2001"),
    ("2001-28", D(2001, 12, 1), D(2001, 12, 31), "winter 2001", "winter 2001"),
    (
        "2001-29",
        D(2001, 9, 1),
        D(2001, 11, 30),
        "voorjaar 2001 (zuidelijk halfrond)",
        "spring 2001 (southern hemisphere)",
    ),
    (
        "2001-30",
        D(2001, 12, 1),
        D(2001, 12, 31),
        "zomer 2001 (zuidelijk halfrond)",
        "summer 2001 (southern hemisphere)",
    ),
    ("2001-31", D(2001, 3, 1), D(2001, 5, 31), "najaar 2001 (zuidelijk halfrond)", "autumn 2001 (southern hemisphere)"),
    ("2001-32", D(2001, 6, 1), D(2001, 8, 31), "winter 2001 (zuidelijk halfrond)", "winter 2001 (southern hemisphere)"),
    ("2001-33", D(2001, 1, 1), D(2001, 3, 31), "eerste kwartaal 2001", "first quarter of 2001"),
    ("2001-34", D(2001, 4, 1), D(2001, 6, 30), "tweede kwartaal 2001", "second quarter of 2001"),
    ("2001-35", D(2001, 7, 1), D(2001, 9, 30), "derde kwartaal 2001", "third quarter of 2001"),
    ("2001-36", D(2001, 10, 1), D(2001, 12, 31), "vierde kwartaal 2001", "fourth quarter of 2001"),
    ("2001-37", D(2001, 1, 1), D(2001, 4, 30), "eerste viermaandsperiode 2001", "first four-month period of 2001"),
    ("2001-38", D(2001, 5, 1), D(2001, 8, 31), "tweede viermaandsperiode 2001", "second four-month period of 2001"),
    ("2001-39", D(2001, 9, 1), D(2001, 12, 31), "derde viermaandsperiode 2001", "third four-month period of 2001"),
    ("2001-40", D(2001, 1, 1), D(2001, 6, 30), "eerste semester 2001", "first half of 2001"),
    ("2001-41", D(2001, 7, 1), D(2001, 12, 31), "tweede semester 2001", "second half of 2001"),
    # level 2: the one qualification/unspecified example that uses level-1 parts only
    (
        "2004-06-XX/2004-07-03",
        D(2004, 6, 1),
        D(2004, 7, 3),
        "een dag in juni 2004 – 3 juli 2004",
        "a day in June 2004 – 3 July 2004",
    ),
]

# Refused: (text, a part of the message that says why; "" where the general list of forms says it).
SPEC_REFUSED = [
    # level 0: date and time (the portal dates events to the day)
    ("1985-04-12T23:20:30", "time of day"),
    ("1985-04-12T23:20:30Z", "time of day"),
    ("1985-04-12T23:20:30-04", "time of day"),
    ("1985-04-12T23:20:30+04:30", "time of day"),
    # level 1: years outside 0001-9999
    ("Y170000002", "0001 and 9999"),
    ("Y-170000002", "0001 and 9999"),
    ("-1985", "0001 and 9999"),
    # level 2: exponents and significant digits
    ("Y-17E7", ""),
    ("1950S2", ""),
    ("Y171010000S3", "0001 and 9999"),
    ("Y3388E2S3", ""),
    # level 2: sets
    ("[1667,1668,1670..1672]", ""),
    ("[..1760-12-03]", ""),
    ("[1760-12..]", ""),
    ("[1760-01,1760-02,1760-12..]", ""),
    ("[1667,1760-12]", ""),
    ("[..1984]", ""),
    ("{1667,1668,1670..1672}", ""),
    ("{1960,1961-12}", ""),
    ("{..1984}", ""),
    # level 2: qualification of a part of a date
    ("2004-06~-11", ""),
    ("2004?-06-11", ""),
    ("?2004-06-~11", ""),
    ("2004-?06-?11", ""),
    # level 2: unspecified digits elsewhere
    ("156X-12-25", "X may stand"),
    ("15XX-12-25", "X may stand"),
    ("XXXX-12-XX", "X may stand"),
    ("1XXX-XX", "X may stand"),
    ("1XXX-12", "X may stand"),
    ("1984-1X", "X may stand"),
    # level 2: interval with qualified parts
    ("2004-06-~01/2004-06-~20", ""),
    # issue 19: valid-looking dates that used to raise ValueError
    ("0000", "0001 and 9999"),
    ("0000~", "0001 and 9999"),
    ("0000?", "0001 and 9999"),
    ("0000/2001", "0001 and 9999"),
    ("2001-02-29/2002", "does not exist"),
    ("000X", "0001 and 9999"),
    ("2001-42", "month and day exist"),
    ("2001-21-03", "no day"),
    ("../..", "one side"),
]


@pytest.mark.parametrize("text, lower, upper, dutch, english", SPEC_ACCEPTED)
def test_spec_example_is_accepted_bounded_and_rendered(text, lower, upper, dutch, english):
    parsed = parse_date(text)
    assert (parsed.text, parsed.lower, parsed.upper) == (text, lower, upper)
    assert render_date(text, "nl") == dutch
    assert render_date(text, "en") == english


@pytest.mark.parametrize("text, why", SPEC_REFUSED)
def test_spec_example_outside_the_supported_set_is_refused_with_the_reason(text, why):
    for language, accepted in (("nl", "Gebruik een EDTF-datum"), ("en", "Use an EDTF date")):
        with translation.override(language), pytest.raises(ValidationError) as caught:
            parse_date(text)
        message = " ".join(caught.value.messages)
        assert caught.value.code == "invalid_date"
        assert text in message and accepted in message and "2001-33" in message
    assert why in message  # the English one
    assert render_date(text, "nl") == text  # never an exception, even for text stored earlier


def _edtf_bounds(text: str):

    parsed = parse_edtf(text)
    return datetime.date(*parsed.lower_strict()[:3]), datetime.date(*parsed.upper_strict()[:3])


def test_our_bounds_are_the_bounds_edtf_gives():
    """dates.py parses without the (slow) edtf grammar; every closed form has the bounds edtf gives.

    Not compared: open and unknown interval ends (edtf puts +/- infinity or today's date
    there; we store no bound) and qualified seasons (edtf's grammar refuses "2016-23~"; EDTF
    level 1 lets "~", "?" and "%" qualify any date).
    """
    texts = []
    for year in (1, 2024, 9999):
        texts += [f"{year:04d}", f"{year:04d}~", f"{year:04d}?", f"{year:04d}%"]
        texts += [f"{year:04d}-{grouping}" for grouping in range(21, 42)]
        texts += [f"{year:04d}-XX", f"{year:04d}-XX-XX", f"{year:04d}-XX?"]
    for year in (2023, 2024):  # the edtf grammar costs ~50 ms a parse: every month of a leap and a common year
        for month in range(1, 13):
            texts += [f"{year:04d}-{month:02d}", f"{year:04d}-{month:02d}~", f"{year:04d}-{month:02d}-XX"]
            texts += [f"{year:04d}-{month:02d}-{day:02d}" for day in (1, 29, 30, 31)]
    texts += ["201X", "20XX", "199X~", "999X", "99XX", "001X", "01XX"]
    texts += [text for text, lower, upper, *_ in SPEC_ACCEPTED if lower and upper and not text.endswith("-23~")]
    checked = 0
    for text in texts:
        try:
            expected = _edtf_bounds(text)
        except (ValueError, EDTFParseException):  # edtf refuses it, or gives a day that does not exist
            with pytest.raises(ValidationError):
                parse_date(text)
            continue
        parsed = parse_date(text)
        assert (parsed.lower, parsed.upper) == expected, text
        checked += 1
    assert checked > 250


@pytest.mark.django_db
def test_every_accepted_form_saved_on_an_event_renders_on_every_output(client, svm, municipality):
    """Each accepted spec example, saved as a planned event, shows on the pages, feeds, calendar, API
    and Popolo export without an error (issue 19: a saved "2001-29" made these answer 500)."""
    from cooperation import services
    from cooperation.downloads import build_files

    schiedam = municipality("Schiedam")
    for number, (text, *_bounds, dutch, _english) in enumerate(SPEC_ACCEPTED):
        services.event_record(
            partnership=svm,
            kind="evaluated",
            status="planned",
            date_text=text,
            municipalities=[schiedam],
            title=f"Evaluatie {number}",
        )
    urls = [
        svm.get_absolute_url(),
        f"/en{svm.get_absolute_url()}",
        f"/municipalities/{schiedam.cbs_code}/",
        "/feeds/events/",
        "/feeds/events/?lang=en",
        f"/feeds/partnerships/{svm.slug}/",
        f"/calendars/partnerships/{svm.slug}.ics",
        f"/calendars/municipalities/{schiedam.cbs_code}.ics",
        f"/api/v1/events/?partnership={svm.slug}&page_size=100",
    ]
    bodies = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        bodies[url] = response.content.decode()
    page, english_page = bodies[urls[0]], bodies[urls[1]]
    for text, *_bounds, dutch, english in SPEC_ACCEPTED:
        assert dutch.replace("–", "&ndash;") in page or dutch in page, text
        assert english in english_page, text
    files = build_files("https://portal.example")
    assert json.loads(files["popolo.json"][0])["organizations"]
    assert b"2001-29" in files["events.csv"][0] and b"1985-04-XX" in files["events.csv"][0]


# --- Dates as people write them (read_date; docs/import-formats.md, "Datums in woorden") ---

PHRASES = [
    # Dutch
    ("27 oktober 2010", "2010-10-27"),
    ("27-10-2010", "2010-10-27"),
    ("27/10/2010", "2010-10-27"),
    ("oktober 2009", "2009-10"),
    ("okt. 2009", "2009-10"),
    ("najaar 2016", "2016-23"),
    ("herfst 2016", "2016-23"),
    ("voorjaar 2016", "2016-21"),
    ("lente 2016", "2016-21"),
    ("zomer 2016", "2016-22"),
    ("winter 2016", "2016-24"),
    ("eind 2010", "2010-36"),
    ("einde 2010", "2010-36"),
    ("begin 2019", "2019-33"),
    ("eerste kwartaal 2019", "2019-33"),
    ("tweede helft 2019", "2019-41"),
    ("omstreeks december 2010", "2010-12~"),
    ("rond 2017", "2017~"),
    ("2017", "2017"),
    ("2019 (onzeker)", "2019?"),
    ("omstreeks 2019 (onzeker)", "2019%"),
    ("voor 8 mei 2019", "../2019-05-08"),
    ("vóór 8 mei 2019", "../2019-05-08"),
    ("vanaf september 2016", "2016-09/.."),
    ("tussen najaar 2016 en 2017", "2016-23/2017"),
    ("van 2016 tot 2018", "2016/2018"),
    ("najaar 2016 – 2017", "2016-23/2017"),
    ("2016-2017", "2016/2017"),
    ("september 2016 – onbekend", "2016-09/"),
    ("datum onbekend", ""),
    # English
    ("27 October 2010", "2010-10-27"),
    ("October 27, 2010", "2010-10-27"),
    ("1st May 2019", "2019-05-01"),
    ("October 2009", "2009-10"),
    ("autumn 2016", "2016-23"),
    ("fall 2016", "2016-23"),
    ("late 2010", "2010-36"),
    ("end of 2010", "2010-36"),
    ("early 2019", "2019-33"),
    ("Q2 2019", "2019-34"),
    ("around December 2010", "2010-12~"),
    ("before 8 May 2019", "../2019-05-08"),
    ("from September 2016", "2016-09/.."),
    ("between autumn 2016 and 2017", "2016-23/2017"),
    # case and spaces
    ("  NAJAAR   2016 ", "2016-23"),
    ("Tussen  Najaar 2016  EN 2017", "2016-23/2017"),
    # EDTF as it always was
    ("2016-23", "2016-23"),
    ("2010-12~", "2010-12~"),
    ("2004-06-XX/2004-07-03", "2004-06-XX/2004-07-03"),
]


@pytest.mark.parametrize("text, edtf", PHRASES)
def test_dates_as_people_write_them_are_stored_as_edtf(text, edtf):
    assert read_date(text).text == edtf
    assert read_date(text) == parse_date(edtf)


@pytest.mark.parametrize(
    "code",
    [
        "2010-10-27",
        "2009-10",
        "2016-21",
        "2016-22",
        "2016-23",
        "2016-24",
        "2010-12~",
        "2019?",
        "2019%",
        "2017",
        "2001-33",
        "2001-36",
        "2001-37",
        "2001-39",
        "2001-40",
        "2001-41",
        "../2019-05-08",
        "2016-09/..",
        "2016-09/",
        "2016-23/2017",
        "",
    ],
)
@pytest.mark.parametrize("language", ["nl", "en"])
def test_what_the_portal_writes_in_words_reads_back_as_the_same_date(code, language):
    assert read_date(render_date(code, language)).text == code


@pytest.mark.parametrize(
    "text, problem",
    [
        ("najaar", None),
        ("blabla", None),
        ("31 februari 2010", "Die dag bestaat niet."),
        ("31-02-2010", "Die dag bestaat niet."),
        ("2010-13", "Controleer of de maand en de dag bestaan."),
        ("tussen 2018 en 2017", "Het begin ligt na het einde."),
        ("2010-10-27T10:00", "Laat het tijdstip weg"),
        ("eind oktober 2010", None),
        ("vijfde kwartaal 2010", None),
        ("omstreeks 2010-12~", None),
    ],
)
def test_a_refused_phrase_gets_one_short_dutch_message(text, problem):
    with translation.override("nl"), pytest.raises(ValidationError) as caught:
        read_date(text)
    assert caught.value.code == "invalid_date"
    assert len(caught.value.messages) == 1
    message = caught.value.messages[0]
    assert message.startswith(f"“{text}” kunnen wij niet als datum lezen.")
    assert "Schrijf bijvoorbeeld 27 oktober 2010" in message and "tussen najaar 2016 en 2017" in message
    if problem:
        assert problem in message
    assert len(message) < 300

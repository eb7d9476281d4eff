"""Atom feeds and iCalendar calendars: they parse back, hold what they should, hide what they must,
and are linked from the pages."""

import datetime

import feedparser
import icalendar
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cooperation import services
from cooperation.models import Agreement, Event
from tests.factories import MSG, SVM, grow_register

pytestmark = pytest.mark.django_db


def parse_feed(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


def parse_calendar(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


@pytest.fixture
def internal_event(svm, municipality):
    return services.event_record(
        partnership=svm,
        kind="evaluated",
        date_text="2018",
        municipalities=[municipality("Schiedam")],
        title="Interne evaluatie",
        visibility="internal",
    )


def test_portal_feed_lists_events_newest_change_first(client):
    feed = parse_feed(client, "/feeds/events/")
    assert feed.feed.title == "Portaal ICT-samenwerking: nieuwe en gewijzigde gebeurtenissen"
    assert len(feed.entries) == Event.objects.public().count()
    updated = [entry.updated_parsed for entry in feed.entries]
    assert updated == sorted(updated, reverse=True)
    entry = feed.entries[0]
    assert entry.id.startswith("urn:uuid:")
    assert entry.link.startswith("http://testserver/partnerships/")


def test_feed_titles_follow_the_request_language(client):
    feed = parse_feed(client, "/feeds/events/?lang=en")
    assert feed.feed.title == "ICT cooperation portal: new and changed events"
    assert feed.entries[0].link.startswith("http://testserver/en/partnerships/")


def test_partnership_feed(client, svm):
    feed = parse_feed(client, f"/feeds/partnerships/{SVM}/")
    assert feed.feed.title.startswith(svm.name)
    titles = [entry.title for entry in feed.entries]
    assert len(titles) == svm.events.public().count()
    assert any("najaar 2016" in title for title in titles)
    assert all(title.startswith(svm.name) for title in titles)


def test_municipality_and_pillar_feeds(client):
    maassluis = parse_feed(client, "/feeds/municipalities/GM0556/")
    assert len(maassluis.entries) == 3  # signed, withdrawal decided, disentangled
    assert "Maassluis" in maassluis.feed.title
    pillar = parse_feed(client, "/feeds/pillars/service_modernisation/")
    assert {entry.link.split("#")[0] for entry in pillar.entries} == {f"http://testserver/partnerships/{MSG}/"}


def test_feeds_hide_internal_events_from_anonymous_readers(client, viewer_client, internal_event):  # noqa: F811
    public = parse_feed(client, f"/feeds/partnerships/{SVM}/")
    assert "Interne evaluatie" not in {entry.title.split(": ", 1)[1].split(" (")[0] for entry in public.entries}
    signed_in = parse_feed(viewer_client, f"/feeds/partnerships/{SVM}/")
    assert any("Interne evaluatie" in entry.title for entry in signed_in.entries)
    # The newest change comes first.
    assert "Interne evaluatie" in signed_in.entries[0].title


def test_unknown_feed_subjects_are_404(client):
    assert client.get("/feeds/partnerships/nope/").status_code == 404
    assert client.get("/feeds/municipalities/GM9999/").status_code == 404
    assert client.get("/feeds/pillars/nope/").status_code == 404


def test_feeds_cost_the_same_queries_on_larger_data(client):
    urls = [
        "/feeds/events/",
        f"/feeds/partnerships/{SVM}/",
        "/feeds/municipalities/GM0606/",
        "/feeds/pillars/joint_procurement/",
    ]

    def cost(url):
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        return len(queries)

    small = {url: cost(url) for url in urls}
    grow_register(12)
    assert {url: cost(url) for url in urls} == small


def test_partnership_calendar_has_planned_events_as_approximate_all_day_ranges(client, msg):
    calendar = parse_calendar(client, f"/calendars/partnerships/{MSG}.ics")
    assert str(calendar["X-WR-CALNAME"]) == msg.name
    entries = calendar.walk("VEVENT")
    # The tender "end of 2010" (2010-12~); the regional company has no date and cannot be placed.
    assert len(entries) == 1
    tender = entries[0]
    assert tender.decoded("DTSTART") == datetime.date(2010, 12, 1)
    assert tender.decoded("DTEND") == datetime.date(2011, 1, 1)  # exclusive: through 31 December
    assert "geschatte datum" in str(tender["SUMMARY"])
    assert "omstreeks december 2010" in str(tender["DESCRIPTION"])
    assert str(tender["STATUS"]) == "TENTATIVE"


def test_exact_dates_are_single_days_and_agreement_ends_are_included(client, msg, municipality):
    services.event_record(
        partnership=msg,
        kind="evaluated",
        date_text="2030-06-15",
        status="planned",
        municipalities=[municipality("Maastricht")],
        title="Evaluatie",
    )
    Agreement.objects.filter(partnership=msg).update(term_end=datetime.date(2031, 12, 31))
    calendar = parse_calendar(client, f"/calendars/partnerships/{MSG}.ics")
    by_summary = {str(entry["SUMMARY"]): entry for entry in calendar.walk("VEVENT")}
    evaluation = next(entry for summary, entry in by_summary.items() if "Evaluatie" in summary)
    assert evaluation.decoded("DTSTART") == datetime.date(2030, 6, 15)
    assert evaluation.decoded("DTEND") == datetime.date(2030, 6, 16)
    assert "geschatte datum" not in str(evaluation["SUMMARY"])
    ending = next(entry for summary, entry in by_summary.items() if "einde van" in summary)
    assert ending.decoded("DTSTART") == datetime.date(2031, 12, 31)

    municipal = parse_calendar(client, "/calendars/municipalities/GM0935.ics")
    summaries = [str(entry["SUMMARY"]) for entry in municipal.walk("VEVENT")]
    assert any("Evaluatie" in summary for summary in summaries)
    assert any("einde van" in summary for summary in summaries)
    # Schiedam's plans (disentanglement, settling costs) have no date: an empty but valid calendar.
    assert parse_calendar(client, "/calendars/municipalities/GM0606.ics").walk("VEVENT") == []


def test_calendars_hide_internal_plans_from_anonymous_clients(client, viewer_client, msg, municipality):  # noqa: F811
    services.event_record(
        partnership=msg,
        kind="evaluated",
        date_text="2030",
        status="planned",
        municipalities=[municipality("Maastricht")],
        title="Geheime evaluatie",
        visibility="internal",
    )
    anonymous = parse_calendar(client, f"/calendars/partnerships/{MSG}.ics")
    assert not any("Geheime" in str(entry["SUMMARY"]) for entry in anonymous.walk("VEVENT"))
    signed_in = parse_calendar(viewer_client, f"/calendars/partnerships/{MSG}.ics")
    assert any("Geheime" in str(entry["SUMMARY"]) for entry in signed_in.walk("VEVENT"))


def test_pages_link_their_feeds_and_calendars(client):
    pages = {
        "/": ["/feeds/events/"],
        f"/partnerships/{SVM}/": [f"/feeds/partnerships/{SVM}/", f"/calendars/partnerships/{SVM}.ics"],
        "/municipalities/GM0606/": ["/feeds/municipalities/GM0606/", "/calendars/municipalities/GM0606.ics"],
        "/pillars/joint_procurement/": ["/feeds/pillars/joint_procurement/"],
    }
    for page, urls in pages.items():
        html = client.get(page).content.decode()
        assert '<link rel="alternate" type="application/atom+xml" title=' in html, page
        for url in urls:
            assert f'href="{url}"' in html, (page, url)
            assert html.count(f'href="{url}"') == 2, (page, url)  # in <head> and a visible link
            assert Client().get(url).status_code == 200

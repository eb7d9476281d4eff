"""The read-only JSON API: visibility, filters, pagination, conditional requests, errors,
throttling, a fixed query count, and a schemathesis fuzz run against its own OpenAPI schema."""

import datetime
from decimal import Decimal

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cooperation import services
from cooperation.models import Event, Partnership, Source
from tests.factories import MSG, PASSWORD, SVM, grow_register

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture(autouse=True)
def fresh_throttle():
    # The anonymous throttle counts in the cache; every test starts with a clean slate.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def internal_data(svm, municipality):
    """An internal partnership of Schiedam, and in the public SVM partnership an internal event and
    a public event whose cost is internal."""
    schiedam = municipality("Schiedam")
    hidden = Partnership.objects.create(
        name="Verborgen verband Schiedam", slug="verborgen-verband", visibility="internal", internal_note="geheim"
    )
    services.event_record(
        partnership=hidden, kind="signed", date_text="2020-01-01", municipalities=[schiedam], visibility="internal"
    )
    internal_event = services.event_record(
        partnership=svm,
        kind="evaluated",
        date_text="2018",
        municipalities=[schiedam],
        title="Interne evaluatie",
        visibility="internal",
    )
    Event.objects.filter(pk=internal_event.pk).update(internal_note="alleen intern")
    costly = services.event_record(
        partnership=svm,
        kind="costs_settled",
        date_text="2020",
        municipalities=[schiedam],
        title="Kosten verrekend",
        cost_eur=Decimal("123456.00"),
        cost_note="volgens de raad",
        sources=[Source.objects.create(title="Raadsbrief", url="https://example.org/raadsbrief")],
    )
    Event.objects.filter(pk=costly.pk).update(cost_internal=True)
    Partnership.objects.filter(pk=svm.pk).update(internal_note="let op")
    return {"hidden": hidden, "internal_event": internal_event, "costly": costly}


def slugs(response) -> list[str]:
    return [item["slug"] for item in response.json()["results"]]


# --- Partnerships ---------------------------------------------------------------------------


def test_status_filter_and_field_follow_the_horizon(client, settings):
    assert slugs(client.get(f"{API}/partnerships/?status=active")) == []
    assert slugs(client.get(f"{API}/partnerships/?status=unknown")) == [MSG, SVM]
    settings.PORTAL_EVIDENCE_HORIZON_DAYS = 365 * 30
    response = client.get(f"{API}/partnerships/?status=active")
    assert slugs(response) == [MSG]
    assert response.json()["results"][0]["status"] == "active"


def test_partnerships_show_derived_memberships_and_status(client):
    response = client.get(f"{API}/partnerships/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["count"] == 2
    assert slugs(response) == [MSG, SVM]  # by name
    svm = body["results"][1]
    # "ending" as of its latest source (8 May 2019), older than the horizon: unknown today.
    assert (svm["status"], svm["last_evidence"]) == ("unknown", "2019-05-08")
    members = {m["municipality"]["cbs_code"]: m for m in svm["memberships"]}
    assert set(members) == {"GM0606", "GM0622", "GM0556"}
    maassluis = members["GM0556"]
    assert maassluis["start"] == "2013-04-16"
    assert maassluis["state"] == "ended"
    assert maassluis["end"] == "2016-23/2017"
    assert maassluis["end_lower"] == "2016-09-01" and maassluis["end_upper"] == "2017-12-31"
    assert maassluis["ended_by"] == "withdrawn"
    assert svm["pillars"] and svm["legal_form"] == "covenant"
    assert svm["html_url"].endswith(f"/partnerships/{SVM}/")
    assert svm["links"]["feed"].endswith(f"/feeds/partnerships/{SVM}/")


def test_partnership_detail_by_slug(client):
    response = client.get(f"{API}/partnerships/{SVM}/")
    assert response.status_code == 200
    assert response.json()["slug"] == SVM
    assert response.json()["url"] == f"http://testserver{API}/partnerships/{SVM}/"


def test_anonymous_clients_see_public_data_only(client, internal_data):
    assert "verborgen-verband" not in slugs(client.get(f"{API}/partnerships/?page_size=200"))
    assert client.get(f"{API}/partnerships/verborgen-verband/").status_code == 404
    svm = client.get(f"{API}/partnerships/{SVM}/").json()
    assert "internal_note" not in svm
    events = client.get(f"{API}/events/?partnership={SVM}").json()["results"]
    titles = {event["title"] for event in events}
    assert "Interne evaluatie" not in titles
    assert client.get(f"{API}/events/{internal_data['internal_event'].uid}/").status_code == 404
    costly = next(event for event in events if event["title"] == "Kosten verrekend")
    assert costly["cost_eur"] is None and costly["cost_note"] == "" and costly["cost_internal"] is True
    assert all("internal_note" not in event for event in events)


def test_signed_in_viewers_see_internal_data(viewer_client, internal_data):
    assert "verborgen-verband" in slugs(viewer_client.get(f"{API}/partnerships/?page_size=200"))
    hidden = viewer_client.get(f"{API}/partnerships/verborgen-verband/").json()
    assert hidden["internal_note"] == "geheim"
    assert hidden["visibility"] == "internal"
    assert [m["municipality"]["cbs_code"] for m in hidden["memberships"]] == ["GM0606"]
    assert viewer_client.get(f"{API}/partnerships/{SVM}/").json()["internal_note"] == "let op"
    event = viewer_client.get(f"{API}/events/{internal_data['internal_event'].uid}/").json()
    assert event["internal_note"] == "alleen intern"
    costly = viewer_client.get(f"{API}/events/{internal_data['costly'].uid}/").json()
    assert costly["cost_eur"] == "123456.00" and costly["cost_note"] == "volgens de raad"


def test_basic_authentication_works_for_scripts(client, viewer, internal_data):
    import base64

    token = base64.b64encode(f"{viewer.username}:{PASSWORD}".encode()).decode()
    response = client.get(f"{API}/partnerships/verborgen-verband/", HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("municipality=GM0606", [SVM]),
        ("municipality=GM0935", [MSG]),
        ("province=Limburg", [MSG]),
        ("province=Zuid-Holland", [SVM]),
        ("pillar=service_modernisation", [MSG]),
        ("legal_form=covenant", [MSG, SVM]),
        ("legal_form=wgr_public_body", []),
        ("status=active", []),  # its only source is of 2010: unknown today
        ("status=unknown", [MSG, SVM]),
        ("year=2011", [MSG]),
        ("year=2015", [MSG, SVM]),
        ("q=Maassluis", [SVM]),
        ("changed_since=2999-01-01T00:00:00Z", []),
        ("changed_since=2000-01-01T00:00:00Z", [MSG, SVM]),
    ],
)
def test_partnership_filters(client, query, expected):
    response = client.get(f"{API}/partnerships/?{query}")
    assert response.status_code == 200
    assert slugs(response) == expected


def test_changed_since_includes_partnerships_whose_events_changed(client, svm, msg):
    moment = timezone.now()
    Partnership.objects.filter(pk__in=[svm.pk, msg.pk]).update(updated_at=moment - datetime.timedelta(days=1))
    Event.objects.filter(partnership__in=[svm, msg]).update(updated_at=moment - datetime.timedelta(days=1))
    Event.objects.filter(pk=svm.events.first().pk).update(updated_at=moment + datetime.timedelta(seconds=1))
    since = moment.isoformat().replace("+00:00", "Z")
    assert slugs(client.get(f"{API}/partnerships/", {"changed_since": since})) == [SVM]


def test_invalid_filters_get_a_problem_document(client):
    response = client.get(f"{API}/partnerships/?province=Atlantis&year=abc")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and problem["title"] == "Bad Request"
    assert {param["name"] for param in problem["invalid-params"]} == {"province", "year"}


def test_unknown_resources_get_a_problem_document(client):
    for url in (f"{API}/partnerships/no-such-thing/", f"{API}/no-such-collection/", f"{API}/events/not-a-uuid/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/problem+json", url
        assert response.json()["status"] == 404


def test_writes_are_refused(client):
    response = client.post(f"{API}/partnerships/", {})
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"


# --- Pagination and conditional requests ----------------------------------------------------


def test_pagination_has_links_in_body_and_header(client):
    first = client.get(f"{API}/partnerships/?page_size=1")
    body = first.json()
    assert body["count"] == 2 and len(body["results"]) == 1
    assert body["next"] == f"http://testserver{API}/partnerships/?page=2&page_size=1"
    assert body["previous"] is None
    assert first["Link"] == f'<{body["next"]}>; rel="next"'
    second = client.get(body["next"])
    assert slugs(second) == [SVM]
    assert second.json()["next"] is None
    assert 'rel="prev"' in second["Link"]
    assert client.get(f"{API}/partnerships/?page=9").status_code == 404


def test_ordering_is_stable_across_pages(client):
    grow_register(7)
    seen = []
    url = f"{API}/events/?page_size=5"
    while url:
        body = client.get(url).json()
        seen.extend(event["uid"] for event in body["results"])
        url = body["next"]
    assert len(seen) == len(set(seen)) == Event.objects.public().count()


@pytest.mark.parametrize(
    "path",
    [
        "/partnerships/",
        f"/partnerships/{SVM}/",
        "/events/?partnership=" + SVM,
        "/municipalities/?province=Zeeland",
        "/municipalities/GM0606/",
        "/pillars/",
        "/pillars/joint_procurement/",
    ],
)
def test_conditional_requests_get_304(client, path):
    response = client.get(API + path)
    assert response.status_code == 200
    etag = response["ETag"]
    again = client.get(API + path, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert client.get(API + path, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_last_modified_follows_the_data(client, svm):
    response = client.get(f"{API}/partnerships/{SVM}/")
    last_modified = response["Last-Modified"]
    assert client.get(f"{API}/partnerships/{SVM}/", HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    # A change to one of its events makes the partnership modified again.
    Event.objects.filter(pk=svm.events.first().pk).update(updated_at=timezone.now() + datetime.timedelta(minutes=1))
    changed = client.get(f"{API}/partnerships/{SVM}/", HTTP_IF_MODIFIED_SINCE=last_modified)
    assert changed.status_code == 200
    assert changed["Last-Modified"] != last_modified


# --- Events, municipalities, pillars --------------------------------------------------------


def test_events_carry_edtf_dates_bounds_municipalities_and_sources(client):
    events = client.get(f"{API}/events/?partnership={SVM}&kind=withdrawal_decided").json()["results"]
    assert len(events) == 1
    event = events[0]
    assert event["date"] == "2016-23"
    assert (event["date_lower"], event["date_upper"], event["date_precision"]) == ("2016-09-01", "2016-11-30", "season")
    assert event["status"] == "happened"
    assert [m["cbs_code"] for m in event["municipalities"]] == ["GM0556"]
    assert event["sources"][0]["title"] == "Schiedam ziet af van ICT-samenwerking met Vlaardingen"
    assert client.get(event["url"]).json()["uid"] == event["uid"]


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("municipality=GM0556", 3),  # signed, withdrawal decided, disentangled
        ("status=planned&partnership=" + MSG, 2),
        ("year=2017&partnership=" + SVM, 2),  # disentangled (2017), study (2017-04)
        ("province=Limburg&kind=signed", 1),
        ("pillar=service_modernisation&kind=signed", 1),
        ("legal_form=wgr_joint_body", 0),
        ("changed_since=2999-01-01T00:00:00Z", 0),
    ],
)
def test_event_filters(client, query, count):
    response = client.get(f"{API}/events/?{query}")
    assert response.status_code == 200
    assert response.json()["count"] == count


def test_municipalities_by_cbs_code_and_filters(client):
    schiedam = client.get(f"{API}/municipalities/gm0606/").json()
    assert schiedam["name"] == "Schiedam"
    assert schiedam["tooi_uri"] == "https://identifier.overheid.nl/tooi/id/gemeente/gm0606"
    assert client.get(f"{API}/municipalities/?current=true").json()["count"] == 342
    assert client.get(f"{API}/municipalities/").json()["count"] == 1472
    zeeland = client.get(f"{API}/municipalities/?province=Zeeland&current=true&page_size=200").json()
    assert zeeland["count"] == 13
    former = client.get(f"{API}/municipalities/?name=Haarlemmerliede&current=false").json()["results"][0]
    assert former["merged_into"] and former["existed_until"]


def test_pillars(client):
    body = client.get(f"{API}/pillars/").json()
    assert [p["code"] for p in body["results"]] == [
        "knowledge_sharing",
        "architecture_alignment",
        "joint_procurement",
        "service_modernisation",
    ]
    assert client.get(f"{API}/pillars/joint_procurement/").json()["name_en"]


# --- Query counts ---------------------------------------------------------------------------

LISTS = [
    f"{API}/partnerships/",
    f"{API}/partnerships/?province=Zuid-Holland&year=2016&pillar=knowledge_sharing",
    f"{API}/partnerships/{SVM}/",
    f"{API}/events/",
    f"{API}/events/?municipality=GM0606&status=happened",
    f"{API}/municipalities/",
    f"{API}/pillars/",
]


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200, url
    return len(queries)


def test_every_list_costs_the_same_queries_on_small_and_larger_data(client, viewer_client):
    small = {url: count_queries(client, url) for url in LISTS}
    grow_register(30)
    large = {url: count_queries(client, url) for url in LISTS}
    assert large == small
    # + session and user when signed in, whatever the data
    signed_in = {url: count_queries(viewer_client, url) for url in LISTS}
    assert all(signed_in[url] == small[url] + 2 for url in LISTS)


def test_list_query_counts_are_pinned(client, django_assert_num_queries):
    # register stamp, count, the page's ids, the page, pillars, events, their municipalities
    with django_assert_num_queries(7):
        assert client.get(f"{API}/partnerships/").status_code == 200
    # register stamp, count, the page's ids, the page, municipalities, sources
    with django_assert_num_queries(6):
        assert client.get(f"{API}/events/").status_code == 200
    # Warm: the count and the page's ids come from the cache until anything changes.
    with django_assert_num_queries(4):
        assert client.get(f"{API}/events/").status_code == 200
    # count, the page
    with django_assert_num_queries(2):
        assert client.get(f"{API}/municipalities/").status_code == 200


# --- Throttling, schema, docs ---------------------------------------------------------------


def test_anonymous_clients_are_throttled(client, viewer_client, settings):
    settings.API_ANON_RATE = "3/minute"
    statuses = [client.get(f"{API}/pillars/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get(f"{API}/pillars/")
    assert refused["Content-Type"] == "application/problem+json"
    assert int(refused["Retry-After"]) > 0
    assert viewer_client.get(f"{API}/pillars/").status_code == 200


def test_schema_and_documentation_page(client):
    schema = client.get(f"{API}/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert set(paths) >= {
        "/api/v1/partnerships/",
        "/api/v1/partnerships/{slug}/",
        "/api/v1/events/",
        "/api/v1/events/{uid}/",
        "/api/v1/municipalities/",
        "/api/v1/municipalities/{cbs_code}/",
        "/api/v1/pillars/",
        "/api/v1/pillars/{code}/",
    }
    docs = client.get(f"{API}/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    # Swagger UI comes from the sidecar package, served as our own static files: no CDN.
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()


# --- Fuzzing against our own schema ---------------------------------------------------------


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(settings, mode):
    """No server error and no response outside the schema, whatever the parameters: valid ones
    (positive) and invalid ones (negative), for every operation, 25 examples each."""

    settings.API_ANON_RATE = "100000/minute"
    # As Django's test client does: keep the test's transaction open between requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        run_fuzz(mode)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def run_fuzz(mode) -> None:
    from portal.wsgi import application

    schema = schemathesis.openapi.from_wsgi(f"{API}/schema/?format=json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10
    skipped = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            case.call_and_validate(checks=CHECKS)

        try:
            call()
        except Unsatisfiable:
            # Free-text path parameters (a slug, a code) have no invalid values to generate.
            assert mode == GenerationMode.NEGATIVE
            skipped.append(operation.label)
    assert len(skipped) <= 4, skipped

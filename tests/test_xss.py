"""Script and HTML payloads in every text field come back inert everywhere they are shown."""

import json

import pytest
from django.db import models as django_models
from django.urls import reverse

from cooperation import services
from cooperation.models import Agreement, Event, Municipality, Participant, Partnership, Person, Source

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&'
DANGEROUS = ["<script>alert", "<img src=x", "onerror=alert(1)>"]


def text_fields(model):
    return [
        field.name
        for field in model._meta.get_fields()
        if isinstance(field, (django_models.CharField, django_models.TextField))
        and field.editable
        and not field.choices
        and field.name not in ("slug", "date_text", "url", "cbs_code")
    ]


@pytest.fixture
def poisoned(db, svm, municipality):
    """Every free-text field of every model filled with the payload."""
    schiedam = municipality("Schiedam")
    Municipality.objects.filter(pk=schiedam.pk).update(name="Schiedam " + PAYLOAD)
    for field in text_fields(Partnership):
        setattr(svm, field, PAYLOAD)
    svm.save()
    source = Source.objects.create(url="https://example.org/x", **dict.fromkeys(text_fields(Source), PAYLOAD))
    person = Person.objects.create(**dict.fromkeys(text_fields(Person), PAYLOAD))
    agreement = Agreement.objects.create(
        partnership=svm, kind="other", **dict.fromkeys(text_fields(Agreement), PAYLOAD)
    )
    event = services.event_record(
        partnership=svm,
        kind="evaluated",
        date_text="2018",
        municipalities=[schiedam],
        agreement=agreement,
        sources=[source],
        participants=[(person, "other", schiedam, PAYLOAD)],
        **{f: PAYLOAD for f in text_fields(Event) if f not in ("procurement_reference",)},
        procurement_reference=PAYLOAD[:100],
    )
    assert set(text_fields(Participant)) == {"note"}
    services.partnerships_changed(partnership_ids=[svm.pk])
    return {"partnership": svm, "event": event, "schiedam": schiedam, "source": source, "person": person}


def assert_inert(content: str, where: str):
    for dangerous in DANGEROUS:
        assert dangerous not in content, f"{dangerous!r} unescaped in {where}"
    assert "&lt;script&gt;" in content or "\\u003Cscript\\u003E" in content, f"payload missing from {where}"


def test_public_pages_escape_every_text_field(client, poisoned, admin_user):
    urls = [
        poisoned["partnership"].get_absolute_url(),
        "/partnerships/",
        "/",
        poisoned["schiedam"].get_absolute_url(),
        "/pillars/architecture_alignment/",
    ]
    client.force_login(admin_user)  # signed in: internal notes are shown too
    for url in urls:
        assert_inert(client.get(url).content.decode(), url)


def test_admin_escapes_every_text_field(admin_client, poisoned):
    urls = [
        reverse("admin:cooperation_partnership_change", args=[poisoned["partnership"].pk]),
        reverse("admin:cooperation_partnership_changelist"),
        reverse("admin:cooperation_event_change", args=[poisoned["event"].pk]),
        reverse("admin:cooperation_event_changelist"),
        reverse("admin:cooperation_source_changelist"),
        reverse("admin:cooperation_person_changelist"),
        reverse("admin:cooperation_municipality_changelist") + "?q=Schiedam",
        reverse("admin:cooperation_partnership_history", args=[poisoned["partnership"].pk]),
        reverse("audit"),
    ]
    for url in urls:
        assert_inert(admin_client.get(url).content.decode(), url)


def test_feeds_carry_the_payload_as_escaped_text(client, poisoned):
    import feedparser

    for url in ["/feeds/events/", f"/feeds/partnerships/{poisoned['partnership'].slug}/"]:
        body = client.get(url).content.decode()
        for dangerous in DANGEROUS:
            assert dangerous not in body, f"{dangerous!r} unescaped in {url}"
        parsed = feedparser.parse(body)
        assert not parsed.bozo, url
        assert any(
            "<script>" in (entry.get("title", "") + entry.get("summary", "")) for entry in parsed.entries
        ) or any("&lt;script&gt;" in (entry.get("title", "") + entry.get("summary", "")) for entry in parsed.entries), (
            f"payload missing from {url}"
        )


def test_exports_keep_the_payload_as_plain_text(poisoned):
    from cooperation.porting.export import export_file

    poisoned["event"].title = '=HYPERLINK("https://evil.example")' + PAYLOAD
    poisoned["event"].save()
    csv_text = export_file(kind="events", file_format="csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text and ",=HYPERLINK" not in csv_text  # formula neutralised
    assert PAYLOAD.replace('"', '""') in csv_text  # the text itself survives, as data
    rows = json.loads(export_file(kind="events", file_format="json"))
    assert any(row["title"].endswith(PAYLOAD) for row in rows)  # JSON keeps it as exact data

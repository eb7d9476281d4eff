"""Helpers that make test data, shared by every test module (the cast itself is in conftest.py).

A test module imports what it needs from here, never from another test module.
"""

import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from cooperation import services
from cooperation.models import (
    Agreement,
    Document,
    EditorProfile,
    Event,
    Membership,
    Municipality,
    Participant,
    Partnership,
    Person,
    Pillar,
    Source,
)

SVM = "schiedam-vlaardingen-maassluis-ict"
MSG = "maastricht-sittard-geleen-ict"
PASSWORD = "correct-horse-battery-9"


def make_user(username: str, role: str | None = None, *cbs_codes: str, **fields):
    """An account with password PASSWORD; with a role (`viewer`, `editor`, `administrator`) also
    staff and in that group; with CBS codes an editor profile for those municipalities."""
    user = get_user_model().objects.create_user(
        username, f"{username}@example.org", PASSWORD, is_staff=role in ("editor", "administrator"), **fields
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    if cbs_codes:
        EditorProfile.objects.create(user=user).municipalities.set(Municipality.objects.filter(cbs_code__in=cbs_codes))
    return user


def grow_register(count: int) -> None:
    """Add `count` partnerships of six events each, with members, pillars and sources.

    Written in bulk (the rules are tested elsewhere); the derived data is rebuilt as usual.
    """
    municipalities = list(Municipality.objects.current().order_by("cbs_code")[:60])
    pillars = list(Pillar.objects.all())
    codes = itertools.cycle(range(len(municipalities)))
    start = Partnership.objects.count()
    for number in range(start, start + count):
        members = [municipalities[next(codes)] for _ in range(4)]
        partnership = Partnership.objects.create(name=f"Proefverband {number}", slug=f"proefverband-{number}")
        partnership.pillars.set(pillars[: 1 + number % 4])
        source = Source.objects.create(title=f"Bron {number}", url=f"https://example.org/{number}")
        plan = [
            ("signed", "2015-03-01", "happened", members),
            ("joined", "2016", "happened", [municipalities[-1 - number % 20]]),
            ("withdrawal_decided", "2017-23", "happened", members[:1]),
            ("disentangled", "2018", "happened", members[:1]),
            ("evaluated", "2019-05", "happened", members[1:]),
            ("tender_launched", "", "planned", members),
        ]
        events = []
        for kind, date_text, status, _members in plan:
            event = Event(partnership=partnership, kind=kind, date_text=date_text, status=status, title=kind)
            event.derive_date()
            events.append(event)
        Event.objects.bulk_create(events)
        for event, (*_, concerned) in zip(events, plan, strict=True):
            event.municipalities.set(concerned)
            event.sources.set([source])
        services.partnerships_changed(partnership_ids=[partnership.pk])


def partnerships_csv(rows: int, prefix: str = "achtergrond") -> bytes:
    lines = ["slug,name,legal_form,pillars,summary,visibility,last_verified"]
    for n in range(rows):
        lines.append(f"{prefix}-{n},Samenwerking {prefix} {n},covenant,knowledge_sharing,Proef {n},public,2026-01-15")
    return ("\n".join(lines) + "\n").encode()


def admin_form_data(response) -> dict:
    """The POST data of an admin change page as the browser would send it unchanged."""

    def value_of(form, name, field):
        value = form.initial.get(name, field.initial)
        if callable(value):
            value = value()
        if hasattr(value, "pk"):
            return value.pk
        if isinstance(value, list | tuple) or hasattr(value, "all"):
            items = value.all() if hasattr(value, "all") else value
            return [getattr(item, "pk", item) for item in items]
        return value

    data = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = value_of(form, name, field)
        if value is not None:
            data[name] = value
    for inline in response.context.get("inline_admin_formsets", []):
        formset = inline.formset
        for name, field in formset.management_form.fields.items():
            data[f"{formset.prefix}-{name}"] = formset.management_form.initial.get(name, field.initial)
        for index, inline_form in enumerate(formset.forms):
            for name, field in inline_form.fields.items():
                value = value_of(inline_form, name, field)
                if value is not None:
                    data[f"{formset.prefix}-{index}-{name}"] = value
    return data


def empty_the_register() -> None:
    """What a new portal starts with: nothing but the pillars (inside the test's transaction)."""
    Participant.objects.all().delete()
    Person.objects.all().delete()
    Event.objects.all().delete()
    Agreement.objects.all().delete()
    Membership.objects.all().delete()
    Partnership.objects.all().delete()
    Source.objects.all().delete()
    Municipality.objects.update(merged_into=None)
    Municipality.objects.all().delete()


def make_pdf(*lines: str) -> bytes:
    """A small, real PDF of one page with these lines of text (no lines: a page without a text
    layer, like a scan). Written by hand, with a correct cross-reference table."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(
        "({}) '".format(line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")) for line in lines
    )
    stream = (content + " ET").encode("latin-1") if lines else b"0 0 1 rg 72 72 200 200 re f"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_document(
    *, agreement=None, event=None, title="Ondertekende overeenkomst", data=None, name="overeenkomst.pdf", **fields
):
    """A document of an agreement or an event, stored through the service (`data`: the file's
    bytes, a PDF with a line of text by default)."""
    document = Document(agreement=agreement, event=event, title=title, **fields)
    upload = SimpleUploadedFile(name, data if data is not None else make_pdf("Samenwerkingsovereenkomst ICT"))
    return services.document_save(document=document, file=upload)

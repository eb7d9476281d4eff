"""Hostile users: every attempt of the probe in issue 14, kept as a test (docs/security.md).

The attacker is Schiedam's editor (GM0606, member of Schiedam-Vlaardingen-Maassluis); the
target is Maastricht-Sittard-Geleen, which Schiedam has no part in. Each attempt must be
refused with "does not exist" or a clear message, leave the database unchanged and show
nothing of the other partnership.
"""

from __future__ import annotations

import time
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from cooperation import middleware
from cooperation.models import Agreement, EditorProfile, Event, Municipality, Partnership, Person, Source

PASSWORD = "Redacteur-wachtwoord-1"


@pytest.fixture
def editor(db):
    user = get_user_model().objects.create_user("redacteur_schiedam", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="editor"))
    EditorProfile.objects.create(user=user).municipalities.set([Municipality.objects.get(cbs_code="GM0606")])
    return user


@pytest.fixture
def administrator(db):
    user = get_user_model().objects.create_user("beheerder", password="Beheerder-wachtwoord-1", is_staff=True)
    user.groups.add(Group.objects.get(name="administrator"))
    return user


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def snapshot() -> dict[str, str]:
    """A checksum of every row of every table the portal writes (history and admin log included)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND "
            "(tablename LIKE 'cooperation_%%' OR tablename IN ('auth_user', 'auth_user_groups', 'django_admin_log'))"
        )
        tables = sorted(row[0] for row in cursor.fetchall())
        sums = {}
        for table in tables:
            # Signing in (force_login) moves auth_user.last_login: not a write by the attempt.
            rows = (
                "(SELECT id, username, password, is_staff, is_superuser, is_active, email FROM auth_user)"
                if table == "auth_user"
                else f'"{table}"'
            )
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {rows} t"
            )  # noqa: S608
            sums[table] = cursor.fetchone()
    return sums


def secrets_of(partnership: Partnership) -> list[str]:
    """What the editor must not be shown: the other partnership's name and its titles."""
    titles = [partnership.name]
    titles += [title for title in partnership.events.values_list("title", flat=True) if title]
    titles += list(partnership.agreements.values_list("title", flat=True))
    return titles


def disclosed(response, secrets: list[str]) -> list[str]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = content.decode("utf-8", "replace")
    return [secret for secret in secrets if secret in text]


def history_record(obj):
    return obj.history.order_by("-history_id").first()


# --- 1. History list and revert as an out-of-scope editor ------------------------------------------


def test_history_list_of_another_partnership_does_not_exist(editor_client, msg):
    response = editor_client.get(reverse("admin:cooperation_partnership_history", args=[msg.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:index")
    assert "bestaat niet" in response.content.decode()
    assert not disclosed(response, secrets_of(msg))


def test_history_revert_form_of_another_partnership_does_not_exist(editor_client, msg):
    url = reverse("admin:cooperation_partnership_simple_history", args=[msg.pk, history_record(msg).history_id])
    assert editor_client.get(url).status_code == 302
    before = snapshot()
    response = editor_client.post(
        url,
        {"name": "Phishing", "slug": msg.slug, "legal_form": msg.legal_form, "visibility": "public"},
    )
    assert response.status_code == 302
    assert snapshot() == before
    assert Partnership.objects.get(pk=msg.pk).name == msg.name


def test_history_revert_cannot_move_another_partnerships_event_into_ones_own(client, editor, administrator, msg, svm):
    event = msg.events.order_by("pk").first()
    url = reverse("admin:cooperation_event_simple_history", args=[event.pk, history_record(event).history_id])
    client.force_login(administrator)
    data = {**form_data(client.get(url).content.decode()), "partnership": str(svm.pk), "agreement": ""}
    client.force_login(editor)
    before = snapshot()
    client.post(url, data)
    assert snapshot() == before
    assert Event.objects.get(pk=event.pk).partnership_id == msg.pk


def test_history_revert_of_a_municipality_needs_change_permission(editor_client):
    """Editors may view municipalities; the library's revert form saved on that alone."""
    maastricht = Municipality.objects.get(cbs_code="GM0935")
    maastricht.save()  # a history record to revert to (the reference data is loaded in bulk)
    url = reverse(
        "admin:cooperation_municipality_simple_history", args=[maastricht.pk, history_record(maastricht).history_id]
    )
    assert editor_client.get(url).status_code == 200  # viewing is allowed
    before = snapshot()
    response = editor_client.post(url, {"name": "Gekaapt", "slug": "gekaapt", "cbs_code": "GM0935"})
    assert response.status_code == 403
    assert snapshot() == before


def test_history_of_ones_own_partnership_still_opens(editor_client, svm):
    assert editor_client.get(reverse("admin:cooperation_partnership_history", args=[svm.pk])).status_code == 200
    url = reverse("admin:cooperation_partnership_simple_history", args=[svm.pk, history_record(svm).history_id])
    assert editor_client.get(url).status_code == 200


# --- 2. Shared sources ----------------------------------------------------------------------------


def source_data(source: Source, **changes) -> dict:
    data = {
        "url": source.url,
        "title": source.title,
        "publisher": source.publisher,
        "author": source.author,
        "published_on": source.published_on or "",
        "retrieved_on": source.retrieved_on or "",
        "kind": source.kind,
    }
    return {**data, **changes}


def test_editor_cannot_repoint_a_source_cited_by_another_partnership(editor_client, msg):
    source = msg.events.filter(sources__isnull=False).first().sources.first()
    url = reverse("admin:cooperation_source_change", args=[source.pk])
    page = editor_client.get(url)
    assert page.status_code == 200
    assert "alleen een beheerder" in page.content.decode()
    before = snapshot()
    response = editor_client.post(url, source_data(source, url="https://phishing.example/"))
    assert response.status_code == 403
    assert snapshot() == before


def test_editor_changes_a_source_cited_only_by_their_own_events(editor_client, svm):
    source = Source.objects.create(url="https://example.org/eigen", title="Eigen bron")
    svm.events.order_by("pk").first().sources.add(source)
    url = reverse("admin:cooperation_source_change", args=[source.pk])
    response = editor_client.post(url, source_data(source, title="Eigen bron, verbeterd"))
    assert response.status_code == 302
    assert Source.objects.get(pk=source.pk).title == "Eigen bron, verbeterd"


def test_a_source_shared_with_another_partnership_is_refused_too(editor_client, svm, msg):
    source = Source.objects.create(url="https://example.org/gedeeld", title="Gedeelde bron")
    svm.events.order_by("pk").first().sources.add(source)
    msg.events.order_by("pk").first().sources.add(source)
    response = editor_client.post(
        reverse("admin:cooperation_source_change", args=[source.pk]), source_data(source, title="Anders")
    )
    assert response.status_code == 403
    assert Source.objects.get(pk=source.pk).title == "Gedeelde bron"


def test_editor_cannot_rename_a_person_of_another_partnership(editor_client, msg):
    person = Person.objects.filter(participations__event__partnership=msg).first()
    assert person is not None
    before = snapshot()
    response = editor_client.post(reverse("admin:cooperation_person_change", args=[person.pk]), {"name": "Gekaapt"})
    assert response.status_code == 403
    assert snapshot() == before


# --- 3. An event's agreement is its own partnership's ----------------------------------------------


def test_event_refuses_an_agreement_of_another_partnership(svm, msg):
    event = svm.events.order_by("pk").first()
    event.agreement = msg.agreements.first()
    with pytest.raises(ValidationError) as caught:
        event.full_clean()
    assert caught.value.error_dict["agreement"][0].code == "agreement_of_other_partnership"


def test_admin_cannot_link_another_partnerships_agreement_even_as_administrator(client, administrator, svm, msg):
    client.force_login(administrator)
    event = svm.events.filter(agreement__isnull=False).order_by("pk").first()
    url = reverse("admin:cooperation_event_change", args=[event.pk])
    page = client.get(url).content.decode()
    # The choice is a list of this partnership's agreements only.
    assert svm.agreements.first().title in page
    assert not disclosed(client.get(url), list(msg.agreements.values_list("title", flat=True)))
    data = form_data(page)
    data["agreement"] = str(msg.agreements.first().pk)
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    assert snapshot() == before
    assert Event.objects.get(pk=event.pk).agreement.partnership_id == svm.pk


# --- The whole admin, walked as an out-of-scope editor ---------------------------------------------


class _FormReader(HTMLParser):
    """The fields of each <form method="post"> of an admin page, as a browser would send them."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict[str, list[str]]] = []
        self.data: dict[str, list[str]] | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.data = {}
            self.forms.append(self.data)
        if self.data is None or not attrs.get("name") and tag != "option":
            return
        name = attrs.get("name")
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in {"submit", "button", "file", "image"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            self.data.setdefault(name, []).append(attrs.get("value") or ("on" if kind == "checkbox" else ""))
        elif tag == "select":
            self.select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self.select and "selected" in attrs:
            self.data[self.select].append(attrs.get("value", ""))
        elif tag == "textarea":
            self.textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.data = None

    def handle_data(self, data):
        if self.textarea and self.data is not None:
            self.data[self.textarea][0] += data


def form_data(html: str) -> dict:
    """The page's main form: the POST form with the most fields (not the language or logout form)."""
    reader = _FormReader()
    reader.feed(html)
    fields = max(reader.forms, key=len, default={})
    return {name: values if len(values) != 1 else values[0] for name, values in fields.items()}


def hijack(data: dict) -> dict:
    """The same form with every text a hostile editor would change changed."""
    changed = dict(data)
    for name in ("name", "title", "url", "summary", "description", "internal_note"):
        if name in changed:
            changed[name] = "https://phishing.example/" if name == "url" else "Gekaapt"
    return changed


SCOPED = {Partnership, Event, Agreement}


def target_object(model, msg: Partnership):
    """For each registered model, an object of the other partnership or one the editor may not change."""
    if model is Partnership:
        return msg
    if model is Event:
        return msg.events.filter(visibility="public").order_by("pk").first()
    if model is Agreement:
        return msg.agreements.order_by("pk").first()
    if model is Source:
        return Source.objects.filter(events__partnership=msg).first()
    if model is Person:
        return Person.objects.filter(participations__event__partnership=msg).first()
    if model is Municipality:
        return Municipality.objects.get(cbs_code="GM0935")
    return model._default_manager.order_by("pk").first()


def urls_of(model, model_admin, obj) -> list[str]:
    """Every named URL of this model admin, filled in for `obj`; an unknown view fails the walk, so a
    new admin view cannot escape it."""
    info = f"{model._meta.app_label}_{model._meta.model_name}"
    pk = obj.pk if obj is not None else 999999
    record = history_record(obj) if obj is not None and hasattr(model, "history") else None
    urls = []
    for pattern in model_admin.get_urls():
        name = getattr(pattern, "name", None)
        if name is None:
            continue  # "<id>/": Django's redirect to the change page
        suffix = name.removeprefix(info + "_")
        if suffix in {"changelist", "add", "import", "deleted"}:
            urls.append(reverse(f"admin:{name}"))
        elif suffix == "export":
            urls += [reverse(f"admin:{name}", args=[file_format]) for file_format in ("csv", "xlsx", "json")]
        elif suffix in {"history", "delete", "change", "undo", "password_change", "config", "qrcode"}:
            urls.append(reverse(f"admin:{name}", args=[pk]))
        elif suffix == "simple_history":
            urls.append(reverse(f"admin:{name}", args=[pk, record.history_id if record else 999999]))
        else:
            raise AssertionError(f"The walk does not know the admin view {name}: add it to urls_of().")
    return urls


def autocomplete_urls() -> list[str]:
    urls = []
    for model, model_admin in admin.site._registry.items():
        holders = [model_admin, *[inline(model, admin.site) for inline in model_admin.inlines]]
        for holder in holders:
            for field_name in holder.autocomplete_fields:
                for term in ("Maastricht", "Samenwerkingsovereenkomst", "ICT", "%00"):
                    urls.append(
                        f"{reverse('admin:autocomplete')}?app_label={holder.model._meta.app_label}"
                        f"&model_name={holder.model._meta.model_name}&field_name={field_name}&term={term}"
                    )
    return urls


def test_walk_every_admin_view_as_an_out_of_scope_editor(client, editor, administrator, msg):
    """GET and POST every admin URL of every registered model for another partnership's objects:
    nothing is written, nothing of the other partnership is shown, nothing answers 500."""
    secrets = secrets_of(msg)
    before = snapshot()
    walked = 0
    for model, model_admin in admin.site._registry.items():
        obj = target_object(model, msg)
        for url in urls_of(model, model_admin, obj):
            client.force_login(administrator)
            admin_page = client.get(url)
            is_page = admin_page.status_code == 200 and admin_page["Content-Type"].startswith("text/html")
            data = hijack(form_data(admin_page.content.decode())) if is_page else {}
            if url.endswith("/delete/"):
                data["post"] = "yes"
            if url.endswith("/changelist/") or url.endswith(f"/{model._meta.model_name}/"):
                data = {"action": "delete_selected", "_selected_action": [str(obj.pk)] if obj else [], "post": "yes"}
            client.force_login(editor)
            for method in ("get", "post"):
                if method == "post" and url.endswith(("/import/", "/add/")):
                    # Uploads are checked by the import's own tests; adding a new source or person is
                    # the editor's right, adding to another partnership is test_permissions' add_event_other.
                    continue
                response = getattr(client, method)(url, data) if method == "post" else client.get(url)
                walked += 1
                assert response.status_code != 500, url
                assert snapshot() == before, f"{method.upper()} {url} wrote to the database"
                if model in SCOPED or response.status_code in (302, 403, 404):
                    assert not disclosed(response, secrets), (
                        f"{method.upper()} {url} shows {disclosed(response, secrets)}"
                    )
            # The export action on the other partnership's rows gives an empty file at most.
            if model in SCOPED and obj is not None and getattr(model_admin, "import_kind", ""):
                response = client.post(
                    reverse(f"admin:cooperation_{model._meta.model_name}_changelist"),
                    {"action": "export_selected_csv", "_selected_action": [str(obj.pk)]},
                )
                assert not disclosed(response, secrets)
    client.force_login(editor)
    for url in autocomplete_urls():
        response = client.get(url)
        walked += 1
        assert response.status_code in (200, 400, 403, 404), url
        if "field_name=partnership" in url or "field_name=agreement" in url:
            assert not disclosed(response, secrets), url
    assert snapshot() == before
    assert walked > 100


# --- 7. NUL bytes and control characters ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/municipalities/GM%0006/",
        "/pillars/a%00/",
        "/partnerships/a%00b/",
        "/feeds/municipalities/GM%0006/",
        "/feeds/pillars/a%00/",
        "/calendars/municipalities/GM%0006.ics",
        "/api/v1/municipalities/GM%0006/",
        "/api/v1/pillars/a%00/",
        "/downloads/a%00",
        "/partnerships/?q=%00",
        "/api/v1/partnerships/?q=%00",
        "/admin/cooperation/event/?province=%00",
        "/admin/cooperation/event/?q=%00",
        "/admin/autocomplete/?app_label=cooperation&model_name=event&field_name=partnership&term=%00",
        "/municipalities/GM0606%01/",
    ],
)
def test_nul_bytes_and_control_characters_are_a_bad_request_never_a_500(client, administrator, url):
    client.force_login(administrator)
    response = client.get(url)
    assert response.status_code in (400, 404), response.status_code
    if response.status_code == 400 and url.startswith("/api/"):
        assert response["Content-Type"] == "application/problem+json"
    elif response.status_code == 400:
        assert "niet is toegestaan" in response.content.decode()


def test_a_bad_request_is_not_a_500_in_production_mode_either(client, settings):
    settings.DEBUG = False
    response = client.get("/municipalities/GM%0006/")
    assert response.status_code == 400


# --- 5. Who the client is: throttle and lockout behind a proxy ---------------------------------------


def api_get(client, remote: str, forwarded: str | None = None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.get("/api/v1/pillars/", **headers)


def test_a_spoofed_x_forwarded_for_does_not_escape_the_api_throttle(client, db, settings):
    settings.API_ANON_RATE = "3/minute"
    statuses = [api_get(client, "198.51.100.7", f"10.0.0.{attempt}").status_code for attempt in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_behind_one_proxy_the_throttle_counts_the_real_client(client, db, settings):
    settings.API_ANON_RATE = "3/minute"
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    statuses = [
        api_get(client, proxy, f"{spoof}, 198.51.100.7").status_code
        for spoof in ("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4")
    ]
    assert statuses == [200, 200, 200, 429]
    assert api_get(client, proxy, "203.0.113.9").status_code == 200  # another client behind the same proxy


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (1, "not-an-address", "10.0.0.1"),
        (1, "", "10.0.0.1"),
    ],
)
def test_client_ip(rf, settings, count, forwarded, expected):
    settings.PORTAL_TRUSTED_PROXY_COUNT = count
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert middleware.client_ip(request) == expected


def test_lockout_behind_one_proxy_is_per_user_and_real_address(client, settings, editor):
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _attempt in range(5):
        client.post(
            reverse("login"),
            {"username": editor.username, "password": "fout"},
            HTTP_X_FORWARDED_FOR="203.0.113.66",
            **proxy,
        )
    attacker = client.post(
        reverse("login"),
        {"username": editor.username, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="203.0.113.66",
        **proxy,
    )
    assert attacker.status_code == 429
    client.cookies.clear()
    colleague = client.post(
        reverse("login"),
        {"username": editor.username, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.7",
        **proxy,
    )
    assert colleague.status_code == 302
    assert "_auth_user_id" in client.session


# --- 9. Staff sessions end ------------------------------------------------------------------------


def age_session(client, **seconds_ago):
    session = client.session
    now = int(time.time())
    if "idle" in seconds_ago:
        session[middleware.SESSION_LAST_SEEN_AT] = now - seconds_ago["idle"]
    if "signed_in" in seconds_ago:
        session[middleware.SESSION_SIGNED_IN_AT] = now - seconds_ago["signed_in"]
    session.save()


def test_staff_are_signed_out_after_thirty_idle_minutes(editor_client):
    assert editor_client.get(reverse("admin:index")).status_code == 200
    age_session(editor_client, idle=29 * 60)
    assert editor_client.get(reverse("admin:index")).status_code == 200
    age_session(editor_client, idle=31 * 60)
    response = editor_client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith((reverse("admin:login"), reverse("login")))
    assert "30 minuten zonder activiteit" in response.content.decode()


def test_staff_sessions_end_after_twelve_hours_however_active(editor_client):
    editor_client.get(reverse("admin:index"))
    age_session(editor_client, idle=10, signed_in=12 * 3600 + 60)
    response = editor_client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert "_auth_user_id" not in editor_client.session


def test_a_viewer_keeps_their_session(client, db):
    viewer = get_user_model().objects.create_user("kijker", password="Ambtenaar-wachtwoord-1")
    client.force_login(viewer)
    age_session(client, idle=3 * 3600, signed_in=24 * 3600)
    client.get("/")
    assert "_auth_user_id" in client.session


def test_an_import_cannot_redescribe_a_source_cited_outside_the_editors_scope(editor, svm, msg):
    """The import follows the admin's rule for shared sources (permissions.can_change_source)."""
    import csv
    import io

    from cooperation.porting import importer
    from cooperation.porting.columns import COLUMNS

    source = Source.objects.create(url="https://example.org/gedeeld", title="Gedeelde bron")
    msg.events.order_by("pk").first().sources.add(source)
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=COLUMNS["events"], lineterminator="\r\n")
    writer.writeheader()
    row = {"partnership": svm.slug, "kind": "evaluated", "date": "2018", "status": "happened", "visibility": "public"}
    row |= {"municipalities": "GM0606", "source_url": source.url, "source_title": "Phishing"}
    writer.writerow({column: row.get(column, "") for column in COLUMNS["events"]})
    before = snapshot()

    report = importer.run_import(
        kind="events", data=out.getvalue().encode(), filename="x.csv", user=editor, dry_run=False
    )

    assert not report.ok
    assert any("alleen een beheerder" in str(problem.message) for problem in report.problems)
    assert snapshot() == before and Source.objects.get(pk=source.pk).title == "Gedeelde bron"

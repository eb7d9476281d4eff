"""Who may do what: the policy as one table, checked through the real pages and admin."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from cooperation import permissions, services
from cooperation.models import EditorProfile, Event, Municipality, Partnership, Source

# The policy at a glance. "yes" means the role may do it; "no" means it is refused.
# Own = the Schiedam-Vlaardingen-Maassluis partnership, of which the editor's Vlaardingen is a member;
# other = Maastricht-Sittard-Geleen.
POLICY = """
action                        anonymous  viewer  editor  administrator
view_public_partnership       yes        yes     yes     yes
view_internal_event           no         yes     yes     yes
open_admin                    no         no      yes     yes
change_own_partnership        no         no      yes     yes
change_other_partnership      no         no      no      yes
delete_own_partnership        no         no      no      yes
delete_other_partnership      no         no      no      yes
add_event_own                 no         no      yes     yes
add_event_other               no         no      no      yes
change_event_own              no         no      yes     yes
change_event_other            no         no      no      yes
delete_event_own              no         no      yes     yes
delete_event_other            no         no      no      yes
import                        no         no      yes     yes
export                        no         yes     yes     yes
manage_users                  no         no      no      yes
manage_municipalities         no         no      no      yes
history_own_partnership       no         no      yes     yes
history_other_partnership     no         no      no      yes
revert_other_partnership      no         no      no      yes
change_other_source           no         no      no      yes
link_other_agreement          no         no      no      no
"""

ROLES = POLICY.split("\n")[1].split()[1:]
EXPECTED = {
    (line.split()[0], role): answer == "yes"
    for line in POLICY.strip().split("\n")[1:]
    for role, answer in zip(ROLES, line.split()[1:], strict=True)
}


@pytest.fixture
def cast(db, svm, msg):
    User = get_user_model()
    viewer = User.objects.create_user("viewer", password="Ambtenaar-wachtwoord-1")
    viewer.groups.add(Group.objects.get(name="viewer"))
    editor = User.objects.create_user("editor_vlaardingen", password="Redacteur-wachtwoord-1", is_staff=True)
    editor.groups.add(Group.objects.get(name="editor"))
    EditorProfile.objects.create(user=editor).municipalities.set(
        [Municipality.objects.get(cbs_code="GM0622")]  # Vlaardingen
    )
    administrator = User.objects.create_user("beheerder", password="Beheerder-wachtwoord-1", is_staff=True)
    administrator.groups.add(Group.objects.get(name="administrator"))
    internal = services.event_record(
        partnership=svm,
        kind="evaluated",
        date_text="2018",
        municipalities=[Municipality.objects.get(cbs_code="GM0606")],
        title="Interne evaluatie",
        visibility="internal",
    )
    return {
        "anonymous": None,
        "viewer": viewer,
        "editor": editor,
        "administrator": administrator,
        "own": svm,
        "other": msg,
        "internal_event": internal,
    }


def admin_page_opens(client, url) -> bool:
    response = client.get(url)
    return response.status_code == 200


def add_event(client, partnership, **extra) -> bool:
    before = Event.objects.filter(partnership=partnership).count()
    client.post(
        reverse("admin:cooperation_event_add"),
        {
            **extra,
            "partnership": partnership.pk,
            "kind": "evaluated",
            "status": "happened",
            "date_text": "2020",
            "municipalities": [partnership.memberships.for_audience(False).first().municipality_id],
            "role": "participant",
            "visibility": "public",
            "participants-TOTAL_FORMS": "0",
            "participants-INITIAL_FORMS": "0",
        },
    )
    return Event.objects.filter(partnership=partnership).count() == before + 1


def first_event(partnership):
    return partnership.events.order_by("pk").first()


def revert_partnership(client, partnership) -> bool:
    """POST the history revert form of the partnership's latest record with a new name."""
    record = partnership.history.order_by("-history_id").first()
    client.post(
        reverse("admin:cooperation_partnership_simple_history", args=[partnership.pk, record.history_id]),
        {
            "name": "Teruggezet",
            "slug": partnership.slug,
            "summary": partnership.summary,
            "legal_form": partnership.legal_form,
            "pillars": list(partnership.pillars.values_list("pk", flat=True)),
            "visibility": partnership.visibility,
            "last_verified": partnership.last_verified or "",
            "internal_note": partnership.internal_note,
            "expected_version": partnership.version,
        },
    )
    return Partnership.objects.get(pk=partnership.pk).name == "Teruggezet"


def change_source_of(client, partnership) -> bool:
    """POST a new URL for a source cited only by this partnership's events."""
    source = (
        Source.objects.filter(events__partnership=partnership)
        .exclude(events__partnership__in=Partnership.objects.exclude(pk=partnership.pk))
        .first()
    )
    client.post(
        reverse("admin:cooperation_source_change", args=[source.pk]),
        {"url": "https://example.org/elders", "title": source.title, "kind": source.kind},
    )
    return Source.objects.get(pk=source.pk).url == "https://example.org/elders"


ACTIONS = {
    "view_public_partnership": lambda c, o: c.get(o["own"].get_absolute_url()).status_code == 200,
    "view_internal_event": lambda c, o: "Interne evaluatie" in c.get(o["own"].get_absolute_url()).content.decode(),
    "open_admin": lambda c, o: admin_page_opens(c, reverse("admin:index")),
    "change_own_partnership": lambda c, o: admin_page_opens(
        c, reverse("admin:cooperation_partnership_change", args=[o["own"].pk])
    ),
    "change_other_partnership": lambda c, o: admin_page_opens(
        c, reverse("admin:cooperation_partnership_change", args=[o["other"].pk])
    ),
    "delete_own_partnership": lambda c, o: admin_page_opens(
        c, reverse("admin:cooperation_partnership_delete", args=[o["own"].pk])
    ),
    "delete_other_partnership": lambda c, o: admin_page_opens(
        c, reverse("admin:cooperation_partnership_delete", args=[o["other"].pk])
    ),
    "add_event_own": lambda c, o: add_event(c, o["own"]),
    "add_event_other": lambda c, o: add_event(c, o["other"]),
    "change_event_own": lambda c, o: admin_page_opens(
        c, reverse("admin:cooperation_event_change", args=[first_event(o["own"]).pk])
    ),
    "change_event_other": lambda c, o: admin_page_opens(
        c, reverse("admin:cooperation_event_change", args=[first_event(o["other"]).pk])
    ),
    "delete_event_own": lambda c, o: admin_page_opens(
        c, reverse("admin:cooperation_event_delete", args=[first_event(o["own"]).pk])
    ),
    "delete_event_other": lambda c, o: admin_page_opens(
        c, reverse("admin:cooperation_event_delete", args=[first_event(o["other"]).pk])
    ),
    "history_own_partnership": lambda c, o: admin_page_opens(
        c, reverse("admin:cooperation_partnership_history", args=[o["own"].pk])
    ),
    "history_other_partnership": lambda c, o: admin_page_opens(
        c, reverse("admin:cooperation_partnership_history", args=[o["other"].pk])
    ),
    "revert_other_partnership": lambda c, o: revert_partnership(c, o["other"]),
    "change_other_source": lambda c, o: change_source_of(c, o["other"]),
    # Administrators included: an event's agreement is its own partnership's (Event.clean).
    "link_other_agreement": lambda c, o: add_event(c, o["own"], agreement=o["other"].agreements.first().pk),
    "import": lambda c, o: permissions.can_import(o["user"]),
    "export": lambda c, o: permissions.can_export(o["user"]),
    "manage_users": lambda c, o: admin_page_opens(c, reverse("admin:auth_user_changelist")),
    "manage_municipalities": lambda c, o: (
        admin_page_opens(
            c, reverse("admin:cooperation_municipality_change", args=[Municipality.objects.get(cbs_code="GM0622").pk])
        )
        and "_save"
        in c.get(
            reverse("admin:cooperation_municipality_change", args=[Municipality.objects.get(cbs_code="GM0622").pk])
        ).content.decode()
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_policy(client, cast, role, action):
    user = cast[role]
    if user is not None:
        client.force_login(user)
    objects = {**cast, "user": user or client.get("/").wsgi_request.user}
    assert ACTIONS[action](client, objects) is EXPECTED[(action, role)], f"{role} / {action}"


def test_policy_table_covers_every_action():
    assert {action for action, _role in EXPECTED} == set(ACTIONS)


def test_editor_for_vlaardingen_adds_an_event_but_cannot_reach_maastricht(client, cast):
    client.force_login(cast["editor"])
    assert add_event(client, cast["own"])
    response = client.get(reverse("admin:cooperation_partnership_change", args=[cast["other"].pk]), follow=True)
    assert cast["other"].name not in response.content.decode().split("<main")[-1].split("</h1>")[0]
    changelist = client.get(reverse("admin:cooperation_partnership_changelist")).content.decode()
    assert cast["own"].name in changelist and cast["other"].name not in changelist
    # Guessing the id of another partnership's event gives nothing either.
    response = client.get(reverse("admin:cooperation_event_change", args=[first_event(cast["other"]).pk]))
    assert response.status_code == 302
    # Nor can the event form be pointed at the other partnership.
    assert not add_event(client, cast["other"])


def test_editor_cannot_create_a_partnership_without_one_of_their_municipalities(client, cast):
    client.force_login(cast["editor"])
    data = {
        "name": "Buiten bereik",
        "slug": "buiten-bereik",
        "legal_form": "covenant",
        "visibility": "public",
        "agreements-TOTAL_FORMS": "0",
        "agreements-INITIAL_FORMS": "0",
        "events-TOTAL_FORMS": "1",
        "events-INITIAL_FORMS": "0",
        "events-0-kind": "signed",
        "events-0-status": "happened",
        "events-0-date_text": "2021",
        "events-0-municipalities": [Municipality.objects.get(cbs_code="GM0935").pk],
        "events-0-role": "participant",
        "events-0-visibility": "public",
    }
    response = client.post(reverse("admin:cooperation_partnership_add"), data)
    assert response.status_code == 200
    assert "een van uw gemeenten" in response.content.decode()
    data["events-0-municipalities"] = [Municipality.objects.get(cbs_code="GM0622").pk]
    response = client.post(reverse("admin:cooperation_partnership_add"), data)
    assert response.status_code == 302


def test_audit_shows_who_changed_what_with_logins_and_failures(client, cast):
    # A failed and a successful login through the real login page.
    client.post(reverse("login"), {"username": "editor_vlaardingen", "password": "wrong"})
    client.post(reverse("login"), {"username": "editor_vlaardingen", "password": "Redacteur-wachtwoord-1"})
    add_event(client, cast["own"])
    client.force_login(cast["administrator"])
    page = client.get(reverse("audit") + f"?user={cast['editor'].pk}").content.decode()
    assert "editor_vlaardingen" in page
    assert "gebeurtenis" in page.lower()
    assert page.count("<tr>") >= 3
    assert client.get(reverse("audit")).status_code == 200
    client.force_login(cast["editor"])
    assert client.get(reverse("audit")).status_code == 403


def test_lockout_after_repeated_failures(client, cast):
    for _attempt in range(5):
        client.post(reverse("login"), {"username": "viewer", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "viewer", "password": "Ambtenaar-wachtwoord-1"})
    assert response.status_code == 429
    assert "tijdelijk geblokkeerd" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_is_by_post_only(client, cast):
    client.force_login(cast["viewer"])
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))
    assert "_auth_user_id" not in client.session


def test_security_headers(client, db):
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_csrf_is_enforced_on_login(cast):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": "viewer", "password": "Ambtenaar-wachtwoord-1"})
    assert response.status_code == 403


def test_administrators_find_the_audit_log_in_the_admin(client, cast):
    client.force_login(cast["administrator"])
    assert reverse("audit") in client.get(reverse("admin:index")).content.decode()
    client.force_login(cast["editor"])
    assert reverse("audit") not in client.get(reverse("admin:index")).content.decode()

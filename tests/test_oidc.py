"""Staff sign-in through a real OpenID Connect provider over HTTP, and the second factor.

The provider (tests/oidc_provider.py) runs on localhost in a thread; the portal's backend talks
to it over real HTTP (discovery, token, JWKS, userinfo). The browser's part of the redirects is
played by `requests` (to the provider) and Django's test client (to the portal).
"""

import base64
import os
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import requests
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import StaffIdentity
from accounts.oidc import roles_from_claims
from cooperation import permissions
from cooperation.models import EditorProfile
from tests.oidc_provider import running_provider

User = get_user_model()
PASSWORD = "correct-horse-battery-9"


@pytest.fixture(scope="session")
def provider():
    with running_provider() as running:
        yield running


@pytest.fixture
def oidc(db, settings, provider):
    settings.OIDC_ISSUER = provider.url
    settings.OIDC_RP_CLIENT_ID = "portal"
    settings.OIDC_RP_CLIENT_SECRET = "portal-secret"
    provider.tamper_next_token = None
    return provider


def start(client, next_url=None) -> str:
    response = client.get(reverse("oidc-start"), {"next": next_url} if next_url else {})
    assert response.status_code == 302, response.content
    return response["Location"]


def consent(authorize_url: str, sub: str) -> str:
    """The user signs in at the provider; returns the portal callback path with code and state."""
    response = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    location = urlparse(response.headers["Location"])
    return f"{location.path}?{location.query}"


def sign_in(client, provider, sub, claims, next_url=None):
    provider.set_user(sub, claims)
    return client.get(consent(start(client, next_url), sub))


def roles_of(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def codes_of(user) -> set[str]:
    return set(EditorProfile.objects.get(user=user).municipalities.values_list("cbs_code", flat=True))


# --- the flow ---


def test_the_authorization_request_is_a_code_flow_with_pkce_state_and_nonce(client, oidc):
    query = parse_qs(urlparse(start(client)).query)
    assert urlparse(start(client)).netloc == urlparse(oidc.url).netloc
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["portal"]
    assert query["redirect_uri"] == ["http://testserver/accounts/organisation/callback/"]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32


def test_first_sign_in_creates_an_editor_with_the_municipalities_of_the_claims(client, oidc, svm, msg):
    claims = {
        "roles": ["editor"],
        "gemeente": ["GM0606", "GM0622"],
        "email": "j.jansen@schiedam.nl",
        "given_name": "Jan",
    }
    response = sign_in(client, oidc, "sub-jansen", claims, next_url="/admin/")

    assert response.status_code == 302 and response["Location"] == "/admin/"
    identity = StaffIdentity.objects.get(issuer=oidc.url, sub="sub-jansen")
    user = identity.user
    assert (user.username, user.email, user.first_name) == ("j.jansen@schiedam.nl", "j.jansen@schiedam.nl", "Jan")
    assert not user.has_usable_password()
    assert roles_of(user) == {"editor"} and user.is_staff and not user.is_superuser
    assert codes_of(user) == {"GM0606", "GM0622"}
    # The code went back with the verifier of its challenge (the test provider refuses it otherwise).
    assert oidc.token_requests[-1]["code_verifier"]
    assert client.get("/admin/").status_code == 200
    assert permissions.can_edit_partnership(user, svm) and not permissions.can_edit_partnership(user, msg)


def test_a_changed_claim_changes_the_role_at_the_next_sign_in(client, oidc):
    sign_in(client, oidc, "sub-de-vries", {"roles": "admin"})
    user = StaffIdentity.objects.get(sub="sub-de-vries").user
    assert roles_of(user) == {"administrator"} and user.is_staff
    assert permissions.is_administrator(user)

    client.post(reverse("logout"))
    sign_in(client, oidc, "sub-de-vries", {"roles": ["editor"], "gemeente": "GM0606"})
    user = User.objects.get(pk=user.pk)  # permissions caches roles on the object
    assert roles_of(user) == {"editor"} and user.is_staff and codes_of(user) == {"GM0606"}
    assert not permissions.is_administrator(user)

    client.post(reverse("logout"))
    response = sign_in(client, oidc, "sub-de-vries", {"roles": ["viewer"], "gemeente": "GM0606"})
    user = User.objects.get(pk=user.pk)
    assert response["Location"] == "/"
    assert roles_of(user) == {"viewer"} and not user.is_staff and codes_of(user) == set()
    assert StaffIdentity.objects.filter(sub="sub-de-vries").count() == 1
    assert client.get("/admin/").status_code == 302


def test_users_are_matched_on_sub_not_on_email(client, oidc, admin_user):
    claims = {"roles": ["viewer"], "email": admin_user.email}
    sign_in(client, oidc, "sub-one", claims)
    client.post(reverse("logout"))
    sign_in(client, oidc, "sub-two", claims)

    one, two = (StaffIdentity.objects.get(sub=sub).user for sub in ("sub-one", "sub-two"))
    assert len({one.pk, two.pk, admin_user.pk}) == 3
    assert one.username == admin_user.email and two.username.startswith(admin_user.email + "~")
    admin_user.refresh_from_db()
    assert admin_user.is_superuser and admin_user.has_usable_password()


def test_claims_that_grant_nothing_get_a_page_saying_so(client, oidc):
    response = sign_in(client, oidc, "sub-nobody", {"roles": ["something-else"], "email": "x@example.org"})
    assert response.status_code == 403
    assert "Geen toegang tot dit portaal" in response.content.decode()
    assert not StaffIdentity.objects.filter(sub="sub-nobody").exists()
    assert not response.wsgi_request.user.is_authenticated

    # An editor role names no municipality in the register: nothing to edit, so no access either.
    response = sign_in(client, oidc, "sub-nobody", {"roles": ["editor"], "gemeente": "GM9999"})
    assert response.status_code == 403
    assert "GM9999" in response.content.decode()


def test_an_account_whose_roles_were_withdrawn_loses_them_and_is_not_signed_in(client, oidc):
    sign_in(client, oidc, "sub-leaver", {"roles": ["editor"], "gemeente": "GM0606"})
    user = StaffIdentity.objects.get(sub="sub-leaver").user
    client.post(reverse("logout"))

    response = sign_in(client, oidc, "sub-leaver", {"roles": []})
    user.refresh_from_db()
    assert response.status_code == 403
    assert roles_of(user) == set() and not user.is_staff and codes_of(user) == set()


def test_roles_and_municipalities_from_nested_claims_and_other_values(client, oidc, settings):
    settings.OIDC_ROLES_CLAIM = "realm_access.roles"
    settings.OIDC_ROLE_VALUES = {"viewer": ["Portal.Viewer"], "editor": ["Portal.Editor"], "administrator": []}
    settings.OIDC_MUNICIPALITIES_CLAIM = "portal.gemeenten"
    claims = {"realm_access": {"roles": ["offline_access", "Portal.Editor"]}, "portal": {"gemeenten": "gm0622"}}
    sign_in(client, oidc, "sub-keycloak", claims)
    user = StaffIdentity.objects.get(sub="sub-keycloak").user
    assert roles_of(user) == {"editor"} and codes_of(user) == {"GM0622"}


def test_a_claim_name_with_a_dot_is_taken_whole(db, settings):
    """Entra ID sends directory extension attributes as `extn.<name>`."""
    settings.OIDC_MUNICIPALITIES_CLAIM = "extn.gemeente"
    grant = roles_from_claims({"roles": "editor", "extn.gemeente": ["GM0606", "GM0000"]})
    assert grant.roles == {"editor"} and grant.municipality_codes == ("GM0606",)
    assert grant.unknown_codes == ("GM0000",)


# --- what is refused ---


def test_a_wrong_state_is_refused(client, oidc):
    oidc.set_user("sub-state", {"roles": ["admin"]})
    callback = consent(start(client), "sub-state")
    forged = callback.replace("state=", "state=x")
    response = client.get(forged)
    assert response.status_code == 400
    assert "Inloggen is niet gelukt" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated

    # A callback in a browser that never started a sign-in is refused too.
    fresh = type(client)()
    assert fresh.get(callback).status_code == 400
    assert not StaffIdentity.objects.filter(sub="sub-state").exists()


def test_a_replayed_code_is_refused(client, oidc):
    oidc.set_user("sub-replay", {"roles": ["admin"]})
    callback = consent(start(client), "sub-replay")
    assert client.get(callback).status_code == 302
    client.post(reverse("logout"))

    # The same answer again: its state was used up.
    assert client.get(callback).status_code == 400
    # The old code with a fresh state: the provider refuses the code (used, and not this challenge).
    new_state = parse_qs(urlparse(start(client)).query)["state"][0]
    code = parse_qs(urlparse(callback).query)["code"][0]
    response = client.get(reverse("oidc-callback"), {"code": code, "state": new_state})
    assert response.status_code == 400
    assert not response.wsgi_request.user.is_authenticated


def _tampered(oidc, **changes):
    """Replace the provider's ID token by one it signs with the same key, with `changes`."""

    def tamper(token_response: dict) -> dict:
        claims = jwt.decode(token_response["id_token"], options={"verify_signature": False})
        claims.update(changes)
        return {**token_response, "id_token": oidc.sign(claims)}

    return tamper


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"aud": "another-portal"}, id="another-audience"),
        pytest.param({"exp": int(time.time()) - 600, "iat": int(time.time()) - 4200}, id="expired"),
        pytest.param({"iss": "https://login.example.invalid"}, id="unknown-issuer"),
    ],
)
def test_an_id_token_not_meant_for_us_is_refused(client, oidc, changes):
    oidc.set_user("sub-tamper", {"roles": ["admin"]})
    callback = consent(start(client), "sub-tamper")
    oidc.tamper_next_token = _tampered(oidc, **changes)
    response = client.get(callback)
    assert response.status_code == 400
    assert not response.wsgi_request.user.is_authenticated
    assert not StaffIdentity.objects.filter(sub="sub-tamper").exists()


def test_the_untampered_token_of_the_same_flow_is_accepted(client, oidc):
    """The control for the test above: re-signing by itself changes nothing."""
    oidc.set_user("sub-tamper-control", {"roles": ["admin"]})
    callback = consent(start(client), "sub-tamper-control")
    oidc.tamper_next_token = _tampered(oidc)
    assert client.get(callback).status_code == 302
    assert StaffIdentity.objects.filter(sub="sub-tamper-control").exists()


def test_a_provider_that_calls_itself_another_issuer_is_refused(client, oidc):
    oidc.announce_issuer = "https://login.example.invalid"
    try:
        response = client.get(reverse("oidc-start"))
    finally:
        oidc.announce_issuer = None
    assert response.status_code == 502
    assert "kon niet worden bereikt" in response.content.decode()


def test_signing_out_ends_the_session_at_the_provider(client, oidc):
    sign_in(client, oidc, "sub-out", {"roles": ["viewer"]})
    id_token = client.session["oidc_id_token"]
    # The sign-out form may continue to the provider (CSP form-action), for this session only.
    assert f"form-action 'self' {oidc.url}" in client.get("/")["Content-Security-Policy"]
    response = client.post(reverse("logout"))
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{oidc.url}/oauth2/end_session"
    query = parse_qs(location.query)
    assert query["id_token_hint"] == [id_token] and query["post_logout_redirect_uri"] == ["http://testserver/"]
    assert "_auth_user_id" not in client.session
    assert requests.get(response["Location"], timeout=5).status_code == 200


def test_a_local_account_signs_out_here_only(client, admin_user, oidc):
    client.force_login(admin_user)
    policy = client.get("/")["Content-Security-Policy"]
    assert "form-action 'self'" in policy and oidc.url not in policy
    assert client.post(reverse("logout"))["Location"] == "/"


# --- the sign-in page ---


def test_the_sign_in_page_offers_the_organisation_first_then_the_local_form(client, oidc):
    page = client.get(reverse("login"), {"next": "/admin/"}).content.decode()
    assert page.index("Inloggen met uw organisatie") < page.index('name="password"')
    assert 'href="/accounts/organisation/?next=%2Fadmin%2F"' in page
    english = client.get("/en/accounts/login/").content.decode()
    assert "Sign in with your organisation" in english


def test_without_a_provider_the_sign_in_page_has_the_local_form_only(db, client, settings):
    settings.OIDC_ISSUER = ""
    page = client.get(reverse("login")).content.decode()
    assert "organisatie" not in page and 'name="password"' in page
    assert client.get(reverse("oidc-start")).status_code == 404


def test_the_admin_sign_in_is_the_portal_sign_in(db, client):
    response = client.get("/admin/cooperation/event/")
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fcooperation%2Fevent%2F"


# --- the second factor for local accounts ---


@pytest.fixture
def production_2fa(settings):
    settings.PORTAL_REQUIRE_2FA = True


def password_sign_in(client, user, next_url="/admin/"):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD, "next": next_url})
    assert response.status_code == 302, response.content
    return response


def enrol(user) -> TOTPDevice:
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    static.token_set.create(token="recovery1234")
    return device


def current_code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.mark.parametrize("url", ["/admin/", "/admin/cooperation/event/", "/admin/auth/user/", "/admin/audit/", "/"])
def test_a_local_account_cannot_reach_anything_before_its_second_factor(client, admin_user, production_2fa, url):
    password_sign_in(client, admin_user)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/second-factor/?next=")
    # Still nothing after the redirect: no device yet, so the guided enrolment.
    assert client.get(response["Location"])["Location"].startswith("/accounts/second-factor/setup/")


def test_guided_enrolment_then_the_admin(client, admin_user, production_2fa):
    password_sign_in(client, admin_user)
    page = client.get(reverse("second-factor-setup"), {"next": "/admin/"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Stel uw tweede stap in" in html and "data:image/svg+xml;base64," in html
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)

    wrong = client.post(reverse("second-factor-setup"), {"token": "000000", "next": "/admin/"})
    assert wrong.status_code == 200 and "Deze code klopt niet" in wrong.content.decode()
    time.sleep(1.1)  # django-otp throttles the next try after a wrong code for a second

    response = client.post(reverse("second-factor-setup"), {"token": current_code(device), "next": "/admin/"})
    assert response["Location"] == "/accounts/second-factor/recovery-codes/?next=%2Fadmin%2F"
    codes_page = client.get(response["Location"]).content.decode()
    stored = list(StaticToken.objects.filter(device__user=admin_user).values_list("token", flat=True))
    assert len(stored) == 10 and all(code in codes_page for code in stored)
    assert client.get(response["Location"]).status_code == 302  # shown once
    assert client.get("/admin/").status_code == 200


def test_the_code_is_asked_at_every_sign_in_and_a_recovery_code_works_once(client, admin_user, production_2fa):
    device = enrol(admin_user)
    password_sign_in(client, admin_user)
    assert client.get("/admin/")["Location"] == "/accounts/second-factor/?next=%2Fadmin%2F"
    response = client.post(reverse("second-factor"), {"token": current_code(device), "next": "/admin/"})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200

    client.post(reverse("logout"))
    password_sign_in(client, admin_user)
    assert client.post(reverse("second-factor"), {"token": "recovery1234", "next": "/admin/"})["Location"] == "/admin/"
    client.post(reverse("logout"))
    password_sign_in(client, admin_user)
    assert client.post(reverse("second-factor"), {"token": "recovery1234"}).status_code == 200
    assert client.get("/admin/").status_code == 302


def test_an_account_with_an_app_cannot_enrol_another_with_its_password_alone(client, admin_user, production_2fa):
    enrol(admin_user)
    password_sign_in(client, admin_user)
    assert client.get(reverse("second-factor-setup"))["Location"] == reverse("second-factor")
    assert client.post(reverse("second-factor-setup"), {"token": "123456"})["Location"] == reverse("second-factor")
    assert TOTPDevice.objects.filter(user=admin_user).count() == 1


def test_wrong_codes_lock_the_account_out_like_wrong_passwords(client, admin_user, production_2fa, settings):
    enrol(admin_user)
    password_sign_in(client, admin_user)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("second-factor"), {"token": "111111"})
        assert response.status_code == 200 and "Deze code klopt niet" in response.content.decode()
    response = client.post(reverse("second-factor"), {"token": "111111"})
    assert response.status_code in (403, 429)
    assert "_auth_user_id" not in client.session
    # The password alone no longer gets in either: the lockout is per account and address.
    response = client.post(reverse("login"), {"username": admin_user.username, "password": PASSWORD})
    assert response.status_code in (403, 429)


def test_basic_authentication_is_refused_when_a_second_factor_is_required(client, admin_user, settings):
    header = "Basic " + base64.b64encode(f"{admin_user.username}:{PASSWORD}".encode()).decode()
    settings.PORTAL_REQUIRE_2FA = False
    assert client.get("/api/v1/partnerships/", HTTP_AUTHORIZATION=header).status_code == 200
    settings.PORTAL_REQUIRE_2FA = True
    assert client.get("/api/v1/partnerships/", HTTP_AUTHORIZATION=header).status_code == 401


def test_an_organisation_sign_in_needs_no_second_factor_from_the_portal(client, oidc, production_2fa):
    sign_in(client, oidc, "sub-2fa", {"roles": ["admin"]})
    assert client.get("/admin/").status_code == 200


def test_under_make_run_a_local_account_needs_no_second_factor(client, admin_user, settings):
    settings.PORTAL_REQUIRE_2FA = False
    password_sign_in(client, admin_user)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(("debug", "expected"), [("0", "True"), ("1", "False")])
def test_the_second_factor_is_required_by_default_in_production_mode_only(debug, expected):
    env = {**os.environ, "DJANGO_DEBUG": debug, "DJANGO_SECRET_KEY": "x" * 60}
    env.pop("PORTAL_REQUIRE_2FA", None)
    code = "from django.conf import settings; print(settings.PORTAL_REQUIRE_2FA)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == expected

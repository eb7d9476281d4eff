"""A civil servant signs in through a real OpenID Connect provider in Chromium; a local
administrator sets up the second factor in production mode. Axe scans every sign-in page."""

import base64
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from django_otp.oath import totp
from playwright.sync_api import expect

from accounts.models import StaffIdentity
from tests.oidc_provider import running_provider

pytestmark = pytest.mark.browser

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
PASSWORD = "correct-horse-battery-9"


@pytest.fixture(scope="module")
def provider():
    with running_provider() as running:
        yield running


@pytest.fixture
def oidc(settings, provider):
    settings.OIDC_ISSUER = provider.url
    settings.OIDC_RP_CLIENT_ID = "portal"
    settings.OIDC_RP_CLIENT_SECRET = "portal-secret"
    return provider


def assert_accessible(page):
    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()


def test_civil_servant_signs_in_with_their_organisation_and_gets_exactly_their_rights(page, oidc):
    oidc.set_user("sub-jansen", {"roles": ["editor"], "gemeente": "GM0606", "email": "j.jansen@schiedam.nl"})
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Fadmin%2F$"))
    assert_accessible(page)
    organisation = page.get_by_role("link", name="Inloggen met uw organisatie")
    local = page.get_by_label("Gebruikersnaam")
    assert organisation.bounding_box()["y"] < local.bounding_box()["y"]
    organisation.click()

    # At the provider: the mock's sign-in form asks for the subject.
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    page.locator("input[name=sub]").fill("sub-jansen")
    page.get_by_role("button", name="Authorize").click()

    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#user-tools")).to_contain_text("j.jansen@schiedam.nl")
    # An editor: events and partnerships, no users, and only Schiedam's partnership.
    expect(page.get_by_role("link", name="Gebeurtenissen", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Gebruikers", exact=True)).to_have_count(0)
    page.goto("/admin/cooperation/partnership/")
    expect(page.get_by_role("link", name="ICT-samenwerking Schiedam, Vlaardingen en Maassluis")).to_be_visible()
    expect(page.get_by_role("link", name="ICT-samenwerking Maastricht en Sittard-Geleen")).to_have_count(0)
    assert StaffIdentity.objects.get(sub="sub-jansen").user.is_staff

    # Signing out ends the session at the provider too, then comes back to the portal.
    page.goto("/")
    page.get_by_role("button", name=re.compile("Uitloggen")).click()
    expect(page).to_have_url(re.compile(re.escape(oidc.url) + "/oauth2/end_session"))
    page.get_by_role("button").first.click()
    expect(page).to_have_url(re.compile(r"^http://localhost:\d+/$"))
    expect(page.get_by_role("link", name="Inloggen")).to_be_visible()


def test_claims_that_grant_nothing_show_a_page_saying_so(page, oidc):
    oidc.set_user("sub-nobody", {"roles": ["cleaner"]})
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Inloggen met uw organisatie").click()
    page.locator("input[name=sub]").fill("sub-nobody")
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Geen toegang tot dit portaal")
    assert_accessible(page)


def test_the_english_sign_in_page_is_accessible(page, oidc):
    page.goto("/en/accounts/login/")
    expect(page.get_by_role("link", name="Sign in with your organisation")).to_be_visible()
    assert_accessible(page)


def test_local_administrator_sets_up_the_second_factor_before_reaching_the_admin(page, settings):
    settings.PORTAL_REQUIRE_2FA = True
    get_user_model().objects.create_superuser("nood", "nood@example.org", PASSWORD)
    page.goto("/admin/cooperation/event/")
    page.get_by_label("Gebruikersnaam").fill("nood")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Stel uw tweede stap in")
    assert_accessible(page)
    # Typing the address of the admin does not skip the step.
    page.goto("/admin/auth/user/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Stel uw tweede stap in")

    key = page.locator(".totp-key code").inner_text().replace(" ", "")
    secret = base64.b32decode(key + "=" * (-len(key) % 8))
    page.get_by_label("Code van zes cijfers").fill(f"{totp(secret):06d}")
    page.get_by_role("button", name="Bevestigen en verder").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Uw herstelcodes")
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    assert_accessible(page)
    page.get_by_role("link", name="Ik heb ze bewaard; verder").click()
    expect(page).to_have_url(re.compile(r"/admin/auth/user/$"))

    # The next sign-in asks for the code.
    page.locator("#logout-form button").click()  # the admin's own sign-out, which is ours too
    expect(page).to_have_url(re.compile(r"^http://localhost:\d+/$"))
    page.goto("/accounts/login/?next=/admin/")
    page.get_by_label("Gebruikersnaam").fill("nood")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tweede stap: uw code")
    assert_accessible(page)
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Bevestigen").click()
    expect(page.get_by_role("alert")).to_contain_text("Deze code klopt niet")
    assert_accessible(page)

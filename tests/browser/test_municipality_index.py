"""The municipality index in Chromium: found by name without JavaScript, readable on a phone, and
no accessibility violations (WCAG 2.1 AA and axe's best practices)."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

AXE_RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}


@pytest.fixture
def page_without_js(browser, live_server, seeded_transactional):
    context = browser.new_context(base_url=live_server.url, locale="nl-NL", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_a_civil_servant_finds_a_former_municipality_without_javascript(page_without_js):
    page = page_without_js
    page.goto("/")
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Gemeenten").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gemeenten")
    page.get_by_role("searchbox", name="Gemeente zoeken").fill("Geleen")
    page.get_by_role("button", name="Zoeken").click()
    expect(page).to_have_url(re.compile(r"/municipalities/\?q=Geleen"))
    expect(page.get_by_role("heading", name="2 gemeenten gevonden voor “Geleen”")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="Geleen — opgegaan in Sittard-Geleen (2001)")).to_be_visible()
    page.get_by_role("link", name="Geleen", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gemeente Geleen")


def test_former_municipalities_unfold_without_javascript(page_without_js):
    page = page_without_js
    page.goto("/municipalities/#province-limburg")
    limburg = page.get_by_role("region", name="Limburg")
    expect(limburg.get_by_role("link", name="Maastricht", exact=True)).to_be_visible()
    expect(limburg.get_by_role("link", name="Geleen", exact=True)).to_be_hidden()
    limburg.locator("summary").click()
    expect(limburg.get_by_role("link", name="Geleen", exact=True)).to_be_visible()


@pytest.mark.parametrize("url", ["/municipalities/", "/municipalities/?q=Geleen"])
def test_readable_on_a_phone(page, url):
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    smallest = page.evaluate(
        "Math.min(...[...document.querySelectorAll('main a, main small, main summary')]"
        ".map(el => parseFloat(getComputedStyle(el).fontSize)))"
    )
    assert smallest >= 14


@pytest.mark.parametrize(
    "url", ["/municipalities/", "/municipalities/?q=Geleen", "/municipalities/?q=Atlantis", "/en/municipalities/"]
)
def test_no_accessibility_violations_with_best_practices(page, url):
    page.goto(url)
    if url == "/municipalities/":
        page.locator("#province-limburg + ul + details summary, #province-limburg ~ details summary").first.click()
    results = Axe().run(page, options=AXE_RULES)
    assert results.violations_count == 0, results.generate_report()

"""The maps in Chromium: drawn, linked, keyboard-reachable, readable at 320 px, printable on A4,
free of axe violations; their screenshots are kept in docs/ (docs/maps.md shows them)."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SVM = "/partnerships/schiedam-vlaardingen-maassluis-ict/"
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
PAGES = {
    "partnership": SVM,
    "municipality": "/municipalities/GM0606/",
    "country": "/kaart/?pillar=architecture_alignment",
}


def wait_for_background(page) -> None:
    """The static country map is an <image> inside each map; wait until Chromium has it."""
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("name", sorted(PAGES))
def test_map_has_no_accessibility_violations_and_is_kept_as_a_screenshot(page, screenshots, name):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(PAGES[name])
    wait_for_background(page)
    figure = page.locator("figure.map")
    expect(figure).to_be_visible()
    expect(figure).to_contain_text("Kaartgegevens: CBS / Kadaster (PDOK), 2025")
    box = figure.bounding_box()
    assert box["width"] > 250 and box["height"] > 250
    figure.screenshot(path=screenshots / f"screenshot-map-{name}.png")
    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()


def test_council_member_follows_a_member_on_the_map_by_keyboard(page):
    page.goto(SVM)
    schiedam = page.locator('figure.map a[href="/municipalities/GM0606/"]')
    expect(schiedam).to_have_count(1)
    schiedam.focus()
    expect(schiedam).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Gemeente Schiedam")


def test_year_selector_redraws_the_map(page):
    page.goto(SVM)
    expect(page.locator('figure.map a[href="/municipalities/GM0556/"]')).to_have_class("map__area map__area--ended")
    page.get_by_label("Leden in jaar").fill("2015")
    page.get_by_role("button", name="Toon op de kaart").click()
    expect(page).to_have_url(re.compile(r"\?year=2015#map$"))
    expect(page.locator('figure.map a[href="/municipalities/GM0556/"]')).to_have_class("map__area map__area--active")


@pytest.mark.parametrize("url", PAGES.values())
def test_readable_at_320_px_without_sideways_scrolling(page, url):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(url)
    wait_for_background(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    box = page.locator("figure.map svg.map__svg").bounding_box()
    assert 250 <= box["width"] <= 320


@pytest.mark.parametrize("url", PAGES.values())
def test_prints_on_a4_with_the_map_and_its_credit(page, url):
    page.goto(url)
    wait_for_background(page)
    page.emulate_media(media="print")
    expect(page.locator("figure.map svg.map__svg")).to_be_visible()
    expect(page.locator(".map__credit")).to_be_visible()
    expect(page.locator(".map__year")).to_have_count(1 if url == SVM else 0)
    assert len(page.pdf(format="A4")) > 10_000

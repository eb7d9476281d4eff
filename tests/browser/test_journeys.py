"""Journeys through real pages in Chromium, and accessibility scans with axe-core."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from cooperation.models import Event, Source

pytestmark = pytest.mark.browser

SVM = "/partnerships/schiedam-vlaardingen-maassluis-ict/"
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def test_civil_servant_searches_filters_and_opens_a_partnership(page):
    page.goto("/")
    page.get_by_label("Samenwerkingsverbanden zoeken").fill("Schiedam")
    page.get_by_role("button", name="Zoeken").click()
    expect(page.get_by_role("heading", name="1 samenwerkingsverband")).to_be_visible()

    # Schiedam's partnership is not on the joint-procurement pillar: the empty list says why.
    page.get_by_label("Pijler").select_option("joint_procurement")
    page.get_by_role("button", name="Toon resultaten").click()
    expect(page).to_have_url(re.compile(r"q=Schiedam.*pillar=joint_procurement"))
    expect(page.get_by_text("Geen samenwerkingsverband voldoet aan al deze filters tegelijk.")).to_be_visible()

    page.get_by_label("Zoeken", exact=True).fill("Sittard")
    page.get_by_role("button", name="Toon resultaten").click()
    expect(page).to_have_url(re.compile(r"q=Sittard.*pillar=joint_procurement"))
    page.get_by_role("link", name="ICT-samenwerking Maastricht en Sittard-Geleen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ICT-samenwerking Maastricht en Sittard-Geleen")
    expect(page.locator(".status-sentence")).to_contain_text("Ondertekend op 27 oktober 2010")


def test_council_member_reads_who_left_when(page):
    page.goto("/partnerships/")
    page.get_by_role("link", name="ICT-samenwerking Schiedam, Vlaardingen en Maassluis").click()
    expect(page.locator(".status-sentence")).to_contain_text("Maassluis trad uit in najaar 2016 – 2017")
    maassluis = page.get_by_role("row", name=re.compile("Maassluis"))
    expect(maassluis).to_contain_text("najaar 2016")
    expect(maassluis).to_contain_text("2017")
    expect(maassluis).to_contain_text("uitgetreden")
    items = page.locator("ol.timeline > li")
    expect(items).to_have_count(8)
    expect(items.nth(0)).to_contain_text("16 april 2013")
    expect(items.nth(1)).to_contain_text("Maassluis besluit op ICT-gebied zelfstandig te blijven")
    expect(page.get_by_role("img", name=re.compile("ledenoverzicht", re.IGNORECASE))).to_be_visible()


def test_partnership_page_prints_without_navigation_and_with_source_urls(page):
    source = Source.objects.create(
        url="https://www.schiedam.nl/besluit-ict", title="Collegebesluit", publisher="Gemeente Schiedam"
    )
    Event.objects.get(kind="termination_decided").sources.add(source)
    page.goto(SVM)
    page.emulate_media(media="print")
    expect(page.locator(".site-nav")).to_be_hidden()
    expect(page.locator(".language")).to_be_hidden()
    expect(page.locator(".chart svg.chart__plot")).to_be_visible()
    expect(page.locator(".chart svg.chart__names")).to_be_visible()
    expect(page.locator(".print-url", has_text="https://www.schiedam.nl/besluit-ict")).to_be_visible()
    expect(page.locator("ol.timeline > li")).to_have_count(8)
    assert len(page.pdf(format="A4")) > 10_000


def test_english_version(page):
    page.goto(SVM)
    page.get_by_role("link", name="English").click()
    expect(page).to_have_url(re.compile(r"/en/partnerships/schiedam-vlaardingen-maassluis-ict/$"))
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.locator(".status-sentence")).to_contain_text("Maassluis left in autumn 2016 – 2017")
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    page.get_by_role("link", name="Nederlands").click()
    expect(page).to_have_url(re.compile(r"/partnerships/schiedam-vlaardingen-maassluis-ict/$"))
    assert page.locator("html").get_attribute("lang") == "nl"


def test_keyboard_user_can_skip_to_content_with_visible_focus(page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Direct naar de inhoud")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"


@pytest.mark.parametrize("url", ["/", "/partnerships/", SVM, "/municipalities/GM0556/"])
def test_usable_at_320_pixels(page, url):
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/partnerships/",
        "/partnerships/?q=Schiedam&pillar=joint_procurement",
        "/partnerships/?year=abc",
        SVM,
        "/en" + SVM,
        "/municipalities/GM0556/",
        "/municipalities/GM0906/",
        "/pillars/joint_procurement/",
        "/about/",
        "/bestaat-niet/",
    ],
)
def test_no_accessibility_violations(page, url):
    page.goto(url)
    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()

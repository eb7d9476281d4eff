"""A council member reading on a phone: the chart's text at 375 px, sideways scrolling that shows
itself, and axe-core with its best-practice rules on every public page type, in Dutch and English."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import expect

from cooperation import notifications, services
from cooperation.models import Event, Municipality, Partnership
from tests.factories import PASSWORD, make_document, make_user

pytestmark = pytest.mark.browser

SVM = "/partnerships/schiedam-vlaardingen-maassluis-ict/"
PHONE = {"width": 375, "height": 812}
BEST_PRACTICE = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}

# Each chart text's computed font size times the scale at which its SVG is drawn.
CHART_TEXT_SIZES = """() => [...document.querySelectorAll('.chart svg')].flatMap(svg => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return [...svg.querySelectorAll('text')].map(text => ({
        text: text.textContent,
        px: parseFloat(getComputedStyle(text).fontSize) * scale,
        height: text.getBoundingClientRect().height,
    }));
})"""


def test_at_375_px_no_chart_text_is_under_12_px_and_the_names_stay_in_view(page, screenshots):
    page.set_viewport_size(PHONE)
    page.goto(SVM)
    sizes = page.evaluate(CHART_TEXT_SIZES)
    assert {size["text"] for size in sizes} >= {"Schiedam", "Vlaardingen", "Maassluis", "2013", "vandaag"}
    too_small = [size for size in sizes if size["px"] < 12]
    assert not too_small, too_small
    # The page itself does not scroll sideways; the chart does, and its names stay where they are.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    scroller = page.locator(".chart__scroll")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")
    page.locator(".chart").screenshot(path=screenshots / "screenshot-phone-chart.png")
    names_before = page.locator(".chart__names").bounding_box()
    scroller.evaluate("el => el.scrollLeft = el.scrollWidth")
    assert scroller.evaluate("el => el.scrollLeft") > 300
    assert page.locator(".chart__names").bounding_box()["x"] == pytest.approx(names_before["x"], abs=1)
    expect(page.locator(".chart .scroll-hint")).to_be_visible()


def test_on_a_wide_screen_the_chart_fits_without_scrolling(page):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(SVM)
    assert all(size["px"] >= 12 for size in page.evaluate(CHART_TEXT_SIZES))
    assert page.locator(".chart__scroll").evaluate("el => el.scrollWidth <= el.clientWidth")
    expect(page.locator(".chart .scroll-hint")).to_be_hidden()


def test_a_table_that_scrolls_sideways_shows_it(page):
    page.set_viewport_size(PHONE)
    page.goto(SVM)
    table = page.locator(".table-scroll").first
    assert table.evaluate("el => el.scrollWidth > el.clientWidth")
    # A shadow at the edge where more is hidden (a background that stays while the content scrolls).
    background = table.evaluate("el => getComputedStyle(el).backgroundImage")
    assert background.count("radial-gradient") == 2
    assert table.evaluate("el => getComputedStyle(el).backgroundAttachment") == "local, local, scroll, scroll"
    hint = page.locator(".table-scroll + .scroll-hint").first
    expect(hint).to_be_visible()
    expect(hint).to_have_text("Veeg opzij om alle kolommen te zien.")


def long_partnership() -> Partnership:
    """A partnership whose timeline is grouped by year and paged (views.TIMELINE_GROUP_THRESHOLD)."""
    partnership = Partnership.objects.create(name="Regionale ICT-samenwerking", slug="regionale-ict")
    members = list(Municipality.objects.filter(existed_until__isnull=True).order_by("cbs_code")[:2])
    services.event_record(partnership=partnership, kind="signed", date_text="2012-03-01", municipalities=members)
    events = []
    for n in range(150):
        event = Event(partnership=partnership, kind="evaluated", date_text=str(2013 + n % 10), title=f"Evaluatie {n}")
        event.derive_date()
        events.append(event)
    Event.objects.bulk_create(events)
    services.partnerships_changed(partnership_ids=[partnership.pk])
    return partnership


def public_pages(language: str) -> list[str]:
    prefix = "/en" if language == "en" else ""
    return [
        f"{prefix}/",
        f"{prefix}/partnerships/",
        f"{prefix}/partnerships/?q=Schiedam",
        f"{prefix}/pillars/joint_procurement/",
        f"{prefix}{SVM}",
        f"{prefix}/partnerships/regionale-ict/",
        f"{prefix}/partnerships/regionale-ict/?page=2",
        f"{prefix}/agreements/",
        f"{prefix}/agreements/?municipality=GM0622&state=terminated",
        f"{prefix}/municipalities/",
        f"{prefix}/municipalities/?q=Geleen",
        f"{prefix}/municipalities/GM0606/",
        f"{prefix}/municipalities/GM0906/",
        "/en/map/" if language == "en" else "/kaart/",
        f"{prefix}/about/",
        f"{prefix}/bestaat-niet/",
    ]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_every_public_page_type_has_no_violations_with_best_practices(page, language):
    long_partnership()
    user = make_user("raadslid")
    svm = Partnership.objects.get(slug=SVM.split("/")[2])
    subscription = notifications.subscription_create(user=user, target=svm)
    token = notifications.make_unsubscribe_token(user=user, subscriptions=[subscription])
    prefix = "/en" if language == "en" else ""
    report = {}

    def scan(url: str) -> None:
        page.goto(url)
        results = Axe().run(page, options=BEST_PRACTICE)
        if results.violations_count:
            report[url] = results.generate_report()

    for url in public_pages(language):
        scan(url)
    # The page of an agreement, and the text of a document attached to it.
    agreement = svm.agreements.first()
    document = make_document(agreement=agreement, title="Samenwerkingsovereenkomst ICT (ondertekend)")
    scan(f"{prefix}{agreement.get_absolute_url()}")
    scan(f"{prefix}{reverse('cooperation:document-text', args=[document.uid])}")
    scan(f"{prefix}/unsubscribe/{token}/")
    # Signed in: the follow button, the subscriptions page, the sign-in page itself.
    page.goto(f"{prefix}/accounts/login/")
    scan(f"{prefix}/accounts/login/")
    page.fill("#id_username", "raadslid")
    page.fill("#id_password", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_load_state()
    scan(f"{prefix}{SVM}")
    scan(f"{prefix}/subscriptions/")
    assert not report, "\n\n".join(f"{url}\n{text}" for url, text in report.items())

"""The admin forms used daily, in Chromium: the date field reads dates in words back while typing,
and the partnership and event forms have no axe violations, best practices included. The date
field's screenshot is kept in docs/ (docs/import-formats.md, "Datums in woorden")."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from cooperation.models import Partnership
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

WCAG_AA_AND_BEST_PRACTICE = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}
}


@pytest.fixture
def admin_page(page):
    get_user_model().objects.create_superuser("beheerder", "beheerder@example.org", PASSWORD)
    page.goto("/admin/login/")
    page.fill("#id_username", "beheerder")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    return page


def test_the_date_field_reads_words_back_while_typing_and_saves_at_once(admin_page, screenshots):
    page = admin_page
    partnership = Partnership.objects.get(slug="maastricht-sittard-geleen-ict")
    page.set_viewport_size({"width": 1100, "height": 800})
    page.goto(f"/admin/cooperation/event/add/?partnership={partnership.pk}")
    page.select_option("#id_kind", "evaluated")
    field = page.locator("#id_date_text")
    field.fill("Najaar 2016")
    reading = page.locator("#id_date_text_reading")
    expect(reading).to_have_text("gelezen als: najaar 2016")
    field.fill("tussen najaar 2016 en 2017")
    expect(reading).to_have_text("gelezen als: najaar 2016 – 2017")
    field.fill("najaar")
    expect(reading).to_contain_text("“najaar” kunnen wij niet als datum lezen.")
    field.fill("najaar 2016")
    expect(reading).to_have_text("gelezen als: najaar 2016")
    page.locator(".form-row.field-date_text").screenshot(path=screenshots / "screenshot-date-field.png")

    # Seen while typing, so saved at once (without JavaScript the first save asks to confirm).
    page.locator(".field-municipalities .select2-selection").click()
    page.locator(".field-municipalities .select2-search__field").fill("Maastricht")
    page.locator(".select2-results__option", has_text="Maastricht").first.click()
    page.get_by_role("button", name="Opslaan", exact=True).click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert partnership.events.get(kind="evaluated").date_text == "2016-23"


@pytest.mark.parametrize(
    "form", ["partnership add", "partnership change", "event add", "event change", "agreement change"]
)
def test_the_daily_admin_forms_have_no_axe_violations(admin_page, form):
    model, action = form.split()
    partnership = Partnership.objects.get(slug="maastricht-sittard-geleen-ict")
    obj = {"partnership": partnership, "event": partnership.events.first(), "agreement": partnership.agreements.first()}
    url = (
        f"/admin/cooperation/{model}/add/" if action == "add" else f"/admin/cooperation/{model}/{obj[model].pk}/change/"
    )
    admin_page.goto(url)
    results = Axe().run(admin_page, options=WCAG_AA_AND_BEST_PRACTICE)
    assert results.violations_count == 0, results.generate_report()


def test_the_pillar_chooser_speaks_dutch(admin_page):
    admin_page.goto("/admin/cooperation/partnership/add/")
    expect(admin_page.locator("#id_pillars_from")).to_be_visible()
    content = admin_page.content()
    assert "by selecting them" not in content
    assert "Kies pijlers door ze te selecteren" in content

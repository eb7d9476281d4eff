"""The preview of a large import in Chromium: a summary and the confirm button in the first screen,
rows paged, and no axe violations (best practices included) on the import form and the preview.
"""

import csv
import io
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from cooperation.models import Event
from cooperation.porting.columns import COLUMNS

pytestmark = pytest.mark.browser

ROWS = 5000
PASSWORD = "correct-horse-battery-9"
SVM = "schiedam-vlaardingen-maassluis-ict"
AXE_BEST_PRACTICE = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}
}
MONTHS = ["januari", "februari", "maart", "april", "mei", "juni"]


def events_file(rows: int = ROWS) -> bytes:
    """5,000 evaluations of Schiedam's partnership, as a municipality keeps them: Dutch labels,
    Dutch days, semicolons; the last rows repeat earlier ones (duplicates)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS["events"]), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    for n in range(rows):
        n = n % (rows - 20)  # the last 20 rows repeat the first 20
        day, month, year = 1 + n % 28, 1 + (n // 28) % 12, 2014 + n // (28 * 12)
        writer.writerow(
            dict.fromkeys(COLUMNS["events"], "")
            | {
                "partnership": SVM,
                "kind": "geëvalueerd",
                "date": f"{day:02d}-{month:02d}-{year}",
                "status": "gebeurd",
                "municipalities": "GM0606",
                "title": f"Evaluatie {n + 1} van de ICT-samenwerking",
                "decided_by": "college van B&W",
                "visibility": "openbaar",
            }
        )
    return out.getvalue().encode("cp1252")


def test_the_preview_of_5000_rows_shows_confirm_in_the_first_screen_without_axe_violations(
    page, celery_worker_thread, tmp_path
):
    get_user_model().objects.create_superuser("beheerder", "beheerder@example.org", PASSWORD)
    upload = tmp_path / "evaluaties.csv"
    upload.write_bytes(events_file())
    before = Event.objects.count()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/admin/login/")
    page.fill("#id_username", "beheerder")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    page.goto("/admin/cooperation/event/import/")
    results = Axe().run(page, options=AXE_BEST_PRACTICE)
    assert results.violations_count == 0, results.generate_report()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # the column list wraps

    page.set_input_files("input[type=file]", str(upload))
    page.get_by_role("button", name="Bestand controleren").click()
    page.wait_for_url(re.compile(r"/imports/jobs/\d+/$"))
    confirm = page.get_by_role("button", name="Import bevestigen").first
    expect(confirm).to_be_visible(timeout=120_000)

    summary = page.locator("#import-summary")
    expect(summary).to_have_text("5000 rijen: 4980 nieuw, 0 bij te werken, 0 ongewijzigd, 20 dubbel (overgeslagen).")
    box = confirm.bounding_box()
    assert box["y"] + box["height"] <= 800, box  # in the first screen, without scrolling
    expect(page.get_by_role("link", name="Annuleren").first).to_be_visible()
    assert page.get_by_role("button", name="Import bevestigen").count() == 2  # at the top and at the bottom
    assert page.locator("#import-preview tbody tr").count() == 50
    expect(page.locator("#import-preview")).to_contain_text("Evaluatie 1 van de ICT-samenwerking")
    expect(page.locator("#import-preview")).to_contain_text("1 januari 2014")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    results = Axe().run(page, options=AXE_BEST_PRACTICE)
    assert results.violations_count == 0, results.generate_report()

    # The next page of rows, without JavaScript's help: a plain link.
    page.get_by_role("link", name="Volgende").click()
    expect(page.locator("#import-preview tbody tr").first).to_contain_text("Evaluatie 51")

    page.get_by_role("button", name="Import bevestigen").first.click()
    expect(page.get_by_text("De import is voltooid.")).to_be_visible(timeout=120_000)
    expect(page.get_by_role("link", name="ICT-samenwerking Schiedam, Vlaardingen en Maassluis")).to_be_visible()
    expect(page.get_by_role("link", name="Deze import ongedaan maken…")).to_be_visible()
    assert Event.objects.count() == before + ROWS - 20


def test_the_preview_of_a_small_file_in_the_admin_has_no_axe_violations(page, tmp_path):
    get_user_model().objects.create_superuser("beheerder", "beheerder@example.org", PASSWORD)
    upload = tmp_path / "weinig.csv"
    upload.write_bytes(events_file(120))
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/admin/login/")
    page.fill("#id_username", "beheerder")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.goto("/admin/cooperation/event/import/")
    page.set_input_files("input[type=file]", str(upload))
    page.get_by_role("button", name="Bestand controleren").click()
    expect(page.locator("#import-summary")).to_have_text(
        "120 rijen: 100 nieuw, 0 bij te werken, 0 ongewijzigd, 20 dubbel (overgeslagen)."
    )
    box = page.get_by_role("button", name="Import bevestigen").first.bounding_box()
    assert box["y"] + box["height"] <= 800, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    results = Axe().run(page, options=AXE_BEST_PRACTICE)
    assert results.violations_count == 0, results.generate_report()
    page.get_by_role("link", name="Volgende").click()
    expect(page.locator("#import-preview tbody tr").first).to_contain_text("Evaluatie 51")

"""An administrator imports a large file through the admin in Chromium and watches its progress,
while a real Celery worker runs the job."""

import re

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from cooperation.models import ImportJob, Partnership
from tests.factories import partnerships_csv

ROWS = 5000
PASSWORD = "correct-horse-battery-9"


def test_admin_imports_5000_rows_and_watches_the_bar_reach_100_percent(
    page, celery_worker_thread, import_held, tmp_path
):
    """`import_held` holds the import at its first progress report until the page has shown it running."""
    get_user_model().objects.create_superuser("beheerder", "beheerder@example.org", PASSWORD)
    upload = tmp_path / "groot.csv"
    upload.write_bytes(partnerships_csv(ROWS, prefix="browser"))
    before = Partnership.objects.count()
    page.goto("/admin/login/")
    page.fill("#id_username", "beheerder")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.goto("/admin/cooperation/partnership/import/")
    page.set_input_files("input[type=file]", str(upload))
    page.get_by_role("button", name="Bestand controleren").click()

    # The upload returns at once, on the job's page, with a bar that has not reached the end.
    page.wait_for_url(re.compile(r"/imports/jobs/\d+/$"))
    bar = page.locator("#job-progress")
    expect(bar).to_have_attribute("max", str(ROWS))
    assert int(bar.get_attribute("value")) < ROWS
    expect(page.get_by_text("Deze pagina ververst zichzelf")).to_be_visible()
    import_held.set()  # seen: let the import run on
    confirm = page.get_by_role("button", name="Import bevestigen").first  # at the top (and the bottom)
    expect(confirm).to_be_visible(timeout=120_000)  # the check is done: the preview
    expect(bar).to_have_attribute("value", str(ROWS))
    expect(page.locator("#job-count")).to_contain_text("(100%)")

    confirm.click()
    expect(page.get_by_text("De import is voltooid.")).to_be_visible(timeout=120_000)
    expect(page.locator("#job-progress")).to_have_attribute("value", str(ROWS))
    job = ImportJob.objects.get(filename="groot.csv")
    assert (job.status, job.new, job.processed_rows) == (ImportJob.Status.DONE, ROWS, ROWS)
    assert Partnership.objects.count() == before + ROWS

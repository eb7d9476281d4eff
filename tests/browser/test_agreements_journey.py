"""A civil servant finds Vlaardingen's agreements that are ending or ended, opens one and reads
its signed text; the register's pages pass axe's WCAG 2.1 AA rules."""

import datetime
import hashlib
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import expect

from cooperation import services
from cooperation.models import Agreement, Document, Partnership

pytestmark = pytest.mark.browser

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n%%EOF\n"


@pytest.fixture
def register(seeded_transactional, settings, tmp_path):
    """The seed cases, a service agreement of Schiedam and Vlaardingen whose term ends within the
    year, and the signed ICT agreement as a PDF (stored as the upload will store it)."""
    settings.MEDIA_ROOT = tmp_path
    svm = Partnership.objects.get(slug="schiedam-vlaardingen-maassluis-ict")
    services.agreement_save(
        agreement=Agreement(
            partnership=svm,
            kind=Agreement.Kind.SERVICE_LEVEL_AGREEMENT,
            title="Dienstverleningsovereenkomst servicedesk",
            date_text="2018-01-01",
            term_end=timezone.localdate() + datetime.timedelta(days=120),
        )
    )
    signed = Agreement.objects.get(partnership=svm, title="Samenwerkingsovereenkomst ICT")
    document = Document(
        agreement=signed,
        title="Samenwerkingsovereenkomst ICT, getekend",
        date_text="2013-04-16",
        content_type="application/pdf",
        size=len(PDF),
        sha256=hashlib.sha256(PDF).hexdigest(),
    )
    document.file.save("samenwerkingsovereenkomst-ict.pdf", ContentFile(PDF), save=False)
    document.save()
    return signed


def test_civil_servant_finds_vlaardingens_ending_and_ended_agreements_and_reads_one(page, register):
    page.goto("/")
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Overeenkomsten").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overeenkomsten")

    page.get_by_label("Gemeente").select_option(label="Vlaardingen")
    page.get_by_label("Sorteren op").select_option(label="einde looptijd, eerstvolgende eerst")
    page.get_by_role("button", name="Toon resultaten").click()
    expect(page).to_have_url(re.compile(r"municipality=GM0622"))
    expect(page.get_by_role("heading", name="2 overeenkomsten")).to_be_visible()
    cards = page.locator(".results .card")
    expect(cards.nth(0)).to_contain_text("Dienstverleningsovereenkomst servicedesk")
    expect(cards.nth(0)).to_contain_text("loopt af")
    expect(cards.nth(1)).to_contain_text("Samenwerkingsovereenkomst ICT")
    expect(cards.nth(1)).to_contain_text("opgezegd")

    # Only what ended: the state filter keeps the municipality.
    page.get_by_label("Status").select_option(label="opgezegd")
    page.get_by_role("button", name="Toon resultaten").click()
    expect(page.get_by_role("heading", name="1 overeenkomst")).to_be_visible()
    assert Axe().run(page, options=WCAG_AA).violations_count == 0

    page.get_by_role("link", name="Samenwerkingsovereenkomst ICT", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Samenwerkingsovereenkomst ICT")
    expect(page.locator(".page-header .badges")).to_contain_text("opgezegd")
    expect(page.locator("ol.timeline")).to_contain_text("Schiedam zegt de samenwerkingsovereenkomst ICT op")
    expect(page.locator("ol.timeline")).to_contain_text("college van B&W")
    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Samenwerkingsovereenkomst ICT, getekend").click()
    download = download_info.value
    # Named after the document's title, not the stored file's name.
    assert download.suggested_filename == "Samenwerkingsovereenkomst ICT, getekend.pdf"
    assert Path(download.path()).read_bytes() == PDF

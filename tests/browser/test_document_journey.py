"""An editor attaches the signed agreement in the admin (the upload sent with progress by script),
a refused file comes back with its reason; a reader finds the document and its text, accessibly."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from cooperation.models import Document, Partnership
from tests.factories import SVM, make_pdf

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery-9"
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def test_editor_uploads_the_signed_agreement_and_a_reader_reads_its_text(page, tmp_path):
    get_user_model().objects.create_superuser("beheerder", "beheerder@example.org", PASSWORD)
    agreement = Partnership.objects.get(slug=SVM).agreements.get()
    signed = tmp_path / "overeenkomst.pdf"
    signed.write_bytes(make_pdf("Samenwerkingsovereenkomst ICT", "Schiedam, Vlaardingen en Maassluis"))
    phishing = tmp_path / "besluit.pdf"
    phishing.write_bytes(b"<!DOCTYPE html><html><body><form action='https://example.org'></form></body></html>")
    page.goto("/admin/login/")
    page.fill("#id_username", "beheerder")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    sent_by_script = []
    page.on("request", lambda request: request.method == "POST" and sent_by_script.append(request.resource_type))
    page.goto(f"/admin/cooperation/agreement/{agreement.pk}/change/")

    # A file that is no PDF, whatever its name: the form comes back with the reason.
    page.locator("#documents-group .add-row a").click()
    expect(page.locator("#documents-0").get_by_text("ten hoogste 25,0 MB")).to_be_visible()
    page.fill("#id_documents-0-title", "Ondertekende overeenkomst")
    page.set_input_files("#id_documents-0-file", str(phishing))
    page.get_by_role("button", name="Opslaan", exact=True).click()
    expect(page.get_by_text("geen pdf of kantoordocument", exact=False)).to_be_visible()
    assert sent_by_script == ["xhr"]
    assert not Document.objects.exists()

    # The real one is saved, and the admin goes on as after any save.
    page.set_input_files("#id_documents-0-file", str(signed))
    page.get_by_role("button", name="Opslaan", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("gewijzigd")
    assert sent_by_script == ["xhr", "xhr"]
    document = Document.objects.get()
    assert document.text == "Samenwerkingsovereenkomst ICT\nSchiedam, Vlaardingen en Maassluis"

    # A reader on the partnership page: the document, its type and size, and its text.
    page.context.clear_cookies()
    page.goto(f"/partnerships/{SVM}/")
    link = page.get_by_role("link", name=re.compile(r"^Ondertekende overeenkomst \(PDF, \d+ bytes\) downloaden$"))
    expect(link).to_have_attribute("href", f"/documents/{document.uid}/")
    assert Axe().run(page, options=WCAG_AA).violations_count == 0
    page.get_by_role("link", name="Tekst van het document (Ondertekende overeenkomst)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ondertekende overeenkomst")
    expect(page.locator(".document-text__body")).to_contain_text("Schiedam, Vlaardingen en Maassluis")
    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()

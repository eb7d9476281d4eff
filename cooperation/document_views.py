"""Documents behind agreements and events: served as downloads to whoever may see them."""

from __future__ import annotations

import posixpath

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from .models import Document
from .permissions import can_view_internal


@require_safe
def document_download(request, uid):
    """A document's file, as an attachment: never rendered by the browser as a page of ours.
    Internal documents, and documents of internal agreements, events or partnerships, are a 404
    to anyone not signed in."""
    document = get_object_or_404(Document.objects.for_audience(can_view_internal(request.user)), uid=uid)
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=posixpath.basename(document.file.name),
        content_type=document.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    # What a signed-in user downloads may be internal: no shared cache keeps it.
    response["Cache-Control"] = "private, no-store" if request.user.is_authenticated else "public, max-age=3600"
    return response

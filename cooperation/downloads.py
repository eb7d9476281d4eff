"""Large open-data downloads: built by a Celery task, stored as `OpenDataFile` rows, served from there.

Files (schema version in docs/open-data.md):
- popolo.json: the public register as Popolo (cooperation/popolo.py);
- municipalities, partnerships, agreements and events, each as .csv, .xlsx and .json: the
  public register in the import formats (written by the one exporter,
  cooperation/porting/export.py), so that a download can be imported elsewhere
  (municipalities first, then partnerships, agreements and events). Only public agreements
  of public partnerships; an event's `agreement_uid` names only such an agreement.

A request never builds a file: a missing one is queued and answered with 503 + Retry-After;
one older than OPEN_DATA_MAX_AGE is served and a rebuild is queued (at most one per
OPEN_DATA_MAX_AGE / 6 per process). Beat rebuilds all files every hour as well. A file built
before the public register last changed (its `register_stamp`, `fragments.register_stamp`) is
never served: what a change took out of public view (a partnership made internal, an event
deleted) must not stay downloadable; it is answered like a missing file until the rebuild that
the change queued has run.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag
from django.utils.translation import gettext_lazy

from . import fragments, queue
from .models import Agreement, Event, Municipality, OpenDataFile, Partnership
from .popolo import SCHEMA_VERSION as POPOLO_VERSION
from .popolo import popolo_export
from .porting.columns import COLUMNS as IMPORT_COLUMNS
from .porting.columns import FORMAT_VERSION
from .porting.export import export_dataset, write_table

# The register tables: the import formats (docs/import-formats.md), whose version this is.
REGISTER_VERSION = str(FORMAT_VERSION)
COLUMNS = {table: list(columns) for table, columns in IMPORT_COLUMNS.items()}
CONTENT_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
TABLE_FORMATS = ("csv", "xlsx", "json")
TABLE_LABELS = {
    "municipalities": gettext_lazy("municipalities"),
    "partnerships": gettext_lazy("partnerships"),
    "agreements": gettext_lazy("agreements"),
    "events": gettext_lazy("events"),
}
FILES = ["popolo.json"] + [f"{table}.{kind}" for table in COLUMNS for kind in TABLE_FORMATS]
REFRESH_LOCK = "open-data-refresh-requested"


def _public_querysets() -> dict:
    return {
        "municipalities": Municipality.objects.select_related("merged_into").order_by("cbs_code"),
        "partnerships": Partnership.objects.public().prefetch_related("pillars").order_by("slug"),
        "agreements": Agreement.objects.public()
        .for_list()
        .select_related("partnership")
        .order_by("partnership__slug", "uid"),
        "events": Event.objects.public()
        .select_related("partnership", "pillar", "agreement")
        .prefetch_related("municipalities", "sources")
        .order_by("partnership__slug", F("date_lower").asc(nulls_last=True), "date_upper", "kind", "uid"),
    }


def register_rows(table: str) -> list[list]:
    """The rows of one table of the public register, in the import format (porting.export), so
    that the download is exactly what an import reads. Costs marked internal are left blank, and so
    is an event's agreement that is not public (an internal agreement leaves no public trace)."""
    queryset = _public_querysets()[table]
    dataset = export_dataset(table, queryset)
    rows = [list(row) for row in dataset]
    if table == "events":
        hidden = {str(uid) for uid in queryset.filter(cost_internal=True).values_list("uid", flat=True)}
        columns = [dataset.headers.index(name) for name in ("cost_eur", "cost_note")]
        public_agreements = {str(uid) for uid in Agreement.objects.public().values_list("uid", flat=True)}
        agreement_column = dataset.headers.index("agreement_uid")
        for row in rows:
            if str(row[0]) in hidden:
                for column in columns:
                    row[column] = ""
            if row[agreement_column] and row[agreement_column] not in public_agreements:
                row[agreement_column] = ""
    return rows


def build_files(base_url: str) -> dict[str, tuple[bytes, str, str]]:
    """Every download as name -> (content, content type, schema version)."""
    files = {
        "popolo.json": (
            json.dumps(popolo_export(base_url), ensure_ascii=False, indent=1).encode(),
            CONTENT_TYPES["json"],
            POPOLO_VERSION,
        )
    }
    for table in COLUMNS:
        rows = register_rows(table)
        for file_format in TABLE_FORMATS:
            content = write_table(file_format=file_format, headers=COLUMNS[table], rows=rows, title=table)
            files[f"{table}.{file_format}"] = (content, CONTENT_TYPES[file_format], REGISTER_VERSION)
    return files


@transaction.atomic
def open_data_store(*, base_url: str) -> list[str]:
    """Build every download and store it (replacing the old one); returns the names. The stamp is
    read before the data: a change committed meanwhile makes the files look older, never newer."""
    now = timezone.now()
    stamp = fragments.register_stamp(internal=False)
    for name, (content, content_type, version) in build_files(base_url).items():
        OpenDataFile.objects.update_or_create(
            name=name,
            defaults={
                "content": content,
                "content_type": content_type,
                "sha256": hashlib.sha256(content).hexdigest(),
                "schema_version": version,
                "generated_at": now,
                "register_stamp": stamp,
            },
        )
    return sorted(FILES)


def listing() -> list[tuple[str, list[tuple[str, str]]]]:
    """The register downloads for a page: (table label, [(format, file name)]), in import order."""
    return [(TABLE_LABELS[table], [(kind, f"{table}.{kind}") for kind in TABLE_FORMATS]) for table in COLUMNS]


def refresh_lock(stamp: str) -> str:
    """The cache key held while a build for this state of the public register is queued."""
    return f"{REFRESH_LOCK}:{stamp}"


def _request_refresh(stamp: str) -> None:
    """Queue a build: at most one per OPEN_DATA_MAX_AGE / 6 for each state of the public register."""
    max_age = settings.OPEN_DATA_MAX_AGE
    if cache.add(refresh_lock(stamp), True, timeout=max(max_age // 6, 1)):
        queue.enqueue("build_open_data")


def download(request, name: str):
    """Serve a stored download with ETag/Last-Modified; queue a build when it is missing, old, or
    built before the public register last changed (then it is not served: 503 until rebuilt)."""
    if name not in FILES:
        raise Http404
    stamp = fragments.register_stamp(internal=False)
    stored = OpenDataFile.objects.filter(name=name).first()
    age = (timezone.now() - stored.generated_at).total_seconds() if stored else None
    current = stored is not None and stored.register_stamp == stamp
    if not current or age > settings.OPEN_DATA_MAX_AGE:
        _request_refresh(stamp)
        if not current:
            # With CELERY_TASK_ALWAYS_EAGER (some tests) the file is rebuilt now.
            stored = OpenDataFile.objects.filter(name=name, register_stamp=stamp).first()
    if stored is None:
        body = {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "This download is being prepared. Try again in a minute.",
            "instance": request.get_full_path(),
        }
        response = JsonResponse(body, status=503, content_type="application/problem+json")
        response["Retry-After"] = "60"
        return response
    response = HttpResponse(bytes(stored.content), content_type=stored.content_type)
    response["Content-Disposition"] = f'attachment; filename="ict-samenwerking-{name}"'
    response["X-Schema-Version"] = stored.schema_version
    etag = quote_etag(stored.sha256)
    modified = int(stored.generated_at.timestamp())
    response["ETag"] = etag
    response["Last-Modified"] = http_date(modified)
    return get_conditional_response(request, etag=etag, last_modified=modified, response=response)

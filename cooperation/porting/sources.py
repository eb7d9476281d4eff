"""The sources of an event row: the six source columns (one source per line), read into
`SourceSpec`s and written back, and who may change a stored source (`EventResource` mixes it in)."""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .. import permissions
from ..models import Source
from .columns import SOURCE_COLUMNS, is_web_address, parse_day


@dataclass(frozen=True)
class SourceSpec:
    url: str
    title: str
    publisher: str
    author: str
    published_on: datetime.date | None
    kind: str

    @property
    def key(self) -> tuple:
        return ("url", self.url) if self.url else ("text", self.title, self.publisher, self.author, self.published_on)


# The column of each part of a source, in the order of the format.
SOURCE_PARTS = (
    ("source_url", "url"),
    ("source_title", "title"),
    ("source_publisher", "publisher"),
    ("source_author", "author"),
    ("source_date", "published_on"),
    ("source_kind", "kind"),
)


def differing_columns(one: SourceSpec, other: SourceSpec) -> list[str]:
    """The source columns in which two descriptions of one source differ (at least one)."""
    return [column for column, part in SOURCE_PARTS if getattr(one, part) != getattr(other, part)] or ["source_title"]


def source_spec(source: Source) -> SourceSpec:
    return SourceSpec(source.url, source.title, source.publisher, source.author, source.published_on, source.kind)


class SourceColumnsMixin:
    """Reading and writing the source columns of an event row."""

    def sources_column(self, event, column: str) -> str:
        """Several sources: one per line, the same line in every source column."""
        specs = sorted((source_spec(s) for s in event.sources.all()), key=lambda s: (s.url, s.title))
        attribute = {"source_date": "published_on", "source_url": "url"}.get(column, column.removeprefix("source_"))
        values = [getattr(spec, attribute) for spec in specs]
        values = [value.isoformat() if isinstance(value, datetime.date) else (value or "") for value in values]
        return "" if not any(values) else "\n".join(values)

    def read_sources(self, row, errors) -> list[SourceSpec]:
        columns = {column: row.get(column) or "" for column in SOURCE_COLUMNS}
        if not any(columns.values()):
            return []
        # Several sources: one per line, the n-th line of each source column belongs to the n-th source.
        lines = {column: value.replace("\r\n", "\n").split("\n") if value else [] for column, value in columns.items()}
        count = max(len(values) for values in lines.values())
        specs = []
        for index in range(count):
            value = {column: values[index].strip() if index < len(values) else "" for column, values in lines.items()}
            url = value["source_url"]
            if url and not is_web_address(url):
                errors.setdefault("source_url", []).append(
                    _("“%(value)s” is not a web address (https://…).") % {"value": url}
                )
                continue
            try:
                published_on = parse_day(value["source_date"])
            except ValueError as error:
                errors.setdefault("source_date", []).append(str(error))
                continue
            if not value["source_title"]:
                errors.setdefault("source_title", []).append(_("Every source needs a title."))
                continue
            kind = ""
            if value["source_kind"]:
                kind = self.source_kinds.code(value["source_kind"])
                if kind is None:
                    errors.setdefault("source_kind", []).append(str(self.source_kinds.unknown(value["source_kind"])))
                    continue
            for column, limit in (("source_url", 500), ("source_title", 300)):
                if len(value[column]) > limit:
                    errors.setdefault(column, []).append(_("Longer than %(limit)s characters.") % {"limit": limit})
            for column in ("source_publisher", "source_author"):
                if len(value[column]) > 200:
                    errors.setdefault(column, []).append(_("Longer than %(limit)s characters.") % {"limit": 200})
            spec = SourceSpec(
                url, value["source_title"], value["source_publisher"], value["source_author"], published_on, kind
            )
            if not kind:
                # No kind given (a file of format 1.0, or an empty cell): the stored source keeps its own.
                stored = self.sources_by_key.get(spec.key)
                spec = dataclasses.replace(spec, kind=stored.kind if stored else Source.Kind.NEWS_ARTICLE)
            specs.append(spec)
        return specs

    def may_change_source(self, source: Source) -> bool:
        """`permissions.can_change_source`, asked once per source of the file."""
        if self.is_administrator:
            return True
        answers = self.__dict__.setdefault("_source_answers", {})
        if source.pk not in answers:
            answers[source.pk] = permissions.can_change_source(self.user, source)
        return answers[source.pk]

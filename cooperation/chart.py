"""Geometry of the membership chart on the partnership page: pure, no ORM.

Memberships and events in (from `timeline`), SVG coordinates out; the template
`cooperation/_chart.html` draws them: a column of names and a plot beside it, at a scale that never
takes the text (FONT_SIZE units) below 12 CSS pixels (the plot scrolls sideways instead, on a phone).
A long timeline (`summarise`) gets a row of counts per year instead of a mark per event.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import dates, timeline
from .timeline import EventFacts, Membership


@dataclass
class ChartMarker:
    x: float
    width: float
    status: str
    label: str
    title: str


@dataclass
class ChartLane:
    name: str
    url: str
    y: float
    state: str
    # Segments are (x, width).
    solid: tuple[float, float] | None
    vague: list[tuple[float, float]]
    open_end: tuple[float, float] | None
    planned: tuple[float, float] | None
    markers: list[ChartMarker]
    # From the latest evidence to today, when that evidence is older than the horizon.
    unknown: tuple[float, float] | None = None
    unknown_title: str = ""


@dataclass
class YearCount:
    x: float
    y: float
    width: float
    height: float
    year: int
    count: int
    title: str


@dataclass
class Chart:
    width: int
    height: int
    label_width: int
    plot_top: int
    years: list[tuple[float, str]]
    lanes: list[ChartLane]
    today_x: float | None
    # The column of events without a date, when any lane has one: its middle and width.
    undated: tuple[float, float] | None = None
    # A long timeline: events per year, in a row below the lanes (its top at `counts_y`).
    counts: list[YearCount] | None = None
    counts_y: float = 0
    # Where the lanes (and the counts) end, and where the "today" label sits, below them.
    plot_bottom: float = 0
    today_label_y: float = 0

    @property
    def plot_width(self) -> int:
        return self.width - self.label_width

    @property
    def label_percent(self) -> str:
        """The share of the chart's width that the column of names takes, for the page."""
        return f"{self.label_width / self.width * 100:.4f}"

    @property
    def plot_percent(self) -> str:
        return f"{self.plot_width / self.width * 100:.4f}"


def _segment(span: tuple[float, float] | None) -> tuple[float, float] | None:
    """(start, end) -> (x, width) for an SVG rect."""
    if span is None:
        return None
    return (span[0], round(max(span[1] - span[0], 0), 1))


CHART_WIDTH, LABEL_WIDTH, LANE_HEIGHT, AXIS_HEIGHT = 960, 200, 44, 34
# Every text in the chart is FONT_SIZE units, and the page never draws the chart narrower than
# MIN_WIDTH CSS pixels (static/css/portal.css, .chart__canvas; it scrolls sideways instead), so no
# text is smaller than 18 x 650 / 960 = 12.2 CSS pixels; beside the map on a wide screen it fits.
FONT_SIZE, MIN_WIDTH = 18, 650
UNDATED_WIDTH, COUNTS_HEIGHT, TODAY_LABEL_HEIGHT = 100, 60, 24


def _undated_markers(events: Sequence[EventFacts], pk: int, x: float) -> list[ChartMarker]:
    """Events of this municipality without a date, drawn in the chart's "no date" column."""
    markers = []
    for facts in events:
        if facts.date.text or not any(ref.pk == pk for ref in facts.municipalities):
            continue
        label = timeline.kind_label(facts.kind)
        title = f"{label}: {_('date not recorded')}"
        markers.append(ChartMarker(x=x, width=0, status=facts.status, label=label, title=title))
    return markers


def _counts(events: Sequence[EventFacts], x, top: float) -> list[YearCount]:
    """Events per year (of their earliest date), as bars scaled to the busiest year."""
    per_year: dict[int, int] = {}
    for facts in events:
        day = facts.date.lower or facts.date.upper
        if day:
            per_year[day.year] = per_year.get(day.year, 0) + 1
    most = max(per_year.values(), default=1)
    counts = []
    for year, count in sorted(per_year.items()):
        left, right = x(datetime.date(year, 1, 1), None), x(datetime.date(year + 1, 1, 1), None)
        height = round(max(count / most * (COUNTS_HEIGHT - 16), 2), 1)
        title = ngettext("%(year)s: %(count)s event", "%(year)s: %(count)s events", count) % {
            "year": year,
            "count": count,
        }
        counts.append(
            YearCount(
                x=left + 1,
                y=round(top + COUNTS_HEIGHT - 4 - height, 1),
                width=round(max(right - left - 2, 1), 1),
                height=height,
                year=year,
                count=count,
                title=title,
            )
        )
    return counts


def chart(
    events: Sequence[EventFacts],
    memberships: Sequence[Membership],
    today: datetime.date,
    urls: dict[int, str] | None = None,
    evidence: datetime.date | None = None,
    horizon: int | None = None,
    summarise: bool = False,
) -> Chart | None:
    """Geometry of the membership chart: one lane per membership, a year axis, event markers.

    Vague dates become ranges, not points; events without a date get a column of their own at
    the right. Returns None when nothing is dated. A current membership's solid bar stops at the
    latest `evidence` when that is older than the horizon, and continues to today as "unknown
    since". With `summarise` (a long timeline) no event is drawn one by one: a row below the
    lanes counts the events per year.
    """
    stale = evidence is not None and timeline.is_stale(evidence, today, horizon)
    urls = urls or {}
    known = [d for f in events for d in (f.date.lower, f.date.upper) if d]
    known += [d for m in memberships for d in (m.start.lower, m.start.upper) if d]
    if not known or not memberships:
        return None
    first_year = min(known).year
    last_year = max(max(known).year, today.year if any(m.state != "ended" for m in memberships) else 0)
    axis_start, axis_end = datetime.date(first_year, 1, 1), datetime.date(last_year + 1, 1, 1)
    member_pks = {m.municipality.pk for m in memberships}
    has_undated = not summarise and any(
        not f.date.text and any(ref.pk in member_pks for ref in f.municipalities) for f in events
    )
    plot_width = CHART_WIDTH - LABEL_WIDTH - 16 - (UNDATED_WIDTH if has_undated else 0)
    undated_x = LABEL_WIDTH + plot_width + 16 + UNDATED_WIDTH / 2
    span_days = (axis_end - axis_start).days

    def x(day: datetime.date | None, default: datetime.date) -> float:
        day = day or default
        day = min(max(day, axis_start), axis_end)
        return round(LABEL_WIDTH + (day - axis_start).days / span_days * plot_width, 1)

    # A year label every `step` years, far enough apart not to overlap (a label is ~40 units wide).
    per_year = plot_width / (last_year - first_year + 1)
    step = next((step for step in (1, 2, 5, 10, 25) if per_year * step >= 52), 50)
    # Each label starts at its year's gridline; one that would run off the plot is left out.
    years = [(x(datetime.date(year, 1, 1), axis_start), str(year)) for year in range(first_year, last_year + 1, step)]
    years = [(left, label) for left, label in years if left + 44 <= LABEL_WIDTH + plot_width + 16]
    lanes = []
    for index, membership in enumerate(memberships):
        y = AXIS_HEIGHT + index * LANE_HEIGHT
        start_lower = x(membership.start.lower, axis_start)
        start_upper = x(membership.start.upper, axis_start)
        vague = [(start_lower, start_upper)] if start_upper - start_lower > 2 else []
        solid = planned = open_end = unknown = None
        unknown_title = ""
        if membership.state == "planned":
            planned = (start_lower, x(membership.end.upper if membership.end else None, axis_end))
        elif membership.end is not None:
            end_lower = x(membership.end.lower, axis_end)
            end_upper = x(membership.end.upper, axis_end)
            if membership.end.upper is None:
                open_end = (end_lower, x(axis_end, axis_end))
            elif end_upper - end_lower > 2:
                vague.append((end_lower, end_upper))
            solid = (start_upper, end_lower)
        elif membership.state == "leaving":
            leaving_from = membership.decision or membership.termination
            certain_until = x(leaving_from.date.lower if leaving_from else today, today)
            solid = (start_upper, certain_until)
            open_end = (certain_until, x(axis_end, axis_end))
        elif stale:
            certain_until = max(x(evidence, today), start_upper)
            solid = (start_upper, certain_until)
            unknown = (certain_until, x(today, today))
            unknown_title = _("unknown since %(date)s") % {"date": dates.render_date(evidence.isoformat())}
        else:
            solid = (start_upper, x(today, today))
        markers = []
        for facts in () if summarise else events:
            if not facts.date.text or not any(ref.pk == membership.municipality.pk for ref in facts.municipalities):
                continue
            lower, upper = x(facts.date.lower, axis_start), x(facts.date.upper, axis_end)
            label = timeline.kind_label(facts.kind)
            markers.append(
                ChartMarker(
                    x=lower,
                    width=max(upper - lower, 0),
                    status=facts.status,
                    label=label,
                    title=f"{label}: {dates.render_date(facts.date.text)}",
                )
            )
        if has_undated:
            markers += _undated_markers(events, membership.municipality.pk, undated_x)
        lanes.append(
            ChartLane(
                name=membership.municipality.name,
                url=urls.get(membership.municipality.pk, ""),
                y=y,
                state=membership.state,
                solid=_segment(solid),
                vague=[_segment(part) for part in vague],
                open_end=_segment(open_end),
                planned=_segment(planned),
                markers=markers,
                unknown=_segment(unknown),
                unknown_title=unknown_title,
            )
        )
    today_x = x(today, today) if axis_start <= today <= axis_end else None
    bottom = AXIS_HEIGHT + len(lanes) * LANE_HEIGHT + 8
    counts = _counts(events, lambda day, _default: x(day, axis_start), bottom) if summarise else None
    counts_y = bottom
    if counts is not None:
        bottom += COUNTS_HEIGHT
    return Chart(
        width=CHART_WIDTH,
        height=bottom + (TODAY_LABEL_HEIGHT if today_x is not None else 0),
        label_width=LABEL_WIDTH,
        plot_top=AXIS_HEIGHT - 6,
        years=years,
        lanes=lanes,
        today_x=today_x,
        undated=(undated_x, UNDATED_WIDTH) if has_undated else None,
        counts=counts,
        counts_y=counts_y,
        plot_bottom=bottom,
        today_label_y=bottom + TODAY_LABEL_HEIGHT - 6,
    )

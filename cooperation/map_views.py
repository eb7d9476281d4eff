"""Maps drawn on the server: a partnership's members, a municipality's partners, the country.

No JavaScript and no tile server. The country is one static, cacheable SVG
(`static/map/gemeenten.svg`, written by `manage.py build_map` from `geo.py`), drawn as the
background `<image>` of every map; a page adds inline only the municipalities it highlights
(`geo.path()`), each a link with a `<title>`. Every map has a text or table equivalent on the
same page (WCAG 1.1.1), and the credit line `geo.CREDIT`.

Areas are those of 2025: a former municipality is drawn as part of its successor's area (the end
of its `merged_into` chain in the register), with a note saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.db.models import Case, CharField, Count, F, Q, Value, When
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from . import fragments, geo, permissions
from .filters import PartnershipFilterSet
from .models import Membership, Municipality, Partnership

# How far `merged_into` chains are followed in one query; the register's longest is 4 steps.
CHAIN_DEPTH = 5
# Memberships that count as taking part (a planned membership has not started).
TAKING_PART = [Membership.State.ACTIVE, Membership.State.LEAVING, Membership.State.ENDED]
# Map states of a partnership's members, in order of precedence when two share an area.
STATES = ("active", "ended", "planned", "plan")
STATE_LABELS = {
    "active": gettext_lazy("member"),
    "ended": gettext_lazy("left"),
    "planned": gettext_lazy("planned member"),
    "plan": gettext_lazy("only named in a plan"),
}
# Sequential, colour-blind-safe shades (ColorBrewer YlGnBu), light to dark; also ordered in grey.
SHADES = 5
MAP_FILTERS = ("pillar", "legal_form", "year")
MAP_FILTERSET = PartnershipFilterSet.only(*MAP_FILTERS)
ORDERS = ("-count", "count", "name", "-name", "province")


# --- Areas: a municipality of any year -> its area on the map of 2025 -------------------------


def _chain(level: int, prefix: str = "") -> str:
    return prefix + "merged_into__" * level


def areas_of(municipalities) -> dict[int, tuple[str, str]]:
    """{pk: (CBS code, name)} of the map area of each municipality: itself when current, else the
    first current municipality along its `merged_into` chain. No query when all are current; one
    for the former ones otherwise. Municipalities without an area on the map are left out."""
    on_map = geo.codes()
    result, former = {}, []
    for municipality in municipalities:
        if municipality.existed_until is None:
            if municipality.cbs_code in on_map:
                result[municipality.pk] = (municipality.cbs_code, municipality.name)
        elif municipality.merged_into_id:
            former.append(municipality.pk)
    if former:
        parts = ("cbs_code", "name", "existed_until")
        fields = [_chain(level) + part for level in range(1, CHAIN_DEPTH + 1) for part in parts]
        for pk, *chain in Municipality.objects.filter(pk__in=former).values_list("pk", *fields):
            for code, name, until in zip(chain[::3], chain[1::3], chain[2::3], strict=True):
                if code is not None and until is None:
                    if code in on_map:
                        result[pk] = (code, name)
                    break
    return result


def area_expression(prefix: str, name: str) -> Case:
    """SQL for the `name` ("cbs_code" or "name") of the map area of the municipality at `prefix`
    (e.g. "municipality__"): the first current municipality along its `merged_into` chain."""
    whens = []
    for level in range(CHAIN_DEPTH + 1):
        path = _chain(level, prefix)
        condition = Q(**{f"{path}existed_until__isnull": True, f"{path}cbs_code__isnull": False})
        whens.append(When(condition, then=F(path + name)))
    return Case(*whens, default=Value(""), output_field=CharField())


def shade_classes(maximum: int) -> list[tuple[int, int, int]]:
    """(lowest, highest, shade 1..5) of each class: one per value up to 5, else five equal
    intervals of 1..maximum. With fewer classes the shades are spread over the scale."""
    if maximum <= 0:
        return []
    if maximum <= SHADES:
        ranges = [(n, n) for n in range(1, maximum + 1)]
    else:
        edges = [round(maximum * i / SHADES) for i in range(SHADES + 1)]
        ranges = [(edges[i] + 1, edges[i + 1]) for i in range(SHADES)]
    count = len(ranges)
    return [
        (low, high, 3 if count == 1 else 1 + round(index * (SHADES - 1) / (count - 1)))
        for index, (low, high) in enumerate(ranges)
    ]


def shade_of(value: int, classes) -> int:
    return next((shade for low, high, shade in classes if low <= value <= high), 0)


def _view(codes, **kwargs) -> dict:
    """The view box framing `codes`, and when it is not the whole country a locator inset: the
    country in the top left corner (28% of the view's width) with the view marked on it."""
    frame = geo.map_data().frame
    x, y, width, height = geo.view_box(codes, **kwargs)
    view = {"view_box": f"{x} {y} {width} {height}", "frame": {"width": frame.width, "height": frame.height}}
    if width < frame.width:
        inset_width = round(width * 0.28)
        view["inset"] = {
            "x": x,
            "y": y,
            "width": inset_width,
            "height": round(inset_width * frame.height / frame.width),
            "window": {"x": x, "y": y, "width": width, "height": height},
        }
    return view


@dataclass
class Area:
    """One highlighted area on a map, with what the text equivalent says about it."""

    code: str
    name: str
    url: str
    state: str = ""
    shade: int = 0
    title: str = ""
    path: str = ""
    count: int = 0
    notes: list[str] = field(default_factory=list)


# --- Partnership page ------------------------------------------------------------------------


@dataclass(frozen=True)
class MapMember:
    """A municipality of a partnership as the map needs it; plain data, cached with the page."""

    name: str
    url: str
    area: str
    area_name: str
    state: str  # planned, active, leaving, ended, or "plan" (named only in a planned event)
    start_year: int | None = None
    end_year: int | None = None


def partnership_members(events, memberships) -> list[MapMember]:
    """The map's view of a partnership, from what its page has loaded (events with their
    `municipality_list`, Event.objects.for_timeline; derived memberships): no query unless a
    former municipality is among them."""
    municipalities = {m.pk: m for event in events for m in event.municipality_list}
    areas = areas_of(municipalities.values())
    members = []
    for membership in memberships:
        municipality = municipalities.get(membership.municipality.pk)
        if municipality is None:
            continue
        code, area_name = areas.get(municipality.pk, ("", ""))
        members.append(
            MapMember(
                name=municipality.name,
                url=municipality.get_absolute_url(),
                area=code,
                area_name=area_name,
                state=membership.state,
                start_year=membership.start.lower.year if membership.start.lower else None,
                end_year=membership.end.upper.year if membership.end and membership.end.upper else None,
            )
        )
    member_pks = {membership.municipality.pk for membership in memberships}
    in_plans = {
        m.pk: m
        for event in events
        if event.status == "planned"
        for m in event.municipality_list
        if m.pk not in member_pks
    }
    for municipality in sorted(in_plans.values(), key=lambda m: m.name):
        code, area_name = areas.get(municipality.pk, ("", ""))
        members.append(MapMember(municipality.name, municipality.get_absolute_url(), code, area_name, "plan"))
    return members


def member_state(member: MapMember, year: int | None) -> str:
    """The map state of a member now (`year` None) or in `year`; "" when not yet a member then.
    In a year: a member whose membership overlaps it (as the list's "active in year"), "left"
    once its latest possible end lies before it."""
    if member.state in ("planned", "plan"):
        return member.state
    if year is None:
        return "ended" if member.state == "ended" else "active"
    if member.start_year is not None and member.start_year > year:
        return ""
    if member.end_year is not None and member.end_year < year:
        return "ended"
    return "active"


class MapYearForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("Members in year"), required=False, min_value=1800, max_value=2100)


def partnership_map(members: list[MapMember], params) -> dict:
    """Context of `_map_partnership.html` for the year asked in `params` (GET), from the cached
    members: no query."""
    form = MapYearForm(params if "year" in params else None)
    year = form.cleaned_data.get("year") if form.is_bound and form.is_valid() else None
    areas: dict[str, Area] = {}
    groups: dict[str, list] = {state: [] for state in (*STATES, "later", "off-map")}
    for member in members:
        state = member_state(member, year)
        note = ""
        if member.area and member.area_name != member.name:
            note = _("%(name)s, now part of %(successor)s") % {"name": member.name, "successor": member.area_name}
        label = STATE_LABELS.get(state, "")
        groups[state or "later"].append({"member": member, "note": note})
        if not member.area:
            groups["off-map"].append({"member": member, "note": ""})
        if not state or not member.area:
            continue
        area = areas.setdefault(member.area, Area(code=member.area, name=member.area_name, url=member.url))
        if not area.state or STATES.index(state) < STATES.index(area.state):
            area.state = state
            area.url = member.url
        area.notes.append(f"{note or member.name}: {label}")
    for area in areas.values():
        area.title = "; ".join(area.notes)
        area.path = geo.path(area.code)
    shown = sorted(areas.values(), key=lambda a: STATES.index(a.state))
    return {
        "map_form": form,
        "map_year": year,
        "map_areas": shown,
        "map_groups": [(state, STATE_LABELS[state], groups[state]) for state in STATES if groups[state]],
        "map_later": groups["later"],
        "map_off_map": groups["off-map"],
        "map_view": _view([a.code for a in shown] or [m.area for m in members if m.area], minimum=350),
        "map_credit": geo.CREDIT,
        "map_states": [(state, STATE_LABELS[state]) for state in STATES],
    }


# --- Municipality page -----------------------------------------------------------------------


def municipality_map(user, municipality) -> dict:
    """Where the municipality lies and the municipalities it cooperated with, shaded by the
    number of (visible) partnerships they shared. 1 query (+1 when the municipality is a former
    one); the caller caches the result per state of the register."""
    own = areas_of([municipality]).get(municipality.pk)
    internal = permissions.can_view_internal(user)
    visible = Partnership.objects.for_audience(internal)
    memberships = Membership.objects.for_audience(internal)
    shared = memberships.filter(municipality=municipality, partnership__in=visible, state__in=TAKING_PART).values(
        "partnership_id"
    )
    rows = (
        memberships.filter(partnership_id__in=shared, state__in=TAKING_PART)
        .exclude(municipality=municipality)
        .annotate(
            area=area_expression("municipality__", "cbs_code"), area_name=area_expression("municipality__", "name")
        )
        .values_list("partnership_id", "municipality__name", "area", "area_name")
        .distinct()
    )
    partnerships: dict[str, set] = {}
    names: dict[str, str] = {}
    via: dict[str, set] = {}
    for partnership_id, name, area, area_name in rows:
        partnerships.setdefault(area, set()).add(partnership_id)
        names[area] = area_name
        if name != area_name:
            via.setdefault(area, set()).add(name)
    on_map = geo.codes()
    classes = shade_classes(max((len(ids) for ids in partnerships.values()), default=0))
    partners = []
    for code, ids in partnerships.items():
        if not code:
            continue
        area = Area(
            code=code,
            name=names[code],
            url=Municipality(cbs_code=code).get_absolute_url(),
            shade=shade_of(len(ids), classes),
            count=len(ids),
            notes=sorted(via.get(code, ())),
        )
        area.title = ngettext(
            "%(name)s: %(count)s shared partnership", "%(name)s: %(count)s shared partnerships", area.count
        ) % {"name": area.name, "count": area.count}
        area.path = geo.path(code) if code in on_map and (not own or code != own[0]) else ""
        partners.append(area)
    partners.sort(key=lambda a: (-a.count, a.name))
    own_area = None
    if own:
        own_area = Area(code=own[0], name=own[1], url=Municipality(cbs_code=own[0]).get_absolute_url())
        own_area.path = geo.path(own[0])
    return {
        "municipality": municipality,
        "own_area": own_area,
        "partners": partners,
        "unplaced": sorted(via.get("", ())),
        "classes": classes,
        "view": _view([a.code for a in partners if a.path] + ([own_area.code] if own_area else [])),
        "credit": geo.CREDIT,
    }


# --- National overview: /kaart/ --------------------------------------------------------------


def filtered_partnerships(request):
    """The /kaart/ filters: pillar, legal form and year of the partnership list's filter set,
    applied as the list applies them (invalid values reported and ignored). Returns (form,
    valid filters, visible partnerships that pass them)."""
    visible = Partnership.objects.for_audience(permissions.can_view_internal(request.user))
    filterset = MAP_FILTERSET(request.GET or None, visible, request=request)
    return filterset.form, filterset.valid, filterset.qs


def _country_rows(partnerships, year: int | None) -> list[dict]:
    """Every current municipality with the number of partnerships it (or a predecessor, drawn in
    its area) took part in: 2 queries, counted per area in the database."""
    # The memberships of the audience the partnerships were read for (for_audience()).
    memberships = Membership.objects.filter(
        audience=partnerships.audience, partnership__in=partnerships, state__in=TAKING_PART
    )
    if year is not None:
        # Taking part in that year: the membership overlaps it (as Partnership.active_in()).
        memberships = memberships.filter(
            Q(start_lower__year__lte=year) | Q(start_lower__isnull=True),
            Q(end_upper__year__gte=year) | Q(end_upper__isnull=True),
        )
    counts = dict(
        memberships.values(area=area_expression("municipality__", "cbs_code"))
        .annotate(count=Count("partnership_id", distinct=True))
        .values_list("area", "count")
    )
    return [
        {"code": code, "name": name, "province": province, "count": counts.get(code, 0)}
        for code, name, province in Municipality.objects.current().values_list("cbs_code", "name", "province")
    ]


def country_map(request):
    """/kaart/ (/en/map/): every municipality shaded by the number of partnerships it took part
    in, filtered by pillar, legal form and year, with a sortable table as the text equivalent.

    1 query when cached (the register stamp); cold: + counts per area, the municipalities
    (+ session/user when signed in)."""
    form, filters, partnerships = filtered_partnerships(request)
    order = request.GET.get("order", "")
    order = order if order in ORDERS else "-count"
    internal = permissions.can_view_internal(request.user)
    stamp = fragments.register_stamp(internal)
    key = fragments.register_key("country-map", sorted(filters.items()), order, stamp=stamp, internal=internal)

    def build() -> str:
        rows = _country_rows(partnerships, filters.get("year"))
        on_map = geo.codes()
        classes = shade_classes(max((row["count"] for row in rows), default=0))
        current = {row["code"] for row in rows}
        areas = []
        for row in rows:
            row["shade"] = shade_of(row["count"], classes)
            row["url"] = Municipality(cbs_code=row["code"]).get_absolute_url()
            row["on_map"] = row["code"] in on_map
            if row["count"] and row["on_map"]:
                areas.append(
                    Area(
                        code=row["code"],
                        name=row["name"],
                        url=row["url"],
                        shade=row["shade"],
                        path=geo.path(row["code"]),
                        title=ngettext(
                            "%(name)s: %(count)s partnership", "%(name)s: %(count)s partnerships", row["count"]
                        )
                        % {"name": row["name"], "count": row["count"]},
                    )
                )
        # On the map but not a current municipality of the register: no data, hatched.
        missing = [
            Area(code=code, name=name, url="", path=geo.path(code))
            for code, name in sorted(geo.map_data().names.items())
            if code not in current
        ]
        by_name = lambda row: (row["name"].casefold(), row["code"])  # noqa: E731
        sort_keys = {
            "-count": lambda row: (-row["count"], *by_name(row)),
            "count": lambda row: (row["count"], *by_name(row)),
            "name": by_name,
            "-name": by_name,
            "province": lambda row: (row["province"], *by_name(row)),
        }
        rows.sort(key=sort_keys[order], reverse=order == "-name")
        columns = [
            {"label": _("Municipality"), "link": "-name" if order == "name" else "name"},
            {"label": _("Province"), "link": "province"},
            {"label": _("Partnerships"), "link": "count" if order == "-count" else "-count"},
        ]
        sorted_by = {"name": 0, "-name": 0, "province": 1, "count": 2, "-count": 2}[order]
        columns[sorted_by]["sort"] = "descending" if order.startswith("-") else "ascending"
        context = {
            "columns": columns,
            "rows": rows,
            "areas": areas,
            "missing": missing,
            "classes": classes,
            "with_partnerships": sum(1 for row in rows if row["count"]),
            "filters": filters,
            "order": order,
            "query": {name: value for name, value in request.GET.items() if name in MAP_FILTERS and value},
            "view": _view([]),
            "credit": geo.CREDIT,
        }
        return render_to_string("cooperation/_map_country.html", context, request=request)

    fields = [form[name] for name in MAP_FILTERS]
    context = {
        "form": form,
        "filters": filters,
        "fields": fields,
        # Only this page's filters are reported; the list's other parameters are ignored here.
        "has_errors": any(field.errors for field in fields),
        "body_html": fragments.cached(key, build),
    }
    return render(request, "cooperation/map.html", context)

"""Municipal boundaries as SVG path data: TopoJSON decoded in plain Python (no GDAL, no numpy).

The boundaries are `data/gemeente_2025.topojson` (CBS / Kadaster, see data/README.md): one
TopoJSON topology whose 342 geometries are rings of shared arcs, quantized and delta-encoded, in
the Dutch RD system (EPSG:28992, metres, y grows northwards), so no projection is needed.

1. `decode_arcs()`: quantized, delta-encoded arcs -> absolute RD coordinates (metres).
2. `simplify_arcs()`: Douglas-Peucker per arc. Neighbours share their border arcs, so simplifying
   arcs rather than rings keeps shared borders identical: no gaps or overlaps appear.
3. `shapes()`: arcs -> closed rings -> polygons (outer ring first, then holes) per municipality.
4. `svg_path()`: rings -> SVG path data in the map frame: RD metres / UNIT, y flipped.

Everything is pure. `map_data()` does the work once per process (a fraction of a second) and
`path()` caches each municipality's path data; nothing is decoded per request.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "gemeente_2025.topojson"
OBJECT = "gemeente_2025"
CREDIT = "Kaartgegevens: CBS / Kadaster (PDOK), 2025"
# Metres per SVG unit: whole units are 100 m, far below a pixel of a 300 px wide country map.
UNIT = 100
# Douglas-Peucker tolerance in metres: a quarter of a pixel when the country is 300 px wide
# (about 1 km per pixel), so shapes keep their outline at that size and when zoomed to a region.
TOLERANCE = 150
# The Netherlands in RD coordinates (metres), with a margin: every boundary point lies inside.
RD_BOX = (0, 300_000, 290_000, 630_000)

Point = tuple[float, float]
Ring = tuple[Point, ...]
Polygon = tuple[Ring, ...]


@dataclass(frozen=True)
class Shape:
    """One municipality: its CBS code, the name in the boundary file, its polygons (RD metres)."""

    code: str
    name: str
    polygons: tuple[Polygon, ...]

    @property
    def rings(self) -> list[Ring]:
        return [ring for polygon in self.polygons for ring in polygon]


def load(path: Path = DATA_FILE) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def decode_arcs(topology: dict) -> list[list[Point]]:
    """Absolute coordinates of every arc: undo the delta encoding, then the quantization."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        if transform is None:
            arcs.append([(position[0], position[1]) for position in arc])
            continue
        (scale_x, scale_y), (shift_x, shift_y) = transform["scale"], transform["translate"]
        x = y = 0
        points = []
        for position in arc:
            x += position[0]
            y += position[1]
            points.append((x * scale_x + shift_x, y * scale_y + shift_y))
        arcs.append(points)
    return arcs


def _distance2(point: Point, a: Point, b: Point) -> float:
    """Squared distance of `point` to the line through a and b (to a itself when a = b)."""
    (px, py), (ax, ay), (bx, by) = point, a, b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return (px - ax) ** 2 + (py - ay) ** 2
    cross = (px - ax) * dy - (py - ay) * dx
    return cross * cross / length2


def simplify(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker: keep the ends and every point farther than `tolerance` from the chord.

    A closed arc (first point = last) keeps at least a triangle: it is cut at the point farthest
    from its start and at the point farthest from that chord, and each part simplified on its own.
    """
    count = len(points)
    if count < 3 or tolerance <= 0:
        return list(points)
    if points[0] == points[-1] and count > 3:
        # Split at the point farthest from the start and at the point farthest from that chord.
        far = max(range(1, count - 1), key=lambda i: _distance2(points[i], points[0], points[0]))
        third = max(
            (i for i in range(1, count - 1) if i != far), key=lambda i: _distance2(points[i], points[0], points[far])
        )
        cuts = sorted({0, far, third, count - 1})
        result = [points[0]]
        for first, last in zip(cuts, cuts[1:], strict=False):
            result += simplify(points[first : last + 1], tolerance)[1:]
        return result
    keep = [False] * count
    keep[0] = keep[-1] = True
    limit = tolerance * tolerance
    stack = [(0, count - 1)]
    while stack:
        first, last = stack.pop()
        best, index = 0.0, -1
        for i in range(first + 1, last):
            distance2 = _distance2(points[i], points[first], points[last])
            if distance2 > best:
                best, index = distance2, i
        if index >= 0 and best > limit:
            keep[index] = True
            stack.append((first, index))
            stack.append((index, last))
    return [point for point, kept in zip(points, keep, strict=True) if kept]


def simplify_arcs(arcs: Iterable[Sequence[Point]], tolerance: float) -> list[list[Point]]:
    return [simplify(arc, tolerance) for arc in arcs]


def ring(indices: Sequence[int], arcs: Sequence[Sequence[Point]]) -> Ring:
    """A ring from arc indices (~i is arc i reversed); each arc after the first starts where the
    previous one ended, so its first point is dropped."""
    points: list[Point] = []
    for index in indices:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        points.extend(arc[1:] if points else arc)
    return tuple(points)


def shapes(topology: dict, arcs: Sequence[Sequence[Point]] | None = None) -> list[Shape]:
    """Every municipality of the topology, with its polygons assembled from `arcs` (decoded
    with `decode_arcs()` when not given)."""
    arcs = decode_arcs(topology) if arcs is None else arcs
    result = []
    for geometry in topology["objects"][OBJECT]["geometries"]:
        if geometry["type"] == "Polygon":
            polygons = [geometry["arcs"]]
        elif geometry["type"] == "MultiPolygon":
            polygons = geometry["arcs"]
        else:
            raise ValueError(f"Unexpected geometry type {geometry['type']!r} in {DATA_FILE.name}.")
        properties = geometry["properties"]
        result.append(
            Shape(
                code=properties["statcode"],
                name=properties["statnaam"],
                polygons=tuple(tuple(ring(indices, arcs) for indices in polygon) for polygon in polygons),
            )
        )
    return result


def _ring_moments(points: Ring) -> tuple[float, float, float]:
    """Signed area and the first moments (sum of (x_i + x_j) * cross, same for y) of a closed ring."""
    area2 = moment_x = moment_y = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
        cross = x1 * y2 - x2 * y1
        area2 += cross
        moment_x += (x1 + x2) * cross
        moment_y += (y1 + y2) * cross
    return area2 / 2, moment_x, moment_y


def area(shape: Shape) -> float:
    """Area in square metres: outer rings minus holes (shoelace formula)."""
    total = 0.0
    for polygon in shape.polygons:
        outer, *holes = polygon
        total += abs(_ring_moments(outer)[0]) - sum(abs(_ring_moments(hole)[0]) for hole in holes)
    return total


def centroid(shape: Shape) -> Point:
    """The area-weighted centroid (RD metres) of all polygons, holes subtracted."""
    total = sum_x = sum_y = 0.0
    for polygon in shape.polygons:
        for position, points in enumerate(polygon):
            signed, moment_x, moment_y = _ring_moments(points)
            if signed == 0:
                continue
            # Each ring's moments carry its orientation's sign; weigh outer rings +, holes -.
            weight = (1 if position == 0 else -1) * (1 if signed > 0 else -1)
            total += weight * signed
            sum_x += weight * moment_x / 6
            sum_y += weight * moment_y / 6
    return (sum_x / total, sum_y / total)


def bounds(points: Iterable[Point]) -> tuple[float, float, float, float]:
    xs, ys = zip(*points, strict=True)
    return (min(xs), min(ys), max(xs), max(ys))


@dataclass(frozen=True)
class Frame:
    """The SVG frame of the whole country: RD (x, y) -> ((x - left) / UNIT, (top - y) / UNIT)."""

    left: int
    top: int
    width: int
    height: int

    def point(self, x: float, y: float) -> tuple[int, int]:
        return (round((x - self.left) / UNIT), round((self.top - y) / UNIT))


def frame_of(all_shapes: Sequence[Shape]) -> Frame:
    """The bounding box of every shape, widened to whole kilometres."""
    min_x, min_y, max_x, max_y = bounds(point for shape in all_shapes for r in shape.rings for point in r)
    left, bottom = int(min_x // 1000 * 1000), int(min_y // 1000 * 1000)
    right, top = int(-(-max_x // 1000) * 1000), int(-(-max_y // 1000) * 1000)
    return Frame(left=left, top=top, width=(right - left) // UNIT, height=(top - bottom) // UNIT)


def _numbers(values: Iterable[int]) -> str:
    """SVG number list, compact: a minus sign separates numbers on its own."""
    text = ""
    for value in values:
        text += str(value) if (not text or value < 0) else f" {value}"
    return text


def svg_path(shape: Shape, frame: Frame) -> str:
    """Path data in the frame: each ring an absolute move, then relative lines, closed with z.
    Rounding is done on absolute positions, so the relative steps never drift."""
    parts = []
    for r in shape.rings:
        points = []
        for x, y in r[:-1]:
            point = frame.point(x, y)
            if not points or point != points[-1]:
                points.append(point)
        if len(points) > 1 and points[-1] == points[0]:
            points.pop()
        if len(points) < 3:
            continue  # a speck smaller than a unit: invisible at any size we draw
        steps = []
        for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
            steps += [x2 - x1, y2 - y1]
        parts.append(f"M{points[0][0]} {points[0][1]}l{_numbers(steps)}z")
    return "".join(parts)


@dataclass(frozen=True)
class MapData:
    frame: Frame
    names: dict[str, str]
    paths: dict[str, str]
    # Per code, in SVG units: bounding box (x0, y0, x1, y1) and a label point (centroid).
    boxes: dict[str, tuple[int, int, int, int]]
    labels: dict[str, tuple[int, int]]


@functools.lru_cache(maxsize=1)
def map_data() -> MapData:
    """The decoded, simplified map of the 342 municipalities; built once per process."""
    topology = load()
    simplified = shapes(topology, simplify_arcs(decode_arcs(topology), TOLERANCE))
    frame = frame_of(simplified)
    boxes, labels = {}, {}
    for shape in simplified:
        min_x, min_y, max_x, max_y = bounds(point for r in shape.rings for point in r)
        (x0, y1), (x1, y0) = frame.point(min_x, min_y), frame.point(max_x, max_y)
        boxes[shape.code] = (x0, y0, x1, y1)
        largest = max(shape.polygons, key=lambda polygon: abs(_ring_moments(polygon[0])[0]))
        labels[shape.code] = frame.point(*centroid(Shape(shape.code, shape.name, (largest,))))
    return MapData(
        frame=frame,
        names={shape.code: shape.name for shape in simplified},
        paths={shape.code: svg_path(shape, frame) for shape in simplified},
        boxes=boxes,
        labels=labels,
    )


@functools.lru_cache(maxsize=512)
def path(code: str) -> str:
    """SVG path data of the municipality with this CBS code ("" when it is not on the map)."""
    return map_data().paths.get(code, "")


def codes() -> frozenset[str]:
    return frozenset(map_data().paths)


def view_box(codes_shown: Iterable[str], *, minimum: int = 500, margin: float = 0.15) -> tuple[int, int, int, int]:
    """(x, y, width, height) in SVG units framing these municipalities: a square of at least
    `minimum` units (500 = 50 km, so a small municipality still has neighbours around it), with a
    margin; the whole country when none is given."""
    data = map_data()
    boxes = [data.boxes[code] for code in codes_shown if code in data.boxes]
    if not boxes:
        return (0, 0, data.frame.width, data.frame.height)
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    side = max(x1 - x0, y1 - y0, minimum) * (1 + 2 * margin)
    side = round(min(side, max(data.frame.width, data.frame.height)))
    center_x, center_y = (x0 + x1) / 2, (y0 + y1) / 2
    return (round(center_x - side / 2), round(center_y - side / 2), side, side)


def outline_svg() -> str:
    """The static country map (static/map/gemeenten.svg): every municipality in a neutral fill
    with hairline borders, each path with its CBS code as id. Written by `manage.py build_map`."""
    data = map_data()
    frame = data.frame
    paths = "\n".join(
        f'<path id="{code}" d="{data.paths[code]}" vector-effect="non-scaling-stroke"/>' for code in sorted(data.paths)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {frame.width} {frame.height}" '
        f'width="{frame.width // 10}" height="{frame.height // 10}">\n'
        f"<title>Gemeenten van Nederland, 2025</title>\n"
        f"<desc>{CREDIT}. Gegeneraliseerde gemeentegrenzen (CBS gebiedsindelingen), "
        f"RD-coördinaten (EPSG:28992) in eenheden van {UNIT} m vanaf x={frame.left}, y={frame.top}.</desc>\n"
        f'<g fill="#f3f3f3" stroke="#8c8c8c" stroke-width="0.6" stroke-linejoin="round" fill-rule="evenodd">\n'
        f"{paths}\n</g>\n</svg>\n"
    )

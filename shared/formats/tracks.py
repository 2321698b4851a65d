"""Track interpolation (spec §10.7): every frame of a track from its keyframes."""

import itertools
import math
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import replace

from shared.formats.model import FormatError, Shape, Track

_EXTENDED = ("rectangle", "points", "cuboid")  # copied after the last keyframe until the task's end

Point = tuple[float, float]
Interpolator = Callable[[float], list[float]]


def flatten(track: Track, last_frame: int) -> list[Shape]:
    """Keyframes and interpolated positions of a track, in frame order (relative frames)."""
    return list(iter_flatten(track, last_frame))


def iter_flatten(track: Track, last_frame: int) -> Iterator[Shape]:
    """flatten() one shape at a time, so that exporters can merge many long tracks frame by
    frame without holding every position of every track."""
    keyframes = _inherit_attributes(track.shapes)
    for a, b in itertools.pairwise(keyframes):
        if a.type != b.type:
            raise FormatError(f"Track {track.id}: keyframes at frames {a.frame} and {b.frame} have different "
                              f"shape types ({a.type}, {b.type})")
        yield a
        if a.outside or b.frame - a.frame < 2:
            continue
        position = _still(a.points) if b.outside else interpolator(a.type, a.points, b.points)
        for frame in range(a.frame + 1, b.frame):
            yield _position(a, frame, position((frame - a.frame) / (b.frame - a.frame)))
    if keyframes:
        last = keyframes[-1]
        yield last
        if not last.outside and last.type in _EXTENDED:
            for frame in range(last.frame + 1, last_frame + 1):
                yield _position(last, frame, list(last.points))


def _still(points: list[float]) -> Interpolator:
    """Before an outside keyframe the shape stays where A is."""
    return lambda t: list(points)


def _position(a: Shape, frame: int, points: list[float]) -> Shape:
    """A copy of keyframe A at another frame (dataclasses.replace, without its per-call cost)."""
    return Shape(type=a.type, frame=frame, label=a.label, points=points, occluded=a.occluded, z_order=a.z_order,
                 group=a.group, source=a.source, attributes=dict(a.attributes), outside=False, keyframe=False,
                 track_id=a.track_id)


def _inherit_attributes(shapes: list[Shape]) -> list[Shape]:
    """Each keyframe takes from the previous one any (mutable) attribute it lacks."""
    result: list[Shape] = []
    for shape in shapes:
        if result:
            shape = replace(shape, attributes={**result[-1].attributes, **shape.attributes})
        result.append(shape)
    return result


def interpolate_points(kind: str, a: list[float], b: list[float], t: float) -> list[float]:
    return interpolator(kind, a, b)(t)


def interpolator(kind: str, a: list[float], b: list[float]) -> Interpolator:
    """Positions between two keyframes as a function of t; the curve matching is done once per
    keyframe pair, not once per frame."""
    if kind in ("rectangle", "cuboid") or (kind == "points" and len(a) == 2 and len(b) == 2):
        return lambda t: [p + (q - p) * t for p, q in zip(a, b, strict=True)]
    if kind in ("polygon", "polyline"):
        return curve_interpolator(a, b, closed=kind == "polygon")
    return _still(a)


def interpolate_curve(a: list[float], b: list[float], t: float, *, closed: bool) -> list[float]:
    """Polygons and polylines: resample-and-match (spec §10.7, steps 1-4)."""
    return curve_interpolator(a, b, closed=closed)(t)


def curve_interpolator(a: list[float], b: list[float], *, closed: bool) -> Interpolator:
    """Steps 1-2 of §10.7 (positions, matching) and the shape of step 4 (runs, fans and their
    thresholds) once per keyframe pair; per t only the raw points and the thinning itself.
    A polygon is closed by repeating its first point, and the extra point leaves every result."""
    left, right = _vertices(a), _vertices(b)
    if not left or not right:
        return _still(a)
    if closed:
        left, right = [*left, left[0]], [*right, right[0]]
    matching = _match(_positions(left), _positions(right))
    moves = [(left[i][0], left[i][1], right[j][0] - left[i][0], right[j][1] - left[i][1])
             for i, js in enumerate(matching) for j in js]
    segments = _segments(matching, left, right)
    one_to_one = all(p == q for p, q, _ in segments)

    def at(t: float) -> list[float]:
        raw = [(x + dx * t, y + dy * t) for x, y, dx, dy in moves]
        result = raw if one_to_one else _thin(raw, segments)
        if closed and len(result) > 1:
            result = result[:-1]
        return [c for point in result for c in point]

    return at


def _vertices(flat: list[float]) -> list[Point]:
    return list(zip(flat[0::2], flat[1::2], strict=False))


def _distance(p: Point, q: Point) -> float:
    """sqrt(dx² + dy²) rather than math.dist: the original's rounding, which decides near ties."""
    return math.sqrt((q[0] - p[0]) ** 2 + (q[1] - p[1]) ** 2)


def _arc(points: list[Point]) -> list[float]:
    """Accumulated length at each vertex, added up in order (not sum(), whose compensated
    rounding would move near ties away from the original's choices)."""
    result, accumulated = [0.0], 0.0
    for p, q in itertools.pairwise(points):
        accumulated += _distance(p, q)
        result.append(accumulated)
    return result


def _length(points: list[Point]) -> float:
    return _arc(points)[-1]


def _positions(points: list[Point]) -> list[float]:
    """Step 1: normalised arc-length position of each vertex (all 0 for a curve of no length)."""
    arc = _arc(points)
    return [length / arc[-1] if arc[-1] else 0.0 for length in arc]


def _nearest(value: float, positions: list[float]) -> int:
    """Index of the position nearest to value, the first one on ties (positions ascend)."""
    k = bisect_left(positions, value)
    if k == len(positions):
        return bisect_left(positions, positions[-1])
    if k == 0:
        return 0
    below, above = positions[k - 1], positions[k]
    if abs(value - below) <= abs(value - above):
        return bisect_left(positions, below)
    return k


def _match(left: list[float], right: list[float]) -> list[list[int]]:
    """Step 2: each A-vertex's B-vertices, in ascending order."""
    matching = [[_nearest(p, right)] for p in left]
    chosen = {js[0] for js in matching}
    for j, p in enumerate(right):
        if j not in chosen:
            matching[_nearest(p, left)].append(j)
    return [sorted(js) for js in matching]


def _segments(matching: list[list[int]], left: list[Point], right: list[Point]) -> list[tuple[int, int, float]]:
    """Step 4's left runs and right fans as (first raw point, last raw point, threshold)."""
    first = list(itertools.accumulate((len(js) for js in matching[:-1]), initial=0))
    result: list[tuple[int, int, float]] = []

    def left_run(start: int, stop: int) -> None:
        result.append((first[start], first[stop], _length(left[start:stop + 1]) / (2 * (stop - start + 1))))

    def right_fan(i: int) -> None:
        js = matching[i]
        threshold = _length(right[js[0]:js[-1] + 1]) / (2 * (js[-1] - js[0] + 1))
        result.append((first[i], first[i] + len(js) - 1, threshold))

    opened: int | None = None
    for i, js in enumerate(matching):
        if len(js) == 1 and opened is not None and matching[opened][0] == js[0]:
            continue
        if opened is not None:
            left_run(opened, i - 1)
            opened = None
        if len(js) == 1:
            opened = i
        else:
            right_fan(i)
    if opened is not None:
        left_run(opened, len(matching) - 1)
    return result


def _thin(raw: list[Point], segments: list[tuple[int, int, float]]) -> list[Point]:
    result: list[Point] = []
    for p, q, threshold in segments:
        if p == q:
            result.append(raw[p])
        else:
            result.extend(_minimize(raw, p, q, threshold))
    return result


def _minimize(raw: list[Point], p: int, q: int, threshold: float) -> list[Point]:
    kept = [raw[p]]
    for point in raw[p + 1:q]:
        if _distance(kept[-1], point) >= threshold:
            kept.append(point)
    kept.append(raw[q])
    if len(kept) == 2 and _distance(raw[p], raw[q]) < threshold:
        return [((raw[p][0] + raw[q][0]) / 2, (raw[p][1] + raw[q][1]) / 2)]
    return kept

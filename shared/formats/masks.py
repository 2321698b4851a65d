"""Polygons and pixel masks for the mask-based formats (COCO, Segmentation mask, VOC, LabelMe).

Rasterisation follows pycocotools (`rleFrPoly`), which the original (Datumaro) used for every
polygon and box that became a mask and for COCO's `area`: a pixel belongs to a polygon when its
centre does, with the boundary decided on a 5x upsampled grid. Porting it (rather than drawing
with Pillow, whose fill also takes the outline pixels) keeps areas and masks identical to what
pycocotools computes from the same file.

Outlines from masks run along pixel corners, so `rasterize(mask_to_polygons(m)) == m` for a mask
without holes; holes are filled (only outer outlines are returned, as Datumaro did).

Masks are numpy arrays indexed [row, column]; polygons are flat [x0, y0, x1, y1, ...] lists.
"""

from collections.abc import Iterator, Sequence
from itertools import pairwise

import numpy as np

_SCALE = 5.0  # pycocotools' upsampling of polygon coordinates
MAX_MASK_PIXELS = 1 << 28  # an RLE larger than 16384 x 16384 is refused rather than decoded

Polygon = list[float]


# ---------------------------------------------------------------- polygons to masks


def rasterize(polygons: Sequence[Sequence[float]], width: int, height: int) -> np.ndarray:
    """The union of the polygons as a bool mask (height, width), pixel for pixel as pycocotools'
    frPyObjects + merge + decode give it. Polygons with fewer than 3 points are empty."""
    mask = np.zeros((max(height, 0), max(width, 0)), dtype=bool)
    crop = rasterize_crop(polygons, width, height)
    if crop is not None:
        part, top, left = crop
        mask[top:top + part.shape[0], left:left + part.shape[1]] |= part
    return mask


def rasterize_crop(polygons: Sequence[Sequence[float]], width: int,
                   height: int) -> tuple[np.ndarray, int, int] | None:
    """Like `rasterize`, cut to the bounding box of the set pixels: (mask, top row, left column),
    or None when no pixel is set. Large frames with many small shapes stay cheap this way."""
    toggles = _boundary_toggles(polygons, width, height)
    if toggles is None:
        return None
    owner, columns, rows = toggles
    # A polygon's pixel (x, y) is set when an odd number of its column-x toggles lie at rows <= y:
    # every column has an even number of toggles (the closed outline crosses each pixel-centre
    # line an even number of times), so pycocotools' column-major run state never carries over
    # and toggles clamped to row == height change nothing. Work on the bounding box only.
    first, top = int(columns.min()), int(rows.min())
    span = int(columns.max()) - first + 1
    line = owner * span + (columns - first)  # one (polygon, column) pair
    keys, counts = np.unique(line * (height + 1) + rows, return_counts=True)
    keys = keys[((counts & 1) == 1) & (keys % (height + 1) < height)]  # toggles in one place cancel out
    if keys.size == 0:
        return None
    line, rows = keys // (height + 1), keys % (height + 1)
    starts = np.flatnonzero(np.diff(line, prepend=-1))
    sizes = np.diff(np.append(starts, keys.size))
    odd = (sizes & 1) == 1  # a run reaching the bottom edge: it goes on to the last row
    depth = (height if odd.any() else int(rows.max()) + 1) - top
    size = span * depth
    rank = np.arange(keys.size) - np.repeat(starts, sizes)
    positions = (line % span) * depth + (rows - top)
    begins = positions[(rank & 1) == 0]
    ends = np.concatenate([positions[(rank & 1) == 1], (line[starts[odd]] % span + 1) * depth])
    coverage = np.cumsum(np.bincount(begins, minlength=size + 1) - np.bincount(ends, minlength=size + 1))
    return _trim((coverage[:size] > 0).reshape(span, depth).T, top, first)


def pixel_count(polygons: Sequence[Sequence[float]], width: int, height: int) -> int:
    """How many pixels `rasterize` sets (pycocotools' area of the merged polygons)."""
    crop = rasterize_crop(polygons, width, height)
    return 0 if crop is None else int(crop[0].sum())


def pixel_counts(polygons: Sequence[Sequence[float]], width: int, height: int) -> list[int]:
    """The pixel count of each polygon on its own, in one pass: per column, the rows between
    each pair of toggles (a last unpaired toggle runs to the bottom edge)."""
    result = np.zeros(len(polygons), dtype=np.int64)
    toggles = _boundary_toggles(polygons, width, height)
    if toggles is not None:
        owner, columns, rows = toggles
        keys, counts = np.unique((owner * width + columns) * (height + 1) + rows, return_counts=True)
        keys = keys[((counts & 1) == 1) & (keys % (height + 1) < height)]
        line, rows = keys // (height + 1), keys % (height + 1)
        starts = np.flatnonzero(np.diff(line, prepend=-1))
        sizes = np.diff(np.append(starts, keys.size))
        rank = np.arange(keys.size) - np.repeat(starts, sizes)
        signed = np.where((rank & 1) == 1, rows, -rows)
        result += np.bincount(line // width, weights=signed, minlength=len(polygons)).astype(np.int64)
        result += np.bincount(line[starts[(sizes & 1) == 1]] // width, minlength=len(polygons)) * height
    return [int(c) for c in result]


def rectangle_polygon(points: Sequence[float]) -> Polygon:
    """The corners of a CVAT rectangle [x0, y0, x1, y1] as a polygon (Datumaro's Bbox.as_polygon)."""
    x0, y0, x1, y1 = (float(p) for p in points[:4])
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def polygon_area(points: Sequence[float]) -> float:
    """The geometric (shoelace) area of a polygon; for pixel counts use rasterize(...).sum()."""
    xy = np.asarray(points, dtype=np.float64)
    if xy.size < 6:
        return 0.0
    x, y = xy[0::2], xy[1::2]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2)


def _trim(mask: np.ndarray, top: int, left: int) -> tuple[np.ndarray, int, int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    columns = np.flatnonzero(mask.any(axis=0))
    return (mask[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1], top + int(rows[0]),
            left + int(columns[0]))


def _boundary_toggles(polygons: Sequence[Sequence[float]], width: int,
                      height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(polygon number, column, row) of each place where pycocotools' rleFrPoly switches between
    outside and inside, for all polygons at once. Integer casts truncate toward zero as C's do."""
    if width <= 0 or height <= 0:
        return None
    bounded = [_bounded(np.asarray(p, dtype=np.float64)[:len(p) // 2 * 2], width, height) if len(p) >= 6
               else np.zeros(0) for p in polygons]
    numbers = np.array([i for i, p in enumerate(bounded) if p.size >= 6], dtype=np.int64)
    shapes = [bounded[i] for i in numbers]
    if not shapes:
        return None
    sizes = np.array([p.size // 2 for p in shapes])
    xy = np.concatenate(shapes)
    x = np.trunc(_SCALE * xy[0::2] + 0.5).astype(np.int64)
    y = np.trunc(_SCALE * xy[1::2] + 0.5).astype(np.int64)
    firsts = np.cumsum(sizes) - sizes
    following = np.arange(x.size) + 1
    following[firsts + sizes - 1] = firsts  # each outline closes on its first point
    edge, u, v = _dense_boundary(x, y, following)
    owner = np.repeat(numbers, sizes)[edge]  # the polygon's position in `polygons`
    moved = np.flatnonzero((u[1:] != u[:-1]) & (owner[1:] == owner[:-1])) + 1
    xd = (np.minimum(u[moved], u[moved - 1]) + 0.5) / _SCALE - 0.5
    keep = (np.floor(xd) == xd) & (xd >= 0) & (xd <= width - 1)
    if not keep.any():
        return None
    yd = (np.minimum(v[moved], v[moved - 1])[keep] + 0.5) / _SCALE - 0.5
    rows = np.ceil(np.clip(yd, 0, height)).astype(np.int64)
    return owner[moved][keep], xd[keep].astype(np.int64), rows


def _bounded(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """The polygon itself, or, when it reaches absurdly far outside the frame (the dense outline
    would not fit in memory), the polygon clipped to a band around the frame."""
    limit = 4 * (width + height) + 64
    if xy.size == 0 or np.abs(xy).max() <= limit:
        return xy
    points = xy.reshape(-1, 2)
    for axis, low, high in ((0, -2.0, width + 2.0), (1, -2.0, height + 2.0)):
        points = _clip(points, axis, low, keep_above=True)
        points = _clip(points, axis, high, keep_above=False)
    return points.ravel()


def _clip(points: np.ndarray, axis: int, bound: float, *, keep_above: bool) -> np.ndarray:
    """One Sutherland-Hodgman step: the polygon on one side of the line points[axis] == bound."""
    result = []
    for index in range(len(points)):
        current, previous = points[index], points[index - 1]
        inside_now = current[axis] >= bound if keep_above else current[axis] <= bound
        inside_before = previous[axis] >= bound if keep_above else previous[axis] <= bound
        if inside_now != inside_before:
            share = (bound - previous[axis]) / (current[axis] - previous[axis])
            result.append(previous + share * (current - previous))
        if inside_now:
            result.append(current)
    return np.array(result, dtype=np.float64).reshape(-1, 2)


def _dense_boundary(x: np.ndarray, y: np.ndarray, following: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every upsampled point along the outlines, edge by edge: (edge number, x, y)."""
    xs, xe, ys, ye = x, x[following], y, y[following]
    dx, dy = np.abs(xe - xs), np.abs(ys - ye)
    along_x = dx >= dy
    flip = (along_x & (xs > xe)) | (~along_x & (ys > ye))
    xs, xe = np.where(flip, xe, xs), np.where(flip, xs, xe)
    ys, ye = np.where(flip, ye, ys), np.where(flip, ys, ye)
    steps = np.maximum(dx, dy)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(along_x, (ye - ys) / dx, (xe - xs) / dy)
    slope[steps == 0] = 0.0  # a repeated point: its other coordinate never counts
    edge = np.repeat(np.arange(steps.size), steps + 1)
    d = np.arange(edge.size) - (np.cumsum(steps + 1) - (steps + 1))[edge]
    t = np.where(flip[edge], steps[edge] - d, d)
    across = np.trunc(np.where(along_x[edge], ys[edge], xs[edge]) + slope[edge] * t + 0.5).astype(np.int64)
    u = np.where(along_x[edge], t + xs[edge], across)
    v = np.where(along_x[edge], across, t + ys[edge])
    return edge, u, v


# ---------------------------------------------------------------- masks to polygons

_RIGHT, _DOWN, _LEFT, _UP = range(4)  # clockwise on screen (y grows downwards)


def mask_to_polygons(mask: np.ndarray) -> list[Polygon]:
    """The outer outline of each 4-connected region of set pixels, along pixel corners, corner
    points only (collinear points dropped), clockwise on screen. Holes are not returned, so a
    region with holes comes back filled; a region inside another's hole gets its own outline."""
    found = _trim(np.asarray(mask, dtype=bool), 0, 0)
    if found is None:
        return []
    part, top, left = found
    padded = np.zeros((part.shape[0] + 2, part.shape[1] + 2), dtype=bool)
    padded[1:-1, 1:-1] = part
    segments = _boundary_segments(padded)
    order, bounds = _loops(segments, padded.shape[1] + 1)
    start = segments[order, :2]
    end = start + _STEPS[segments[order, 2]] * segments[order, 3:4]
    twice_area = np.add.reduceat(start[:, 0] * end[:, 1] - end[:, 0] * start[:, 1], bounds[:-1])
    corners = (start + np.array([left - 1, top - 1])).astype(np.float64).ravel().tolist()
    # clockwise outlines are outer ones; counter-clockwise ones are holes
    return [corners[2 * first:2 * last] for first, last, area in zip(bounds[:-1], bounds[1:], twice_area, strict=True)
            if area > 0]


def _boundary_segments(padded: np.ndarray) -> np.ndarray:
    """Maximal straight pieces of the boundary between set and unset pixels, as rows of
    (start x, start y, direction, length), with the set side on the right of the direction."""
    above, below, before, after = (np.zeros_like(padded) for _ in range(4))
    above[1:] = padded[1:] & ~padded[:-1]  # top sides, drawn left to right
    below[:-1] = padded[:-1] & ~padded[1:]  # bottom sides, right to left
    before[:, 1:] = padded[:, 1:] & ~padded[:, :-1]  # left sides, upwards
    after[:, :-1] = padded[:, :-1] & ~padded[:, 1:]  # right sides, downwards
    pieces = []
    rows, first, last = _runs(above)
    pieces.append(np.stack([first, rows, np.full_like(rows, _RIGHT), last - first + 1], axis=1))
    rows, first, last = _runs(below)
    pieces.append(np.stack([last + 1, rows + 1, np.full_like(rows, _LEFT), last - first + 1], axis=1))
    columns, first, last = _runs(after.T)
    pieces.append(np.stack([columns + 1, first, np.full_like(columns, _DOWN), last - first + 1], axis=1))
    columns, first, last = _runs(before.T)
    pieces.append(np.stack([columns, last + 1, np.full_like(columns, _UP), last - first + 1], axis=1))
    return np.concatenate(pieces)


def _runs(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(line, first, last) of each run of True along the rows of `edges`; the first and last
    column are unset (padding), so no run crosses from one row into the next."""
    flat = np.ascontiguousarray(edges).ravel()
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    begins, ends = changes[0::2], changes[1::2] - 1
    width = edges.shape[1]
    return begins // width, begins % width, ends % width


_STEPS = np.array([(1, 0), (0, 1), (-1, 0), (0, -1)], dtype=np.int64)  # by direction


def _loops(segments: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Chains the segments into closed loops (each ends where the next starts, turning): segment
    indices loop after loop, and the offsets where loops start (and the total). Where two regions
    touch at a corner the loop turns clockwise, keeping to the pixel it came along; that
    separates diagonal neighbours."""
    direction = segments[:, 2]
    start_keys = (segments[:, 1] * stride + segments[:, 0]) * 4 + direction
    by_key = np.argsort(start_keys)
    sorted_keys = start_keys[by_key]
    end = segments[:, :2] + _STEPS[direction] * segments[:, 3:4]
    end_keys = (end[:, 1] * stride + end[:, 0]) * 4
    successor = np.full(len(segments), -1, dtype=np.int64)
    for turn in (3, 1):  # counter-clockwise first, so that a clockwise turn wins where both exist
        wanted = end_keys + (direction + turn) % 4
        found = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
        hit = sorted_keys[found] == wanted
        successor[hit] = by_key[found[hit]]
    following = successor.tolist()
    seen = [False] * len(following)
    order: list[int] = []
    bounds = [0]
    for first in range(len(following)):
        index = first
        while not seen[index]:
            seen[index] = True
            order.append(index)
            index = following[index]
        if len(order) > bounds[-1]:
            bounds.append(len(order))
    return np.asarray(order, dtype=np.int64), np.asarray(bounds, dtype=np.int64)


def split_regions(index_mask: np.ndarray) -> Iterator[tuple[int, np.ndarray, int, int]]:
    """For each non-zero value of an index mask (class or instance ids), in ascending order:
    (value, bool mask cut to its bounding box, top row, left column)."""
    rows, columns = np.nonzero(index_mask)
    if rows.size == 0:
        return
    values = index_mask[rows, columns]
    if int(values.min()) >= 0 and int(values.max()) < 1 << 16:
        values = values.astype(np.uint16)  # numpy sorts these in linear time (radix)
    order = np.argsort(values, kind="stable")
    values, rows, columns = values[order], rows[order], columns[order]
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(values)) + 1, [values.size]))
    for begin, end in pairwise(bounds):
        r, c = rows[begin:end], columns[begin:end]
        top, left = int(r.min()), int(c.min())
        crop = np.zeros((int(r.max()) - top + 1, int(c.max()) - left + 1), dtype=bool)
        crop[r - top, c - left] = True
        yield int(values[begin]), crop, top, left


def shift_polygon(points: Sequence[float], dx: float, dy: float) -> Polygon:
    return [float(p) + (dx if i % 2 == 0 else dy) for i, p in enumerate(points)]


# ---------------------------------------------------------------- COCO run-length encoding


def rle_decode(counts: Sequence[int] | str | bytes, height: int, width: int) -> np.ndarray:
    """A COCO RLE (column-major runs, starting with unset pixels) as a bool mask (height, width).
    `counts` is the list form or the compressed string form; wrong totals raise ValueError."""
    if height * width > MAX_MASK_PIXELS:
        raise ValueError(f"{height}x{width} pixels; at most {MAX_MASK_PIXELS} are decoded")
    runs = rle_from_string(counts) if isinstance(counts, str | bytes) else [int(c) for c in counts]
    array = np.asarray(runs, dtype=np.int64)
    if (array < 0).any():
        raise ValueError("negative run length")
    if int(array.sum()) != height * width:
        raise ValueError(f"the runs cover {int(array.sum())} pixels, the size {height}x{width} has {height * width}")
    values = (np.arange(array.size) & 1).astype(bool)
    return np.repeat(values, array).reshape(width, height).T


def rle_encode(mask: np.ndarray) -> dict[str, list[int]]:
    """The uncompressed COCO RLE of a mask: {"counts": [...], "size": [height, width]}."""
    data = np.asarray(mask, dtype=bool)
    flat = data.ravel(order="F")
    if flat.size == 0:
        return {"counts": [0], "size": list(data.shape)}
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    counts = np.diff(np.concatenate(([0], change, [flat.size])))
    if flat[0]:
        counts = np.concatenate(([0], counts))
    return {"counts": [int(c) for c in counts], "size": [int(data.shape[0]), int(data.shape[1])]}


def rle_from_string(text: str | bytes) -> list[int]:
    """pycocotools' compressed counts (rleFrString): 6-bit groups as characters 48..111, each
    count after the second stored as the difference to the count two places before."""
    data = text.encode("ascii") if isinstance(text, str) else bytes(text)
    counts: list[int] = []
    position = 0
    while position < len(data):
        value, shift, more = 0, 0, True
        while more:
            if position >= len(data):
                raise ValueError("compressed counts end in the middle of a number")
            chunk = data[position] - 48
            if not 0 <= chunk < 64:
                raise ValueError(f"'{chr(data[position])}' is not a compressed RLE character")
            value |= (chunk & 0x1F) << shift
            more = bool(chunk & 0x20)
            position += 1
            shift += 5
            if not more and chunk & 0x10:
                value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value & 0xFFFFFFFF)
    return counts


def rle_to_string(counts: Sequence[int]) -> str:
    """The compressed form of list counts (rleToString)."""
    characters = []
    for index, count in enumerate(counts):
        value = int(count) - (int(counts[index - 2]) if index > 2 else 0)
        more = True
        while more:
            chunk = value & 0x1F
            value >>= 5
            more = value != -1 if chunk & 0x10 else value != 0
            characters.append(chr((chunk | (0x20 if more else 0)) + 48))
    return "".join(characters)


# ---------------------------------------------------------------- colours


def voc_palette(size: int = 256) -> np.ndarray:
    """The PASCAL VOC colour map (index bits spread over r, g, b from the high bit down):
    instance masks, and class colours when a label map names none."""
    colors = np.zeros((size, 3), dtype=np.uint8)
    indices = np.arange(size, dtype=np.int64)
    for bit in range(7, -1, -1):
        for channel in range(3):
            colors[:, channel] |= (((indices >> channel) & 1) << bit).astype(np.uint8)
        indices >>= 3
    return colors

"""MOT 1.1 (spec §10.5): the MOT Challenge ground truth as Datumaro writes it.

`gt/gt.txt` rows `frame_id,track_id,x,y,w,h,confidence,class_id,visibility` (rectangles only,
outside track positions dropped), `gt/labels.txt` with the task's labels. The format keeps boxes,
labels, track identity and occlusion (as visibility); attributes, groups, z-order, keyframe
flags and other shape types are lost, and every track position becomes a keyframe on import.

On import a frame_id names the frame the exporter gave it (the frame's name when that is a
number, else its position + 1), so an export comes back on the same frames; spec §10.5's
`frame_id - 1` is the same rule for tasks whose frame names are not numbers.
"""

import csv
import math
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from shared.formats.files import Archive, ImportFile, number
from shared.formats.model import ExportContext, FormatError, Frame, ImportContext, Label, Shape, typed_value

FIELDS = ("frame_id", "track_id", "x", "y", "w", "h", "confidence", "class_id", "visibility")


# ---------------------------------------------------------------- export


def frame_id(frame: Frame) -> int:
    """The item name if it is a number (`000005.jpg` -> 5), else the frame's position + 1."""
    return int(frame.stem) if _is_number(frame.stem) else frame.index + 1


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def image_path(ctx: ExportContext, frame: Frame) -> str:
    """`img1/<frame_id, 6 digits><ext>`; frames without an extension (video) are PNG."""
    return f"img1/{frame_id(frame):06d}{frame.extension or '.png'}"


def export(ctx: ExportContext, archive: Archive) -> None:
    shapes = ctx.shapes_by_frame()
    track_numbers: dict[int, int] = {}  # track position -> 1.. in order of first appearance
    rows = []
    for frame in ctx.frames:
        for shape in shapes.get(frame.index, []):
            if shape.type != "rectangle":
                continue
            track = -1
            if shape.track_id is not None:
                track = track_numbers.setdefault(shape.track_id, len(track_numbers) + 1)
            rows.append(row(ctx, frame_id(frame), track, shape))
    archive.write("gt/gt.txt", "".join(rows))
    archive.write("gt/labels.txt", "\n".join(label.name for label in ctx.labels))


def row(ctx: ExportContext, frame_number: int, track: int, shape: Shape) -> str:
    """One gt.txt line. `confidence` is 0 only for an `ignored` checkbox that is set; an
    attribute named `visibility` wins over 1 - occluded, as in Datumaro."""
    values = {name: typed_value(shape.label.spec(name), value) for name, value in shape.attributes.items()}
    x1, y1, x2, y2 = (float(p) for p in shape.points)
    confidence = int(values.get("ignored") is not True)
    visibility = _float(values.get("visibility"), 1 - float(shape.occluded))
    cells: list[Any] = [frame_number, track, x1, y1, x2 - x1, y2 - y1, confidence,
                        ctx.label_index(shape.label) + 1, visibility]
    return ",".join(str(cell) for cell in cells) + "\n"


def _float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


# ---------------------------------------------------------------- import


@dataclass
class Row:
    line: int
    frame: Frame
    track: int
    label: Label
    points: list[float]
    occluded: bool


@dataclass
class TrackRows:
    label: Label
    by_frame: dict[int, Row] = field(default_factory=dict)


def parse(source: ImportFile, ctx: ImportContext) -> None:
    gt_name, text, labels = _files(source, ctx)
    tracks: dict[int, TrackRows] = {}
    for entry in read_rows(gt_name, text, labels, ctx):
        if entry.track <= 0:
            ctx.add_shape("rectangle", entry.frame, entry.label, entry.points, occluded=entry.occluded)
            continue
        # the first row names the track's label; a later row for the same frame replaces an earlier one
        tracks.setdefault(entry.track, TrackRows(entry.label)).by_frame[entry.frame.index] = entry
    for track in tracks.values():
        ctx.add_track(track.label, keyframes(track, len(ctx.frames)))


def keyframes(track: TrackRows, frame_count: int) -> list[dict[str, Any]]:
    """A keyframe per row, in frame order, and an outside one the frame after the last row
    when the task has that frame (a MOT track ends where its rows end)."""
    shapes: list[dict[str, Any]] = [
        {"type": "rectangle", "frame": frame, "points": entry.points, "occluded": entry.occluded, "outside": False}
        for frame, entry in sorted(track.by_frame.items())]
    last = shapes[-1]
    if last["frame"] + 1 < frame_count:
        shapes.append({**last, "frame": last["frame"] + 1, "outside": True})
    return shapes


def _files(source: ImportFile, ctx: ImportContext) -> tuple[str, str, list[str]]:
    """gt.txt (the bare file, or `gt/gt.txt` under any folder of a ZIP) and the label names of
    the labels.txt beside it, or of the task in order."""
    if not source.is_zip:
        return source.name, _decode(source.name, source.stream.read()), [label.name for label in ctx.labels]
    names = source.names()
    candidates = [n for n in names if n == "gt/gt.txt" or n.endswith("/gt/gt.txt")]
    candidates = candidates or [n for n in names if posixpath.basename(n) == "gt.txt"]
    if not candidates:
        raise FormatError(f"{source.name}: the archive has no gt/gt.txt")
    gt_name = min(candidates, key=lambda n: (n.count("/"), n))
    labels_name = posixpath.join(posixpath.dirname(gt_name), "labels.txt")
    if labels_name in names:
        # Datumaro reads every line (stripped) as a label; a trailing line break adds none
        labels = [line.strip() for line in _decode(labels_name, source.read_member(labels_name)).splitlines()]
    else:
        labels = [label.name for label in ctx.labels]
    return gt_name, _decode(gt_name, source.read_member(gt_name)), labels


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(f"{name}: not UTF-8 text ({error.reason} at byte {error.start})") from None


def read_rows(name: str, text: str, labels: list[str], ctx: ImportContext) -> Iterator[Row]:
    """The rows of gt.txt (6 to 9 or more cells; missing confidence/visibility count as 1),
    each checked with the file, line and field named in any error."""
    task_labels: dict[int, Label] = {}
    # frame ids as the exporter writes them: the frame's name when it is a number, else position + 1
    frames = {frame_id(frame): frame for frame in ctx.frames}
    for line_number, cells in enumerate(csv.reader(text.splitlines()), start=1):
        if not any(cell.strip() for cell in cells):
            continue
        where = f"{name}, line {line_number}"
        if len(cells) < 6:
            raise FormatError(f"{where}: expected at least 6 fields ({','.join(FIELDS[:6])}), got {len(cells)}")
        values = dict(zip(FIELDS, cells, strict=False))
        fid = _integer(values["frame_id"], f"{where}, frame_id")
        if fid not in frames:
            raise FormatError(f"{where}: frame_id {fid} is not a frame of the task ({min(frames)}..{max(frames)})")
        class_id = _integer(values.get("class_id") or "-1", f"{where}, class_id")
        if not 1 <= class_id <= len(labels):
            raise FormatError(f"{where}: class_id {class_id} is not a line of labels.txt (1..{len(labels)})")
        if class_id not in task_labels:
            task_labels[class_id] = ctx.label(labels[class_id - 1])
        x, y, w, h = (_finite(values[key], f"{where}, {key}") for key in ("x", "y", "w", "h"))
        visibility = number(values.get("visibility") or "1", f"{where}, visibility")
        yield Row(line_number, frames[fid], _integer(values["track_id"], f"{where}, track_id"),
                  task_labels[class_id], [x, y, x + w, y + h], visibility <= 0)


def _finite(text: str, what: str) -> float:
    value = number(text, what)
    if not math.isfinite(value):
        raise FormatError(f"{what}: '{text}' is not a finite number")
    return value


def _integer(text: str, what: str) -> int:
    value = number(text, what)
    if not value.is_integer():
        raise FormatError(f"{what}: '{text}' is not a whole number")
    return int(value)

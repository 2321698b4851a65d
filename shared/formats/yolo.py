"""YOLO 1.1 (spec §10.5): Darknet's layout as Datumaro writes it.

`obj.names` (task labels in order), `obj.data`, `train.txt` (image paths under `data/`) and one
`obj_train_data/<item>.txt` per frame with a line `<label index> <cx> <cy> <w> <h>` per rectangle,
normalised to the image size with 6 decimals. The format carries nothing but boxes and labels:
no attributes, occlusion, groups, tracks, tags or other shape types.

Import needs the task's frame sizes (a YOLO file has none): every item is matched to a frame
by name and its boxes are scaled by that frame's size.
"""

import math
import posixpath
import re
from collections.abc import Iterator

from shared.formats.files import Archive, ImportFile, number
from shared.formats.model import ExportContext, FormatError, Frame, ImportContext, Label, Shape

SUBSET = "train"
RESERVED_KEYS = ("classes", "names", "backup")  # other obj.data keys name item lists (subsets)
CONFIG_LINE = re.compile(r"^\s*(\w+)\s*=\s*(.+?)\s*$")


# ---------------------------------------------------------------- export


def image_name(frame: Frame) -> str:
    """`<item><ext>`, `.jpg` when the frame name has none (spec §10.5: video frames)."""
    return frame.stem + (frame.extension or ".jpg")


def image_path(ctx: ExportContext, frame: Frame) -> str:
    return f"obj_{SUBSET}_data/{image_name(frame)}"


def export(ctx: ExportContext, archive: Archive) -> None:
    archive.write("obj.names", "".join(f"{label.name}\n" for label in ctx.labels))
    shapes = ctx.shapes_by_frame()
    for frame in ctx.frames:
        lines = [box_line(ctx, frame, shape) for shape in shapes.get(frame.index, []) if shape.type == "rectangle"]
        archive.write(f"obj_{SUBSET}_data/{frame.stem}.txt", "".join(lines))
    archive.write(f"{SUBSET}.txt", "".join(f"data/{image_path(ctx, frame)}\n" for frame in ctx.frames))
    archive.write("obj.data", f"classes = {len(ctx.labels)}\n{SUBSET} = data/{SUBSET}.txt\n"
                              "names = data/obj.names\nbackup = backup/\n")


def box_line(ctx: ExportContext, frame: Frame, shape: Shape) -> str:
    if frame.width <= 0 or frame.height <= 0:
        raise FormatError(f"Frame {frame.number} ({frame.name}) has no size; YOLO boxes are relative to it")
    x1, y1, x2, y2 = shape.points
    values = ((x1 + x2) / 2 / frame.width, (y1 + y2) / 2 / frame.height,
              (x2 - x1) / frame.width, (y2 - y1) / frame.height)
    return f"{ctx.label_index(shape.label)} {' '.join(f'{value:.6f}' for value in values)}\n"


# ---------------------------------------------------------------- import


def parse(source: ImportFile, ctx: ImportContext) -> None:
    if not source.is_zip:
        raise FormatError(f"{source.name}: YOLO 1.1 takes a ZIP archive (obj.data, obj.names, obj_train_data/)")
    label_names, files = _layout(source)
    members = set(source.names())
    labels: dict[int, Label] = {}
    for file_name, item in files:
        if file_name not in members:
            continue  # an image without a label file has no boxes
        boxes = list(read_boxes(file_name, _text(source, file_name), len(label_names)))
        if not boxes:
            continue
        frame = _match(ctx, file_name, item)
        for index, box in boxes:
            if index not in labels:
                labels[index] = ctx.label(label_names[index])
            ctx.add_shape("rectangle", frame, labels[index], _absolute(box, frame))


def _layout(source: ImportFile) -> tuple[list[str], list[tuple[str, str]]]:
    """Label names and (label file, item id) pairs: from obj.data and its lists, or, without
    obj.data, obj.names and every .txt inside an `obj_<subset>_data/` folder."""
    names = source.names()
    config = _shortest(name for name in names if posixpath.basename(name) == "obj.data")
    if config is None:
        names_file = _shortest(name for name in names if posixpath.basename(name) == "obj.names")
        if names_file is None:
            raise FormatError(f"{source.name}: neither obj.data nor obj.names is in the archive")
        root = posixpath.dirname(names_file)
        return _label_names(source, names_file), list(_loose_label_files(names, root))
    root = posixpath.dirname(config)
    settings = _config(config, _text(source, config))
    if "names" not in settings:
        raise FormatError(f"{config}: no 'names = <file>' line")
    files = []
    for key, list_path in settings.items():
        if key not in RESERVED_KEYS:
            files += list(_listed_label_files(source, _join(root, localize(list_path)), root, key))
    return _label_names(source, _join(root, localize(settings["names"]))), files


def _shortest(names: Iterator[str]) -> str | None:
    return min(names, key=lambda name: (name.count("/"), name), default=None)


def _join(root: str, path: str) -> str:
    return posixpath.join(root, path) if root else path


def _text(source: ImportFile, name: str) -> str:
    try:
        return source.read_member(name).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(f"{name}: not UTF-8 text ({error.reason} at byte {error.start})") from None


def _config(name: str, text: str) -> dict[str, str]:
    settings = {}
    for line in text.splitlines():
        match = CONFIG_LINE.match(line)
        if match:
            settings[match.group(1)] = match.group(2)
    return settings


def _label_names(source: ImportFile, name: str) -> list[str]:
    if name not in source.names():
        raise FormatError(f"{name}: the label list named by obj.data is not in the archive")
    return [line.strip() for line in _text(source, name).splitlines() if line.strip()]


def localize(path: str) -> str:
    """A path of obj.data or a list, relative to the dataset folder: without `data/`."""
    path = posixpath.normpath(path.strip().replace("\\", "/"))
    return path[len("data/"):] if path.startswith("data/") else path


def item_id(path: str) -> str:
    """The item of an image path `[data/]<subset folder>/<name>.<ext>`: `<name>` (which may have folders)."""
    parts = localize(path).split("/")
    return posixpath.splitext("/".join(parts[1:] if len(parts) > 1 else parts))[0]


def _listed_label_files(source: ImportFile, list_name: str, root: str, key: str) -> Iterator[tuple[str, str]]:
    if list_name not in source.names():
        raise FormatError(f"{list_name}: the '{key}' list named by obj.data is not in the archive")
    for line in _text(source, list_name).splitlines():
        if line.strip():
            yield _join(root, posixpath.splitext(localize(line))[0] + ".txt"), item_id(line)


def _loose_label_files(names: list[str], root: str) -> Iterator[tuple[str, str]]:
    prefix = f"{root}/" if root else ""
    for name in names:
        parts = name[len(prefix):].split("/") if name.startswith(prefix) else []
        if len(parts) > 1 and re.fullmatch(r"obj_\w+_data", parts[0]) and name.endswith(".txt"):
            yield name, item_id(name[len(prefix):])


def read_boxes(name: str, text: str, label_count: int) -> Iterator[tuple[int, list[float]]]:
    """(label index, [cx, cy, w, h]) of each non-empty line; a bad line fails with the file
    and line number."""
    for line_number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"{name}, line {line_number}"
        if len(fields) != 5:
            raise FormatError(f"{where}: expected 5 fields '<label> <cx> <cy> <w> <h>', got {len(fields)}: "
                              f"'{line.strip()}'")
        if not (fields[0].isascii() and fields[0].isdigit()) or int(fields[0]) >= label_count:
            raise FormatError(f"{where}: label index '{fields[0]}' is not a line of obj.names "
                              f"(0..{label_count - 1})")
        box = [_finite(value, f"{where}, {field}") for value, field in zip(fields[1:], ("cx", "cy", "w", "h"),
                                                                           strict=True)]
        yield int(fields[0]), box


def _finite(text: str, what: str) -> float:
    value = number(text, what)
    if not math.isfinite(value):
        raise FormatError(f"{what}: '{text}' is not a finite number")
    return value


def _absolute(box: list[float], frame: Frame) -> list[float]:
    """[cx, cy, w, h] relative to the image -> rectangle points [x1, y1, x2, y2] in pixels."""
    cx, cy, w, h = box
    x, y = (cx - w * 0.5) * frame.width, (cy - h * 0.5) * frame.height
    return [x, y, x + w * frame.width, y + h * frame.height]


def _match(ctx: ImportContext, file_name: str, item: str) -> Frame:
    frame = ctx.frame_by_name(item)
    if frame is not None:
        return frame
    base = posixpath.basename(item)
    if base.isascii() and base.isdigit():
        try:
            return ctx.frame_by_number(int(base))
        except FormatError:
            pass
    raise FormatError(f"{file_name}: unknown image '{item}': no frame of the task has this name")

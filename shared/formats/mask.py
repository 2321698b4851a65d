"""Segmentation mask 1.1 (spec §10.5): PASCAL VOC segmentation masks, as the original wrote them
through Datumaro (polygons_to_masks, boxes_to_masks, merge_instance_segments, then the VOC
segmentation converter with the task's label colours) and read them back (VOC extractor, then
masks_to_polygons).

Export, per frame with polygons or rectangles: `SegmentationClass/<item>.png` (RGB, each pixel
the colour of its label), `SegmentationObject/<item>.png` (RGB, instance i in the VOC palette's
colour i), both painted in z_order (later instances cover earlier ones); shapes of one non-zero
group form one instance with the label and z_order of its largest member.
`ImageSets/Segmentation/default.txt` lists the frames with masks and the frames without any
annotation; `labelmap.txt` lists the labels sorted by name, the background entry first.

Import: instances (SegmentationObject) labelled by their pixels' class (SegmentationClass), or,
without instance masks, one object per class; each becomes the polygons of its outlines (holes
filled), grouped when there are several. Colours are read through labelmap.txt, or the task's
label colours when the archive has none.
"""

import io
import posixpath
from collections.abc import Iterator
from typing import Any

import numpy as np
from PIL import Image

from shared.formats.coco import add_grouped_shapes, instances
from shared.formats.files import Archive, ImportFile
from shared.formats.masks import (
    mask_to_polygons,
    pixel_counts,
    rasterize_crop,
    rectangle_polygon,
    shift_polygon,
    split_regions,
    voc_palette,
)
from shared.formats.model import ExportContext, FormatError, Frame, ImportContext, Label, Shape

CLASS_DIR = "SegmentationClass/"
OBJECT_DIR = "SegmentationObject/"
LIST_DIR = "ImageSets/Segmentation/"
LABELMAP = "labelmap.txt"
IMAGE_DIR = "JPEGImages/"
DEFAULT_IMAGE_EXT = ".jpg"
BACKGROUND = "background"
BLACK = (0, 0, 0)

Color = tuple[int, int, int]
LabelMap = list[tuple[str, Color]]


def image_path(ctx: ExportContext, frame: Frame) -> str:
    return f"{IMAGE_DIR}{frame.stem}{frame.extension or DEFAULT_IMAGE_EXT}"


def label_map(labels: list[Label]) -> LabelMap:
    """The task's labels and colours with `background` (black) added unless a label has that
    name, sorted by name, and the first black entry (else `background`) moved to the front: its
    index, 0, is what unpainted pixels hold."""
    palette = voc_palette()
    entries = {label.name: _rgb(label.color, tuple(palette[(i + 1) % 256])) for i, label in enumerate(labels)}
    entries.setdefault(BACKGROUND, BLACK)
    ordered = sorted(entries.items(), key=lambda entry: entry[0])
    background = next((name for name, color in ordered if color == BLACK), BACKGROUND)
    return [e for e in ordered if e[0] == background] + [e for e in ordered if e[0] != background]


def labelmap_text(entries: LabelMap) -> str:
    lines = ["# label:color_rgb:parts:actions"]
    lines += [f"{name}:{','.join(str(c) for c in color)}::" for name, color in entries]
    return "\n".join(lines) + "\n"


def _rgb(color: str, fallback: Any) -> Color:
    """A task colour `#rrggbb`; a label without a usable one gets a VOC palette colour."""
    text = color.strip().lstrip("#")
    try:
        if len(text) == 6:
            return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    except ValueError:
        pass
    return int(fallback[0]), int(fallback[1]), int(fallback[2])


# ---------------------------------------------------------------- export


def export(ctx: ExportContext, archive: Archive) -> None:
    entries = label_map(ctx.labels)
    classes = {name: index for index, (name, _) in enumerate(entries)}
    class_colors = np.array([color for _, color in entries], dtype=np.uint8)
    instance_colors = voc_palette()
    shapes = ctx.shapes_by_frame(tracks=True, outside=False)
    tags = ctx.tags_by_frame()
    listed = []
    for frame in ctx.frames:
        frame_shapes = sorted((s for s in shapes.get(frame.index, []) if s.type != "cuboid"), key=lambda s: s.z_order)
        compiled = _compile(frame, frame_shapes, classes)
        if compiled is not None:
            class_mask, instance_mask = compiled
            archive.write(f"{CLASS_DIR}{frame.stem}.png", _png(class_colors[class_mask]), compress=False)
            archive.write(f"{OBJECT_DIR}{frame.stem}.png", _png(instance_colors[instance_mask & 0xFF]), compress=False)
            listed.append(frame.stem)
        elif not frame_shapes and not tags.get(frame.index):
            listed.append(frame.stem)
    if listed:
        archive.write(f"{LIST_DIR}default.txt", "".join(f"{item}\n" for item in listed))
    archive.write(LABELMAP, labelmap_text(entries))


def _compile(frame: Frame, shapes: list[Shape], classes: dict[str, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """Class and instance index masks of a frame, or None when it has no polygon or rectangle.
    Instances are numbered 1.. in z_order; each paints over the ones before it."""
    groups = instances(shapes)
    if not groups:
        return None
    painted = sorted((_instance(frame, group) for group in groups), key=lambda item: item[0].z_order)
    class_mask = np.zeros((frame.height, frame.width), dtype=np.int64)
    instance_mask = np.zeros((frame.height, frame.width), dtype=np.int64)
    for number, (leader, crop) in enumerate(painted, start=1):
        if crop is None:
            continue
        part, top, left = crop
        window = (slice(top, top + part.shape[0]), slice(left, left + part.shape[1]))
        instance_mask[window][part] = number
        if classes[leader.label.name]:  # the background class (index 0) paints nothing
            class_mask[window][part] = classes[leader.label.name]
    return class_mask, instance_mask


def _instance(frame: Frame, group: list[Shape]) -> tuple[Shape, tuple[np.ndarray, int, int] | None]:
    """The leader (the first member with the most pixels) and the union of the members' pixels."""
    outlines = [rectangle_polygon(s.points) if s.type == "rectangle" else s.points for s in group]
    if len(group) == 1:
        return group[0], rasterize_crop(outlines, frame.width, frame.height)
    areas = pixel_counts(outlines, frame.width, frame.height)
    return group[areas.index(max(areas))], rasterize_crop(outlines, frame.width, frame.height)


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    # fast deflate (OpenCV's default, which the original wrote with); the ZIP stores PNGs as they are
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


# ---------------------------------------------------------------- import


def parse(source: ImportFile, ctx: ImportContext) -> None:
    if not source.is_zip:
        raise FormatError(f"{source.name}: a Segmentation mask 1.1 upload is a ZIP archive")
    layout = _Layout(source)
    items = layout.items()
    if not items:
        raise FormatError(f"{source.name}: not a Segmentation mask archive: no {CLASS_DIR}, {OBJECT_DIR} "
                          f"or {LIST_DIR} found")
    entries = _read_labelmap(source, layout.root + LABELMAP) if layout.has(LABELMAP) else label_map(ctx.labels)
    colors = _ClassColors(entries)
    for item in items:
        frame = _match(ctx, item)
        class_name, object_name = f"{layout.root}{CLASS_DIR}{item}.png", f"{layout.root}{OBJECT_DIR}{item}.png"
        classes = colors.indices(class_name, _read_png(source, class_name)) if class_name in layout.names else None
        objects = _instance_ids(object_name, _read_png(source, object_name)) if object_name in layout.names else None
        if objects is not None:
            if classes is None:
                raise FormatError(f"{object_name}: there is no {class_name} to take the instances' labels from")
            if classes.shape != objects.shape:
                raise FormatError(f"{object_name}: {objects.shape[1]}x{objects.shape[0]} pixels, but {class_name} "
                                  f"has {classes.shape[1]}x{classes.shape[0]}")
            parts = _instance_parts(entries, classes, objects)
        elif classes is not None:
            parts = [(entries[value - 1][0], 0, polygon) for value, polygon in _region_polygons(classes)]
        else:
            continue
        add_grouped_shapes(ctx, frame, [{"type": "polygon", "label": ctx.label(name), "values": {}, "group": group,
                                         "points": polygon} for name, group, polygon in parts])


class _Layout:
    """Where the VOC folders are in the archive (possibly under one top folder) and its items."""

    MARKERS = (CLASS_DIR, OBJECT_DIR, LIST_DIR)

    def __init__(self, source: ImportFile) -> None:
        self.source = source
        self.names = set(source.names())
        found = [root for root in map(self._root, self.names) if root is not None]
        self.root = min(found, key=len) if found else ""

    def _root(self, name: str) -> str | None:
        if posixpath.basename(name) == LABELMAP:
            return name[:-len(LABELMAP)]
        for marker in self.MARKERS:
            at = name.find(marker)
            if at == 0 or (at > 0 and name[at - 1] == "/"):
                return name[:at]
        return None

    def has(self, name: str) -> bool:
        return self.root + name in self.names

    def _under(self, folder: str, suffix: str) -> list[str]:
        prefix = self.root + folder
        return sorted(n[len(prefix):] for n in self.names if n.startswith(prefix) and n.endswith(suffix))

    def items(self) -> list[str]:
        """Item ids: those listed in ImageSets/Segmentation/*.txt, then those with masks only."""
        listed: list[str] = []
        for name in self._under(LIST_DIR, ".txt"):
            text = self.source.read_member(self.root + LIST_DIR + name).decode("utf-8", errors="replace")
            listed += [line.split()[0] for line in text.splitlines() if line.strip()]
        masked = [n[:-4] for folder in (CLASS_DIR, OBJECT_DIR) for n in self._under(folder, ".png")]
        return list(dict.fromkeys(listed + sorted(masked)))


def _match(ctx: ImportContext, item: str) -> Frame:
    """By name, else a numeric item id is an absolute frame number (CVAT's match_dm_item)."""
    base = posixpath.basename(item)
    return ctx.match_frame(item, int(base) if base.isdigit() else None)


def _read_labelmap(source: ImportFile, name: str) -> LabelMap:
    """`name:r,g,b:parts:actions` lines; without any colour the VOC palette colours them."""
    text = source.read_member(name).decode("utf-8", errors="replace")
    entries: dict[str, Color | None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        if fields[0] in entries:
            raise FormatError(f"{name}: line {number}: label '{fields[0]}' is defined twice")
        entries[fields[0]] = _labelmap_color(fields[1] if len(fields) > 1 else "", name, number)
    if all(color is None for color in entries.values()):
        palette = voc_palette()
        return [(label, _rgb("", palette[i % 256])) for i, label in enumerate(entries)]
    return [(label, color) for label, color in entries.items() if color is not None]


def _labelmap_color(text: str, name: str, number: int) -> Color | None:
    if not text.strip():
        return None
    parts = text.split(",")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 3 or not all(0 <= v <= 255 for v in values):
        raise FormatError(f"{name}: line {number}: the colour '{text}' is not r,g,b")
    return values[0], values[1], values[2]


def _read_png(source: ImportFile, name: str) -> tuple[np.ndarray, bool]:
    """A mask image as packed 0xRRGGBB values, or (for a one-channel image) its raw values;
    the flag says which."""
    try:
        with Image.open(io.BytesIO(source.read_member(name))) as image:
            if image.mode in ("1", "L", "I", "I;16"):
                return np.asarray(image, dtype=np.int64), True
            rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise FormatError(f"{name}: not a readable image ({error})") from None
    packed = rgb[..., 0].astype(np.int64) << 16
    packed |= rgb[..., 1].astype(np.int64) << 8
    packed |= rgb[..., 2]
    return packed, False


def _lookup(packed: np.ndarray, table: dict[int, int], name: str, what: str) -> np.ndarray:
    """Packed colours to the table's indices; a colour not in the table fails the import."""
    keys = np.array(sorted(table), dtype=np.int64)
    indices = np.array([table[int(k)] for k in keys], dtype=np.int64)
    at = np.minimum(np.searchsorted(keys, packed), keys.size - 1)
    known = keys[at] == packed
    if not known.all():
        v = int(packed[~known][0])
        raise FormatError(f"{name}: the colour ({v >> 16}, {(v >> 8) & 255}, {v & 255}) is not {what}")
    return indices[at]


class _ClassColors:
    """Class mask colours to label-map positions + 1 (0: the background entry, at position 0)."""

    def __init__(self, entries: LabelMap) -> None:
        self.entries = entries
        self.table = {(r << 16) | (g << 8) | b: index + 1 if index else 0
                      for index, (_, (r, g, b)) in enumerate(entries)}

    def indices(self, name: str, image: tuple[np.ndarray, bool]) -> np.ndarray:
        values, raw = image
        if raw:
            if values.size and int(values.max()) >= len(self.entries):
                raise FormatError(f"{name}: class {int(values.max())} is not in the label map")
            return np.where(values > 0, values + 1, 0)
        return _lookup(values, self.table, name, "a colour of the label map")


_INSTANCE_COLORS = {(int(r) << 16) | (int(g) << 8) | int(b): index for index, (r, g, b) in enumerate(voc_palette())}


def _instance_ids(name: str, image: tuple[np.ndarray, bool]) -> np.ndarray:
    values, raw = image
    return values if raw else _lookup(values, _INSTANCE_COLORS, name, "an instance colour of the VOC palette")


def _instance_parts(entries: LabelMap, classes: np.ndarray, objects: np.ndarray) -> list[tuple[str, int, list[float]]]:
    """Each instance takes the highest class among its pixels (as Datumaro's lookup did)."""
    parts = []
    for value, crop, top, left in split_regions(objects):
        label = int(classes[top:top + crop.shape[0], left:left + crop.shape[1]][crop].max())
        name = entries[max(label - 1, 0)][0]
        parts += [(name, value, shift_polygon(polygon, left, top)) for polygon in mask_to_polygons(crop)]
    return parts


def _region_polygons(index_mask: np.ndarray) -> Iterator[tuple[int, list[float]]]:
    for value, crop, top, left in split_regions(index_mask):
        for polygon in mask_to_polygons(crop):
            yield value, shift_polygon(polygon, left, top)

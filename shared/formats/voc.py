"""PASCAL VOC 1.1 (spec §10.5), as CVAT 1.2 writes and reads it through Datumaro.

Export: one `Annotations/<item>.xml` per frame (rectangles only, outside track positions
dropped), tags as classification lists, item lists for the other VOC tasks and `labelmap.txt`
with `background` first; no masks are written.

Import: a ZIP in the VOC layout (under any leading folder) or a flat set of `.xml` files.
Boxes become rectangles, class lists tags, segmentation masks polygons. `<actions>` become
attributes of the same name where the label has them; `<part>` boxes are ignored (the task
model has no place for body parts).
"""

import io
import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.formats.files import Archive, ImportFile, number, parse_xml
from shared.formats.model import ExportContext, FormatError, Frame, ImportContext, Label, Shape, typed_value
from shared.labels import palette_colour

BACKGROUND = "background"
LABELMAP_HEADER = "# label:color_rgb:parts:actions\n"
FLAGS = ("difficult", "truncated", "occluded")  # VOC's 0/1 object fields; `pose` is text
LIST_TASKS = ("Segmentation", "Layout", "Action")
LAYOUT_DIRS = ("Annotations", "ImageSets", "SegmentationClass", "SegmentationObject")
SUBSET = "default"
VOID = 255  # the instance palette's border index

Color = tuple[int, int, int]


def _color_code(color: Color) -> int:
    return (color[0] << 16) | (color[1] << 8) | color[2]


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


# ---------------------------------------------------------------- export


def image_name(frame: Frame) -> str:
    """`<item><ext>`; frames without an extension are video frames, written as PNG."""
    return frame.stem + (frame.extension or ".png")


def image_path(ctx: ExportContext, frame: Frame) -> str:
    return f"JPEGImages/{image_name(frame)}"


def export(ctx: ExportContext, archive: Archive) -> None:
    shapes = ctx.shapes_by_frame()
    tags = ctx.tags_by_frame()
    items = [frame.stem for frame in ctx.frames]
    tagged: dict[str, set[str]] = {}
    for frame in ctx.frames:
        boxes = [shape for shape in shapes.get(frame.index, []) if shape.type == "rectangle"]
        archive.write(f"Annotations/{frame.stem}.xml", annotation_xml(ctx, frame, boxes))
        if tags.get(frame.index):
            tagged[frame.stem] = {tag.label.name for tag in tags[frame.index]}
    item_list = "".join(f"{item}\n" for item in items)
    archive.write(f"ImageSets/Main/{SUBSET}.txt", item_list)
    names = export_label_names(ctx)
    for name in names:
        # Datumaro's "%s % d" format: "<item>  1" or "<item> -1", only for items that have tags
        lines = "".join(f"{item} {1 if name in present else -1: d}\n" for item, present in tagged.items())
        archive.write(f"ImageSets/Main/{name}_{SUBSET}.txt", lines)
    for task in LIST_TASKS:
        archive.write(f"ImageSets/{task}/{SUBSET}.txt", item_list)
    archive.write("labelmap.txt", LABELMAP_HEADER + "".join(
        "{}:{},{},{}::\n".format(name, *palette_colour(index)) for index, name in enumerate(names)))


def export_label_names(ctx: ExportContext) -> list[str]:
    """Task labels with `background` first (added when the task has no label of that name)."""
    names = [label.name for label in ctx.labels]
    if BACKGROUND in names:
        names.remove(BACKGROUND)
    return [BACKGROUND, *names]


def annotation_xml(ctx: ExportContext, frame: Frame, boxes: list[Shape]) -> str:
    root = ET.Element("annotation")
    # Datumaro's guess of a VOC year folder: the item id up to its first underscore
    _sub(root, "folder", frame.stem[:frame.stem.find("_")] if "_" in frame.stem else "")
    _sub(root, "filename", image_name(frame))
    source = _sub(root, "source")
    for name in ("database", "annotation", "image"):
        _sub(source, name, "Unknown")
    size = _sub(root, "size")
    _sub(size, "width", str(frame.width))
    _sub(size, "height", str(frame.height))
    _sub(size, "depth", "3")
    _sub(root, "segmented", "0")
    for box in boxes:
        root.append(_object(box))
    ET.indent(root, "  ")
    return ET.tostring(root, encoding="unicode") + "\n"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def typed_attributes(shape: Shape) -> dict[str, Any]:
    """The Datumaro view of a shape's attributes (spec §10.4): typed values, `occluded` from the
    shape's flag (it wins over an attribute of that name), and `track_id`/`keyframe` for tracks."""
    values: dict[str, Any] = {name: typed_value(shape.label.spec(name), value)
                              for name, value in shape.attributes.items()}
    values["occluded"] = shape.occluded
    if shape.track_id is not None:
        values["track_id"] = shape.track_id
        values["keyframe"] = shape.keyframe
    return values


def _flag(value: Any) -> str:
    """0/1 of a VOC flag: what int() makes of the typed value, 0 when it cannot."""
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return "0"


def _object(box: Shape) -> ET.Element:
    values = typed_attributes(box)
    element = ET.Element("object")
    _sub(element, "name", box.label.name)
    if "pose" in values:
        _sub(element, "pose", str(values["pose"]))
    for name in ("truncated", "occluded", "difficult"):
        _sub(element, name, _flag(values.get(name, 0)))
    bndbox = _sub(element, "bndbox")
    for name, value in zip(("xmin", "ymin", "xmax", "ymax"), box.points, strict=True):
        _sub(bndbox, name, str(float(value)))
    others = [(name, value) for name, value in values.items() if name not in (*FLAGS, "pose")]
    if others:
        attributes = _sub(element, "attributes")
        for name, value in others:
            attribute = _sub(attributes, "attribute")
            _sub(attribute, "name", name)
            _sub(attribute, "value", str(value))
    return element


# ---------------------------------------------------------------- import


@dataclass
class LabelMapEntry:
    name: str
    color: Color | None
    actions: list[str] = field(default_factory=list)


def parse(source: ImportFile, ctx: ImportContext) -> None:
    if not source.is_zip:
        for name, stream in source.documents(".xml"):
            _parse_annotation(name, stream.read(), None, ctx, {})
        return
    names = source.names()
    root = _layout_root(names)
    if root is None:  # a flat set of .xml files: every one is an item named by its path
        for name in names:
            if name.lower().endswith(".xml"):
                _parse_annotation(name, source.read_member(name), posixpath.splitext(name)[0], ctx, {})
        return
    label_map = read_label_map(source, root, ctx)
    actions = {entry.name: entry.actions for entry in label_map}
    for name in names:
        item = _relative(name, f"{root}Annotations/", ".xml")
        if item is not None:
            _parse_annotation(name, source.read_member(name), item, ctx, actions)
    _parse_class_lists(source, root, label_map, ctx)
    _parse_masks(source, root, label_map, ctx)


def _layout_root(names: list[str]) -> str | None:
    """The folder holding the VOC layout ("" at the archive root), or None for a flat set."""
    roots = []
    for name in names:
        parts = name.split("/")
        for depth, part in enumerate(parts[:-1]):
            if part in LAYOUT_DIRS:
                roots.append("".join(f"{p}/" for p in parts[:depth]))
                break
        if parts[-1] == "labelmap.txt":
            roots.append(name[:-len("labelmap.txt")])
    return min(roots, key=len) if roots else None


def _relative(name: str, folder: str, suffix: str) -> str | None:
    """The item id of `<folder><item><suffix>`, or None for other members."""
    if name.startswith(folder) and name.lower().endswith(suffix) and len(name) > len(folder) + len(suffix):
        return name[len(folder):-len(suffix)]
    return None


def _text(source: ImportFile, name: str) -> str:
    try:
        return source.read_member(name).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(f"{name}: not UTF-8 text ({error.reason} at byte {error.start})") from None


def read_label_map(source: ImportFile, root: str, ctx: ImportContext) -> list[LabelMapEntry]:
    """labelmap.txt (`name:r,g,b:parts:actions`); without one, the task's labels with
    `background` first, as the exporter writes them. Entries without colours get the VOC palette
    by position, as Datumaro does when the file gives no colour at all."""
    name = f"{root}labelmap.txt"
    if name in source.names():
        entries = _parse_label_map(name, _text(source, name))
    else:
        labels = [label.name for label in ctx.labels if label.name != BACKGROUND]
        entries = [LabelMapEntry(label, None) for label in (BACKGROUND, *labels)]
    if not any(entry.color for entry in entries):
        for index, entry in enumerate(entries):
            entry.color = palette_colour(index)
    return entries


def _parse_label_map(name: str, text: str) -> list[LabelMapEntry]:
    entries = []
    for number_, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        color = None
        if len(fields) > 1 and fields[1]:
            channels = fields[1].split(",")
            if len(channels) != 3 or not all(_is_number(c.strip()) and int(c) < 256 for c in channels):
                raise FormatError(f"{name}, line {number_}: colour '{fields[1]}' of '{fields[0]}' is not r,g,b")
            color = (int(channels[0]), int(channels[1]), int(channels[2]))
        actions = [a for a in fields[3].split(",") if a] if len(fields) > 3 else []
        entries.append(LabelMapEntry(fields[0], color, actions))
    return entries


# ---- Annotations/<item>.xml


def _parse_annotation(name: str, data: bytes, item: str | None, ctx: ImportContext,
                      actions: dict[str, list[str]]) -> None:
    root = parse_xml(io.BytesIO(data), name)
    if root.tag != "annotation":
        raise FormatError(f"{name}: not a PASCAL VOC annotation (root element <{root.tag}>, expected <annotation>)")
    objects = root.findall("object")
    if not objects:
        return
    frame = _match(ctx, name, [item, root.findtext("filename")])
    for position, element in enumerate(objects, start=1):
        _add_box(ctx, frame, element, f"{name}: object {position}", actions)


def _match(ctx: ImportContext, where: str, names: list[str | None]) -> Frame:
    """The frame of an item: by name (the file's item id, then the <filename> it gives),
    else by a numeric item id taken as a frame number."""
    candidates = [name for name in names if name]
    for name in candidates:
        frame = ctx.frame_by_name(name)
        if frame is not None:
            return frame
    for name in candidates:
        stem = posixpath.splitext(posixpath.basename(name))[0]
        if _is_number(stem):
            try:
                return ctx.frame_by_number(int(stem))
            except FormatError:
                pass
    raise FormatError(f"{where}: unknown image '{candidates[0] if candidates else ''}': "
                      f"no frame of the task has this name")


def _add_box(ctx: ImportContext, frame: Frame, element: ET.Element, where: str,
             actions: dict[str, list[str]]) -> None:
    name = (element.findtext("name") or "").strip()
    if not name:
        raise FormatError(f"{where}: <name> is missing")
    label = ctx.label(name)
    bndbox = element.find("bndbox")
    if bndbox is None:
        raise FormatError(f"{where} ({name}): <bndbox> is missing")
    points = [number(bndbox.findtext(field_), f"{where} ({name}): bndbox/{field_}")
              for field_ in ("xmin", "ymin", "xmax", "ymax")]
    values = _object_values(element, actions.get(name, []))
    typed = [(key, _as_type(label, key, value)) for key, value in values.items()]
    ctx.add_shape("rectangle", frame, label, points, attributes=ctx.attributes(label, typed),
                  occluded=values["occluded"] is True)


def _object_values(element: ET.Element, declared_actions: list[str]) -> dict[str, Any]:
    """What an <object> says: the flags (false when absent), pose, actions (declared ones
    false unless present) and the <attributes> list, by name."""
    values: dict[str, Any] = {flag: (element.findtext(flag) or "").strip() == "1" for flag in FLAGS}
    pose = element.findtext("pose")
    if pose is not None:
        values["pose"] = pose.strip()
    values.update(dict.fromkeys(declared_actions, False))
    for action in element.iterfind("actions/*"):
        values[action.tag] = (action.text or "").strip() == "1"
    for attribute in element.iterfind("attributes/attribute"):
        key = attribute.findtext("name")
        if key:
            values[key] = attribute.findtext("value") or ""
    return values


def _as_type(label: Label, name: str, value: Any) -> Any:
    """A VOC flag as the attribute's type takes it: 1/0 for numbers, else the bool (which
    becomes true/false)."""
    if not isinstance(value, bool):
        return value
    spec = label.spec(name)
    if spec is not None and spec.input_type == "number":
        return "1" if value else "0"
    return value


# ---- ImageSets/Main/<label>_<subset>.txt


def _parse_class_lists(source: ImportFile, root: str, label_map: list[LabelMapEntry], ctx: ImportContext) -> None:
    """A `1` in `<label>_<subset>.txt` is a tag of that label on the item (labels known from
    the label map; longest name first so `a_b_default.txt` is label `a_b`)."""
    known = sorted({entry.name for entry in label_map}, key=len, reverse=True)
    folder = f"{root}ImageSets/Main/"
    for name in source.names():
        stem = _relative(name, folder, ".txt")
        label_name = next((k for k in known if stem and stem.startswith(f"{k}_") and "/" not in stem), None)
        if label_name is None:
            continue
        for line_number, item in _present_items(name, _text(source, name)):
            frame = _match(ctx, f"{name}, line {line_number}", [item])
            ctx.add_tag(frame, ctx.label(label_name))


def _present_items(name: str, text: str) -> Iterator[tuple[int, str]]:
    for line_number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1].lstrip("-+") not in ("0", "1"):
            raise FormatError(f"{name}, line {line_number}: expected '<item> 1', '<item> -1' or '<item> 0', "
                              f"got '{line.strip()}'")
        if int(fields[1]) == 1:
            yield line_number, fields[0]


# ---- SegmentationClass / SegmentationObject


def _parse_masks(source: ImportFile, root: str, label_map: list[LabelMapEntry], ctx: ImportContext) -> None:
    """Instance masks (with their class mask for the label) or, without them, class masks
    become polygons. Background (black or named `background`) and colours that are neither
    in the label map nor the instance palette (VOC's void border) are skipped."""
    classes = _members_by_item(source, f"{root}SegmentationClass/", ".png")
    instances = _members_by_item(source, f"{root}SegmentationObject/", ".png")
    colors = {_color_code(e.color): e.name for e in label_map
              if e.color is not None and e.color != (0, 0, 0) and e.name != BACKGROUND}
    for item in sorted({*classes, *instances}):
        if item in instances and item not in classes:
            raise FormatError(f"{instances[item]}: an instance mask needs the class mask "
                              f"{root}SegmentationClass/{item}.png for its labels")
        class_codes = _read_mask(source, classes[item])
        if item in instances:
            instance_codes = _read_mask(source, instances[item])
            if instance_codes.shape != class_codes.shape:
                raise FormatError(f"{instances[item]}: {instance_codes.shape[1]}x{instance_codes.shape[0]}, but the "
                                  f"class mask is {class_codes.shape[1]}x{class_codes.shape[0]}")
            masks = _instance_masks(instance_codes, class_codes, colors)
        else:
            masks = _class_masks(class_codes, colors)
        if masks:
            frame = _match(ctx, classes[item], [item])
            _add_polygons(ctx, frame, masks, grouped=item in instances)


def _members_by_item(source: ImportFile, folder: str, suffix: str) -> dict[str, str]:
    found = ((_relative(name, folder, suffix), name) for name in source.names())
    return {item: name for item, name in found if item is not None}


def _read_mask(source: ImportFile, name: str) -> np.ndarray:
    """A mask image as one 24-bit colour code per pixel (palette images through their palette)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(source.read_member(name))) as image:
            rgb = np.asarray(image.convert("RGB"), dtype=np.uint32)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise FormatError(f"{name}: not a readable mask image ({error})") from None
    codes: np.ndarray = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    return codes


def _class_masks(codes: np.ndarray, colors: dict[int, str]) -> list[tuple[str, np.ndarray]]:
    """One mask per label present, in label map order."""
    present = {int(code) for code in np.unique(codes)}
    return [(name, codes == code) for code, name in colors.items() if code in present]


def _instance_masks(instance_codes: np.ndarray, class_codes: np.ndarray,
                    colors: dict[int, str]) -> list[tuple[str, np.ndarray]]:
    """Each instance of the palette (1..254) with the label most of its pixels have."""
    palette = {_color_code(palette_colour(index)): index for index in range(1, VOID)}
    result = []
    for code in sorted((int(c) for c in np.unique(instance_codes) if int(c) in palette), key=palette.__getitem__):
        mask = instance_codes == code
        labels, counts = np.unique(class_codes[mask], return_counts=True)
        known = [(int(count), colors[int(c)]) for c, count in zip(labels, counts, strict=True) if int(c) in colors]
        if known:
            result.append((max(known)[1], mask))
    return result


def _add_polygons(ctx: ImportContext, frame: Frame, masks: list[tuple[str, np.ndarray]], *, grouped: bool) -> None:
    """Polygons of each mask; an instance drawn as several polygons keeps them in one group."""
    from shared.formats.masks import mask_to_polygons

    group = 0
    for label_name, mask in masks:
        polygons = [p for p in mask_to_polygons(mask) if len(p) >= 6]
        instance_group = 0
        if grouped and len(polygons) > 1:
            group += 1
            instance_group = group
        label = ctx.label(label_name)
        for polygon in polygons:
            ctx.add_shape("polygon", frame, label, polygon, group=instance_group)

"""LabelMe 3.0 (spec §10.5), as CVAT 1.2 writes and reads it through Datumaro's `label_me` format.

Export: `default/<item>.xml` for every frame (the layout is flat: an item whose name holds a
directory cannot be written), `default/Masks/` (empty), images alongside in dataset exports.
Rectangles become `bounding_box` objects with a 4-corner polygon, polygons become polygons.
LabelMe has no points or polylines, and Datumaro's LabelMe writer drops them, so they are
not exported (nor are tags and cuboids). Attribute values are written typed, as Datumaro
holds them (`3.0` for a number, `True` for a checkbox), with `track_id` and `keyframe` for
track shapes.

Import: every `.xml` member (or one bare XML document); bounding boxes become rectangles,
polygons polygons, masks (`segm`, a PNG in `Masks/` beside the XML) polygons; deleted objects
are skipped; `parts` trees become groups (one-object groups are dropped, as CVAT does).
"""

import io
import posixpath
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from shared.formats.files import Archive, ImportFile, number, parse_xml
from shared.formats.model import ExportContext, FormatError, Frame, ImportContext, Label, Shape, typed_value

SUBSET = "default"
MASKS_DIR = "Masks"
_EXPORTED = ("rectangle", "polygon")

# ---------------------------------------------------------------- export


def image_path(ctx: ExportContext, frame: Frame) -> str:
    return f"{SUBSET}/{_image_name(frame)}"


def _image_name(frame: Frame) -> str:
    return f"{frame.stem}{frame.extension or '.png'}"


def export(ctx: ExportContext, archive: Archive) -> None:
    for frame in ctx.frames:
        if "/" in frame.stem:
            raise FormatError(f"Can't export item '{frame.stem}': LabelMe format only supports flat image layout")
    archive.write(f"{SUBSET}/{MASKS_DIR}/", b"")
    shapes = ctx.shapes_by_frame(tracks=True, outside=False)
    for frame in ctx.frames:
        ordered = sorted((s for s in shapes.get(frame.index, []) if s.type in _EXPORTED), key=lambda s: s.z_order)
        archive.write(f"{SUBSET}/{frame.stem}.xml", _document(frame, ordered))


def _document(frame: Frame, shapes: list[Shape]) -> bytes:
    root = ET.Element("annotation")
    _text(root, "filename", _image_name(frame))
    _text(root, "folder", "")
    source = ET.SubElement(root, "source")
    _text(source, "sourceImage", "")
    _text(source, "sourceAnnotation", "Datumaro")
    size = ET.SubElement(root, "imagesize")
    _text(size, "nrows", str(frame.height))
    _text(size, "ncols", str(frame.width))
    groups: dict[int, list[tuple[int, ET.Element]]] = {}
    for obj_id, shape in enumerate(shapes):
        parts = _object(root, obj_id, shape)
        if shape.group:
            groups.setdefault(shape.group, []).append((obj_id, parts))
        else:
            _text(parts, "hasparts", "")
            _text(parts, "ispartof", "")
    for members in groups.values():
        _link_parts(members)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"


def _object(root: ET.Element, obj_id: int, shape: Shape) -> ET.Element:
    """One `object`; answers its (still empty) `parts` element, filled once groups are known."""
    element = ET.SubElement(root, "object")
    _text(element, "name", shape.label.name)
    _text(element, "deleted", "0")
    _text(element, "verified", "0")
    _text(element, "occluded", "yes" if shape.occluded else "no")
    _text(element, "date", "")
    _text(element, "id", str(obj_id))
    parts = ET.SubElement(element, "parts")
    if shape.type == "rectangle":
        _text(element, "type", "bounding_box")
        x0, y0, x1, y1 = shape.points[:4]
        corners = [x0, y0, x1, y0, x1, y1, x0, y1]
    else:
        corners = shape.points
    polygon = ET.SubElement(element, "polygon")
    for x, y in zip(corners[0::2], corners[1::2], strict=False):
        point = ET.SubElement(polygon, "pt")
        _text(point, "x", f"{x:.2f}")
        _text(point, "y", f"{y:.2f}")
    _text(polygon, "username", "")
    _text(element, "attributes", ", ".join(f"{k}={v}" for k, v in _attributes(shape).items()))
    return parts


def _attributes(shape: Shape) -> dict[str, Any]:
    """Datumaro's view of the values: every attribute of the label, typed, defaults filled."""
    values: dict[str, Any] = {a.name: typed_value(a, shape.attributes.get(a.name, a.default_value))
                              for a in shape.label.attributes}
    if shape.track_id is not None:
        values["track_id"] = shape.track_id
        values["keyframe"] = shape.keyframe
    return values


def _link_parts(members: list[tuple[int, ET.Element]]) -> None:
    """The first object of a group lists the others as its parts; they point back at it."""
    leader, leader_parts = members[0]
    _text(leader_parts, "hasparts", ",".join(str(obj_id) for obj_id, _ in members[1:]))
    _text(leader_parts, "ispartof", "")
    for _, parts in members[1:]:
        _text(parts, "hasparts", "")
        _text(parts, "ispartof", str(leader))


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


# ---------------------------------------------------------------- import


@dataclass
class _Object:
    """An object of one document, kept until the document's groups are known."""

    id: int
    label: Label | None  # None for deleted objects
    shapes: list[tuple[str, list[float]]]  # (rectangle | polygon, points)
    attributes: list[tuple[str, str]]
    occluded: bool
    deleted: bool
    children: list[int] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)


@dataclass
class _Document:
    name: str
    source: ImportFile
    frame: Frame
    members: frozenset[str]  # of the archive, to find masks


def parse(source: ImportFile, ctx: ImportContext) -> None:
    next_group, members = 1, frozenset(source.names())
    for name, stream in source.documents(".xml"):
        root = parse_xml(stream, name)
        if root.tag != "annotation":
            raise FormatError(f"{name}: not a LabelMe annotation (the root element is <{root.tag}>)")
        document = _Document(name, source, _frame(ctx, name, root), members)
        objects = [_read_object(ctx, document, position, element)
                   for position, element in enumerate(root.iter("object"))]
        groups = _groups(objects)
        for obj in objects:
            if obj.label is None:
                continue
            group = next_group + groups[obj.id] - 1 if obj.id in groups else 0
            for kind, points in obj.shapes:
                ctx.add_shape(kind, document.frame, obj.label, points, occluded=obj.occluded, group=group,
                              attributes=ctx.attributes(obj.label, obj.attributes))
        next_group += len(set(groups.values()))


def _frame(ctx: ImportContext, name: str, root: ET.Element) -> Frame:
    """The image the document describes: by its `filename`, else by the document's own name."""
    filename = (root.findtext("filename") or "").strip()
    for candidate in (filename, name):
        frame = ctx.frame_by_name(candidate) if candidate else None
        if frame is not None:
            return frame
    raise FormatError(f"{name}: no frame of the task matches the image '{filename or name}'")


def _read_object(ctx: ImportContext, document: _Document, position: int, element: ET.Element) -> _Object:
    """An object; a deleted one keeps only its id and parts (it still links a group's tree)."""
    where = f"{document.name}: object {position + 1}"
    obj = _Object(_integer(element.findtext("id"), f"{where}: <id>", position), None, [], [],
                  (element.findtext("occluded") or "").strip().lower() == "yes",
                  _integer(element.findtext("deleted"), f"{where}: <deleted>", 0) != 0)
    parts = element.find("parts")
    if parts is not None:
        obj.children = _ids(parts.findtext("hasparts"), f"{where}: <hasparts>")
        obj.parents = _ids(parts.findtext("ispartof"), f"{where}: <ispartof>")
    if obj.deleted:
        return obj
    label_name = (element.findtext("name") or "").strip()
    if not label_name:
        raise FormatError(f"{where}: <name> is empty")
    obj.label = ctx.label(label_name)
    obj.attributes = _parse_attributes(element.findtext("attributes") or "")
    polygon, segm = element.find("polygon"), element.find("segm")
    if polygon is not None:
        obj.shapes.append(_polygon(polygon, (element.findtext("type") or "").strip(), where))
    elif segm is not None:
        obj.shapes.extend(("polygon", p) for p in _mask(document, segm, where))
    return obj


def _polygon(element: ET.Element, kind: str, where: str) -> tuple[str, list[float]]:
    points: list[float] = []
    for index, point in enumerate(element.iter("pt"), start=1):
        points.append(number(point.findtext("x"), f"{where}: <pt> {index} <x>"))
        points.append(number(point.findtext("y"), f"{where}: <pt> {index} <y>"))
    if kind == "bounding_box":
        if len(points) < 4:
            raise FormatError(f"{where}: a bounding box needs at least 2 points, it has {len(points) // 2}")
        xs, ys = points[0::2], points[1::2]
        return "rectangle", [min(xs), min(ys), max(xs), max(ys)]
    if len(points) < 6:
        raise FormatError(f"{where}: a polygon needs at least 3 points, it has {len(points) // 2}")
    return "polygon", points


def _mask(document: _Document, segm: ET.Element, where: str) -> list[list[float]]:
    """The polygons of a mask image (`Masks/<file>` beside the document); a mask smaller than
    the image is placed at its `box` (xmin, ymin)."""
    mask_name = (segm.findtext("mask") or "").strip()
    if not mask_name:
        raise FormatError(f"{where}: <segm> has no <mask>")
    member = posixpath.join(posixpath.dirname(document.name), MASKS_DIR, mask_name)
    if member not in document.members:
        raise FormatError(f"{where}: the mask {member} is not in the archive")
    pixels = _mask_pixels(document.source.read_member(member), member)
    dx = dy = 0.0
    box = segm.find("box")
    if pixels.shape != (document.frame.height, document.frame.width) and box is not None:
        dx = number(box.findtext("xmin"), f"{where}: <box> <xmin>")
        dy = number(box.findtext("ymin"), f"{where}: <box> <ymin>")
    from shared.formats.masks import mask_to_polygons, shift_polygon  # loaded only for documents with masks

    return [shift_polygon(polygon, dx, dy) for polygon in mask_to_polygons(pixels)]


def _mask_pixels(data: bytes, name: str) -> Any:
    """A mask image as booleans: any non-zero colour that is not fully transparent."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.mode in ("1", "L", "I", "I;16", "F"):
                return np.asarray(image) != 0
            colour = np.asarray(image.convert("RGB")).any(axis=2)
            if "A" in image.getbands() or "transparency" in image.info:
                colour &= np.asarray(image.convert("RGBA").getchannel("A")) > 0
            return colour
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise FormatError(f"{name}: not a readable mask image ({error})") from None


def _groups(objects: list[_Object]) -> dict[int, int]:
    """Object id -> group number (1..) from the `parts` trees, as Datumaro reads them: each
    object with parts and no parent starts a group that its descendants join. Groups of one
    shape (deleted objects left out; a mask counts each of its polygons) are dropped."""
    by_id = {obj.id: obj for obj in objects}
    assigned: dict[int, int] = {}
    roots = [obj for obj in objects if obj.children and not obj.parents]
    for group, root in enumerate(roots, start=1):
        pending = [root.id]
        while pending:
            obj_id = pending.pop()
            if obj_id in assigned or obj_id not in by_id:
                continue
            assigned[obj_id] = group
            pending.extend(by_id[obj_id].children)
    sizes: dict[int, int] = {}
    for obj_id, group in assigned.items():
        if not by_id[obj_id].deleted:
            sizes[group] = sizes.get(group, 0) + len(by_id[obj_id].shapes)
    kept = sorted(group for group, size in sizes.items() if size > 1)
    renumbered = {group: index for index, group in enumerate(kept, start=1)}
    return {obj_id: renumbered[group] for obj_id, group in assigned.items() if group in renumbered}


def _parse_attributes(text: str) -> list[tuple[str, str]]:
    """`k=v, k2=v2`; a bare name means true. Values stay text (number attributes keep theirs)."""
    pairs = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        pairs.append((name.strip(), value.strip() if sep else "true"))
    return pairs


def _integer(text: str | None, what: str, default: int) -> int:
    if text is None or not text.strip():
        return default
    try:
        return int(text.strip())
    except ValueError:
        raise FormatError(f"{what}: '{text.strip()}' is not an integer") from None


def _ids(text: str | None, what: str) -> list[int]:
    return [_integer(part, what, 0) for part in (text or "").split(",") if part.strip()]

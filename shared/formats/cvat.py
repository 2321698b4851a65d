"""CVAT XML 1.1 (spec §10.6): the writer both CVAT exporters share, and the importer `CVAT 1.1`,
which reads either layout (images or video) from a bare XML file or every XML file of a ZIP.

The writer reproduces the original's output (xml.sax XMLGenerator with manual indentation):
every element on its own line, 2 spaces per level, no self-closing tags, no final newline.
"""

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from shared.formats.files import ImportFile, number, xml_elements
from shared.formats.model import ExportContext, FormatError, Frame, ImportContext, Label, Shape

CUBOID_NAMES = ("xtl1", "ytl1", "xbl1", "ybl1", "xtr1", "ytr1", "xbr1", "ybr1",
                "xtl2", "ytl2", "xbl2", "ybl2", "xtr2", "ytr2", "xbr2", "ybr2")
BOX_NAMES = ("xtl", "ytl", "xbr", "ybr")
SHAPE_TAGS = {"box": "rectangle", "polygon": "polygon", "polyline": "polyline", "points": "points",
              "cuboid": "cuboid"}
ELEMENT_OF = {kind: tag for tag, kind in SHAPE_TAGS.items()}
_FLUSH_CHARS = 1 << 16
_SPECIAL = re.compile("[&<>\"'\n\r\t]")

Attributes = Iterable[tuple[str, str]]
type MetaNode = str | list[tuple[str, MetaNode]]


# ---------------------------------------------------------------- writing


class XmlWriter:
    """Buffered writer of the original's layout into a binary stream (an archive member)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.level = 0
        self.parts: list[str] = []
        self.size = 0

    def _put(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= _FLUSH_CHARS:
            self.flush()

    def flush(self) -> None:
        self.stream.write("".join(self.parts).encode("utf-8"))
        self.parts.clear()
        self.size = 0

    def begin(self, root: str) -> None:
        """The XML declaration and the root element, which is not indented."""
        self._put(f'<?xml version="1.0" encoding="utf-8"?>\n<{root}>')
        self.level = 1

    def end(self, root: str) -> None:
        self.close(root)
        self.flush()

    def _start(self, tag: str, attributes: Attributes) -> str:
        return f"\n{'  ' * self.level}<{tag}{''.join(f' {k}={_quote(v)}' for k, v in attributes)}>"

    def open(self, tag: str, attributes: Attributes = ()) -> None:
        self._put(self._start(tag, attributes))
        self.level += 1

    def close(self, tag: str) -> None:
        self.level -= 1
        self._put(f"\n{'  ' * self.level}</{tag}>")

    def leaf(self, tag: str, text: str, attributes: Attributes = ()) -> None:
        self._put(f"{self._start(tag, attributes)}{escape(text)}</{tag}>")

    def tree(self, nodes: list[tuple[str, MetaNode]]) -> None:
        for tag, value in nodes:
            if isinstance(value, str):
                self.leaf(tag, value)
            else:
                self.open(tag)
                self.tree(value)
                self.close(tag)


def _quote(value: str) -> str:
    """quoteattr (as XMLGenerator writes attributes), skipped for the many plain values."""
    return quoteattr(value) if _SPECIAL.search(value) else f'"{value}"'


def write_head(xml: XmlWriter, ctx: ExportContext) -> None:
    """XML declaration, <annotations>, <version> and <meta>."""
    xml.begin("annotations")
    xml.leaf("version", "1.1")
    xml.tree([("meta", meta_tree(ctx))])


def write_tail(xml: XmlWriter) -> None:
    xml.end("annotations")


def meta_tree(ctx: ExportContext) -> list[tuple[str, MetaNode]]:
    task = ctx.task
    task_nodes: list[tuple[str, MetaNode]] = [
        ("id", str(task.id)), ("name", task.name), ("size", str(task.size)), ("mode", task.mode),
        ("overlap", str(task.overlap)), ("bugtracker", task.bug_tracker), ("created", task.created),
        ("updated", task.updated), ("start_frame", str(task.start_frame)), ("stop_frame", str(task.stop_frame)),
        ("frame_filter", task.frame_filter), ("z_order", str(task.z_order)),
        ("labels", [("label", _label_tree(label)) for label in ctx.labels]),
        ("segments", [("segment", [("id", str(s["id"])), ("start", str(s["start"])), ("stop", str(s["stop"])),
                                   ("url", str(s["url"]))]) for s in task.segments]),
    ]
    for role, person in (("owner", task.owner), ("assignee", task.assignee)):
        task_nodes.append((role, [("username", person["username"]), ("email", person.get("email") or "")]
                           if person else ""))
    if ctx.is_video:
        width, height = task.original_size or ((ctx.frames[0].width, ctx.frames[0].height) if ctx.frames else (0, 0))
        task_nodes.append(("original_size", [("width", str(width)), ("height", str(height))]))
    nodes: list[tuple[str, MetaNode]] = [("task", task_nodes), ("dumped", task.dumped)]
    if ctx.is_video:
        nodes.append(("source", task.source or ""))
    return nodes


def _label_tree(label: Label) -> list[tuple[str, MetaNode]]:
    return [("name", label.name), ("color", label.color), ("attributes", [
        ("attribute", [("name", a.name), ("mutable", str(a.mutable)), ("input_type", a.input_type),
                       ("default_value", a.default_value), ("values", "\n".join(a.values))])
        for a in label.attributes])]


def coordinates(shape: Shape) -> list[tuple[str, str]]:
    """The element attributes holding a shape's points, in the original's order."""
    if shape.type == "rectangle":
        return _named(shape, BOX_NAMES)
    if shape.type == "cuboid":
        return _named(shape, CUBOID_NAMES)
    count = len(shape.points) // 2
    return [("points", ("%.2f,%.2f;" * count % tuple(shape.points[:2 * count]))[:-1])]


def _named(shape: Shape, names: tuple[str, ...]) -> list[tuple[str, str]]:
    if len(shape.points) != len(names):
        raise FormatError(f"A {shape.type} at frame {shape.frame} has {len(shape.points)} coordinates, "
                          f"not {len(names)}")
    return [(name, f"{value:.2f}") for name, value in zip(names, shape.points, strict=True)]


def write_shape(xml: XmlWriter, shape: Shape, attributes: list[tuple[str, str]]) -> None:
    """A shape element with its <attribute> children."""
    tag = ELEMENT_OF.get(shape.type)
    if tag is None:
        raise FormatError(f"Unknown shape type '{shape.type}' at frame {shape.frame}")
    xml.open(tag, attributes)
    for name, value in shape.attributes.items():
        xml.leaf("attribute", value, [("name", name)])
    xml.close(tag)


def absolute_frame(ctx: ExportContext, index: int) -> int:
    return ctx.task.start_frame + index * ctx.task.step


def image_path(ctx: ExportContext, frame: Frame) -> str:
    """Dataset images of both CVAT layouts (spec §10.5): video frames are PNG files."""
    return f"images/{frame.name}" if frame.extension else f"images/{frame.name}.png"


# ---------------------------------------------------------------- reading


@dataclass
class _Open:
    """The <image> or <track> being read, and the shape or tag inside it."""

    frame: Frame | None = None  # of the open <image>
    track: Element | None = None
    track_label: Label | None = None
    keyframes: list[dict[str, Any]] = field(default_factory=list)
    attributes: list[tuple[str, str]] | None = None  # of the open shape or tag
    meta_depth: int = 0


def parse(source: ImportFile, ctx: ImportContext) -> None:
    """Every document of the upload: a bare XML file, or each *.xml member of a ZIP."""
    documents = 0
    for name, stream in source.documents(".xml"):
        _parse_document(stream, name, ctx)
        documents += 1
    if not documents:
        raise FormatError(f"{source.name}: the archive holds no .xml file")


def _parse_document(stream: IO[bytes], name: str, ctx: ImportContext) -> None:
    state = _Open()
    root: Element | None = None
    for event, element in xml_elements(stream, name):
        if root is None:
            root = element
            continue
        if element.tag == "meta" or state.meta_depth:
            state.meta_depth += 1 if event == "start" else -1
            continue
        if event == "start":
            _start(element, state, ctx, name)
        else:
            _end(element, state, ctx, name)
            if element.tag in ("image", "track", "version") and root is not None:
                root.clear()
    if state.meta_depth:
        raise FormatError(f"{name}: <meta> is not closed")


def _start(element: Element, state: _Open, ctx: ImportContext, name: str) -> None:
    tag = element.tag
    if tag == "image":
        state.frame = _image_frame(element, ctx, name)
    elif tag == "track":
        state.track, state.keyframes = element, []
        state.track_label = ctx.label(_required(element, "label", name))
    elif (tag in SHAPE_TAGS and (state.track is not None or state.frame is not None)) or (
            tag == "tag" and state.frame is not None):
        state.attributes = []


def _end(element: Element, state: _Open, ctx: ImportContext, name: str) -> None:
    tag = element.tag
    if tag == "attribute" and state.attributes is not None:
        state.attributes.append((_required(element, "name", name), element.text or ""))
    elif tag in SHAPE_TAGS and state.attributes is not None:
        if state.track is not None:
            _track_shape(element, state, ctx, name)
        elif state.frame is not None:
            _image_shape(element, state.frame, state.attributes, ctx, name)
        state.attributes = None
    elif tag == "tag" and state.attributes is not None and state.frame is not None:
        label = ctx.label(_required(element, "label", name))
        ctx.add_tag(state.frame, label, ctx.attributes(label, state.attributes),
                    group=_integer(element, "group_id", name, 0), source=element.get("source") or "manual")
        state.attributes = None
    elif tag == "image":
        state.frame = None
    elif tag == "track":
        _close_track(state, ctx, name)
    else:
        return
    element.clear()


def _image_frame(element: Element, ctx: ImportContext, name: str) -> Frame:
    """By name, else by id (an absolute frame number)."""
    frame_number = _integer(element, "id", name, None) if "id" in element.attrib else None
    try:
        return ctx.match_frame(element.get("name"), frame_number)
    except FormatError as error:
        raise FormatError(f"{name}: {_describe(element)}: {error}") from None


def _image_shape(element: Element, frame: Frame, attributes: list[tuple[str, str]], ctx: ImportContext,
                 name: str) -> None:
    label = ctx.label(_required(element, "label", name))
    ctx.add_shape(SHAPE_TAGS[element.tag], frame, label, _points(element, name),
                  attributes=ctx.attributes(label, attributes), occluded=_flag(element, "occluded", name),
                  z_order=_integer(element, "z_order", name, 0), group=_integer(element, "group_id", name, 0),
                  source=element.get("source") or "manual")


def _track_shape(element: Element, state: _Open, ctx: ImportContext, name: str) -> None:
    """A keyframe is kept with all its attributes (split at the track's end); other positions
    are interpolations the import recomputes."""
    outside, occluded = _flag(element, "outside", name), _flag(element, "occluded", name)
    _required(element, "frame", name)
    if not _flag(element, "keyframe", name):
        return
    frame = _absolute(element, ctx, name)
    state.keyframes.append({"type": SHAPE_TAGS[element.tag], "frame": frame.index, "points": _points(element, name),
                            "occluded": occluded, "outside": outside, "z_order": _integer(element, "z_order", name, 0),
                            "values": list(state.attributes or [])})


def _close_track(state: _Open, ctx: ImportContext, name: str) -> None:
    """Immutable values found on the keyframes become the track's (later keyframes win)."""
    assert state.track is not None and state.track_label is not None
    label, track = state.track_label, state.track
    immutable: dict[str, str] = {}
    for shape in state.keyframes:
        values = shape.pop("values")
        immutable.update((spec_name, value) for spec_name, value in values
                         if (spec := label.spec(spec_name)) is not None and not spec.mutable)
        shape["attributes"] = ctx.attributes(label, values, mutable=True)
    ctx.add_track(label, state.keyframes, attributes=ctx.attributes(label, immutable.items(), mutable=False),
                  group=_integer(track, "group_id", name, 0), source=track.get("source") or "manual")
    state.track, state.track_label, state.keyframes = None, None, []


def _absolute(element: Element, ctx: ImportContext, name: str) -> Frame:
    value = _integer(element, "frame", name, None)
    try:
        return ctx.frame_by_number(value)
    except FormatError as error:
        raise FormatError(f"{name}: {_describe(element)}: {error}") from None


def _points(element: Element, name: str) -> list[float]:
    if element.tag in ("box", "cuboid"):
        names = BOX_NAMES if element.tag == "box" else CUBOID_NAMES
        try:
            coordinates = [float(element.attrib[key]) for key in names]
            if all(map(math.isfinite, coordinates)):
                return coordinates
        except (KeyError, ValueError):
            pass
        # the slow way, to name what is wrong
        return [_coordinate(_required(element, key, name), f"{name}: {_describe(element)}: {key}") for key in names]
    text = _required(element, "points", name)
    values = text.replace(";", ",").split(",")
    if len(values) == 2 * (text.count(";") + 1):
        try:
            result = [float(value) for value in values]
        except ValueError:
            pass
        else:
            if all(map(math.isfinite, result)):
                return result
    return _checked_points(text, f"{name}: {_describe(element)}: points")


def _checked_points(text: str, what: str) -> list[float]:
    """The slow way through "x,y;x,y", to name what is wrong."""
    result: list[float] = []
    for pair in text.split(";"):
        xy = pair.split(",")
        if len(xy) != 2:
            raise FormatError(f"{what}: '{pair}' is not a pair x,y")
        result += [_coordinate(xy[0], what), _coordinate(xy[1], what)]
    return result


def _coordinate(text: str, what: str) -> float:
    """A finite number: nan and inf would pass float() but not LabeledData's JSON."""
    value = number(text, what)
    if not math.isfinite(value):
        raise FormatError(f"{what}: '{text}' is not a finite number")
    return value


def _required(element: Element, key: str, name: str) -> str:
    value = element.get(key)
    if value is None:
        raise FormatError(f"{name}: {_describe(element)}: the attribute '{key}' is missing")
    return value


def _flag(element: Element, key: str, name: str) -> bool:
    return _required(element, key, name) == "1"


def _integer(element: Element, key: str, name: str, default: int | None) -> int:
    value = element.get(key)
    if value is None:
        if default is None:
            raise FormatError(f"{name}: {_describe(element)}: the attribute '{key}' is missing")
        return default
    try:
        return int(value)
    except ValueError:
        raise FormatError(f"{name}: {_describe(element)}: {key}: '{value}' is not an integer") from None


def _describe(element: Element) -> str:
    """The element as it starts in the file, enough to find it without a line number
    (iterparse reads ahead, so its parser position is not the element's line)."""
    keys = [k for k in ("id", "name", "label", "frame") if k in element.attrib]
    return f"<{element.tag}{''.join(f' {k}={quoteattr(element.attrib[k])}' for k in keys)}>"


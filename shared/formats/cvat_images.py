"""Exporter "CVAT for images 1.1" (spec §10.5, §10.6): annotations.xml with one <image> per task
frame; track positions become plain shapes of their frames (outside ones skipped, as later CVAT
versions do), so tracks lose their identity in this layout.

The document is written frame by frame: tracks are flattened lazily and merged by frame.
"""

import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterator
from operator import attrgetter

from shared.formats.cvat import XmlWriter, coordinates, image_path, write_head, write_shape, write_tail
from shared.formats.files import Archive
from shared.formats.model import ExportContext, Shape, Tag
from shared.formats.tracks import iter_flatten

__all__ = ["export", "image_path"]


def export(ctx: ExportContext, archive: Archive) -> None:
    with archive.open("annotations.xml") as stream:
        xml = XmlWriter(stream)
        write_head(xml, ctx)
        plain: dict[int, list[Shape]] = defaultdict(list)
        for shape in ctx.shapes:
            plain[shape.frame].append(shape)
        tags = ctx.tags_by_frame()
        for frame, tracked in zip(ctx.frames, _track_shapes_per_frame(ctx), strict=True):
            xml.open("image", [("id", str(frame.number)), ("name", frame.name), ("width", str(frame.width)),
                               ("height", str(frame.height))])
            for shape in sorted(plain.get(frame.index, []) + tracked, key=attrgetter("z_order")):
                write_shape(xml, shape, _shape_attributes(ctx, shape))
            for tag in tags.get(frame.index, []):
                _write_tag(xml, tag)
            xml.close("image")
        write_tail(xml)


def _track_shapes_per_frame(ctx: ExportContext) -> Iterator[list[Shape]]:
    """For each task frame in order, the visible track positions there (in track order)."""
    last = len(ctx.frames) - 1
    merged = heapq.merge(*(iter_flatten(track, last) for track in ctx.tracks), key=attrgetter("frame"))
    groups = itertools.groupby(merged, key=attrgetter("frame"))
    current = next(groups, None)
    for frame in ctx.frames:
        while current is not None and current[0] < frame.index:
            current = next(groups, None)
        if current is not None and current[0] == frame.index:
            yield [shape for shape in current[1] if not shape.outside]
            current = next(groups, None)
        else:
            yield []


def _shape_attributes(ctx: ExportContext, shape: Shape) -> list[tuple[str, str]]:
    result = [("label", shape.label.name), ("occluded", str(int(shape.occluded))), ("source", shape.source),
              *coordinates(shape)]
    if ctx.task.z_order:
        result.append(("z_order", str(shape.z_order)))
    if shape.group:
        result.append(("group_id", str(shape.group)))
    return result


def _write_tag(xml: XmlWriter, tag: Tag) -> None:
    attributes = [("label", tag.label.name), ("source", tag.source)]
    if tag.group:
        attributes.append(("group_id", str(tag.group)))
    xml.open("tag", attributes)
    for name, value in tag.attributes.items():
        xml.leaf("attribute", value, [("name", name)])
    xml.close("tag")

"""Exporter "CVAT for video 1.1" (spec §10.5, §10.6): annotations.xml with one <track> per track
(every flattened frame, interpolated ones with keyframe="0"), then each plain shape as a track of
its own; frames absolute; tags are not exported.
"""

from collections.abc import Iterable
from dataclasses import replace

from shared.formats.cvat import (
    XmlWriter,
    absolute_frame,
    coordinates,
    image_path,
    write_head,
    write_shape,
    write_tail,
)
from shared.formats.files import Archive
from shared.formats.model import ExportContext, Shape
from shared.formats.tracks import iter_flatten

__all__ = ["export", "image_path"]


def export(ctx: ExportContext, archive: Archive) -> None:
    with archive.open("annotations.xml") as stream:
        xml = XmlWriter(stream)
        write_head(xml, ctx)
        last = len(ctx.frames) - 1
        for track in ctx.tracks:
            _write_track(xml, ctx, track.id, track.label.name, track.source, track.group, iter_flatten(track, last))
        for number, shape in enumerate(ctx.shapes, start=len(ctx.tracks)):
            _write_track(xml, ctx, number, shape.label.name, shape.source, shape.group, _as_track(ctx, shape))
        write_tail(xml)


def _as_track(ctx: ExportContext, shape: Shape) -> list[Shape]:
    """A keyframe at the shape's frame, closed by an outside keyframe one step later when that
    frame is before the task's stop frame (as the original does)."""
    keyframe = replace(shape, outside=False, keyframe=True)
    if absolute_frame(ctx, shape.frame) + ctx.task.step < ctx.task.stop_frame:
        return [keyframe, replace(shape, frame=shape.frame + 1, outside=True, keyframe=True)]
    return [keyframe]


def _write_track(xml: XmlWriter, ctx: ExportContext, number: int, label: str, source: str, group: int,
                 shapes: Iterable[Shape]) -> None:
    attributes = [("id", str(number)), ("label", label), ("source", source)]
    if group:
        attributes.append(("group_id", str(group)))
    xml.open("track", attributes)
    for shape in shapes:
        write_shape(xml, shape, _shape_attributes(ctx, shape))
    xml.close("track")


def _shape_attributes(ctx: ExportContext, shape: Shape) -> list[tuple[str, str]]:
    result = [("frame", str(absolute_frame(ctx, shape.frame))), ("outside", str(int(shape.outside))),
              ("occluded", str(int(shape.occluded))), ("keyframe", str(int(shape.keyframe))), *coordinates(shape)]
    if ctx.task.z_order:
        result.append(("z_order", str(shape.z_order)))
    return result

"""COCO 1.0 (spec §10.5): instances only, as the original wrote and read them through Datumaro.

Export: `annotations/instances_default.json` (and, for datasets, `images/<item id>.<ext>`).
Every frame is an image (ids 1..); rectangles and polygons become instances, one per shape or
one per non-zero group; annotation ids run 1.. over the file. A polygon's `area` is the pixel
count pycocotools gets from the segmentation, a lone rectangle's is w*h. A leader whose typed
`is_crowd` attribute is true makes its instance a crowd mask (uncompressed RLE), as Datumaro's
"guess" mode did.

Import: a bare JSON document or a ZIP whose `instances_<subset>.json` members (or, failing
those, any .json members) are read. bbox → rectangle, each polygon → polygon, an RLE mask
(crowd) → polygons of its outlines (our issue; the original dropped masks); the parts of one
annotation form a group when there is more than one.
"""

import json
import posixpath
from collections.abc import Iterator
from contextlib import suppress
from itertools import groupby
from typing import IO, Any

import numpy as np

from shared.formats.files import Archive, ImportFile, number
from shared.formats.masks import mask_to_polygons, pixel_count, pixel_counts, rasterize, rle_decode, rle_encode
from shared.formats.model import ExportContext, FormatError, Frame, ImportContext, Label, Shape, typed_value

DOCUMENT = "annotations/instances_default.json"
DEFAULT_IMAGE_EXT = ".jpg"
INSTANCE_TYPES = ("rectangle", "polygon")


def image_path(ctx: ExportContext, frame: Frame) -> str:
    return f"images/{file_name(frame)}"


def file_name(frame: Frame) -> str:
    """The item id and the frame's extension (video frames have none: `.jpg`)."""
    return frame.stem + (frame.extension or DEFAULT_IMAGE_EXT)


# ---------------------------------------------------------------- export


def export(ctx: ExportContext, archive: Archive) -> None:
    archive.write(DOCUMENT, json.dumps(document(ctx)))


def document(ctx: ExportContext) -> dict[str, Any]:
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    shapes = ctx.shapes_by_frame(tracks=True, outside=False)
    for image_id, frame in enumerate(ctx.frames, start=1):
        images.append({"id": image_id, "width": frame.width, "height": frame.height, "file_name": file_name(frame),
                       "license": 0, "flickr_url": "", "coco_url": "", "date_captured": 0})
        # the original ordered a frame's shapes by z_order (plain shapes before track shapes)
        ordered = sorted(shapes.get(frame.index, []), key=lambda s: s.z_order)
        groups = instances(ordered)
        alone = [group[0] for group in groups if len(group) == 1 and group[0].type == "polygon"]
        areas = dict(zip(map(id, alone), pixel_counts([s.points for s in alone], frame.width, frame.height),
                         strict=True))
        for instance in groups:
            annotations.append(_annotation(ctx, instance, frame, image_id, len(annotations) + 1, areas))
    return {
        "licenses": [{"name": "", "id": 0, "url": ""}],
        "info": {"contributor": "", "date_created": "", "description": "", "url": "", "version": "", "year": ""},
        "categories": [{"id": i + 1, "name": label.name, "supercategory": ""} for i, label in enumerate(ctx.labels)],
        "images": images,
        "annotations": annotations,
    }


def instances(shapes: list[Shape]) -> list[list[Shape]]:
    """Rectangles and polygons by instance: each ungrouped shape alone, first, then one instance
    per group in group order (Datumaro's find_instances)."""
    parts = sorted((s for s in shapes if s.type in INSTANCE_TYPES), key=lambda s: s.group or 0)
    result: list[list[Shape]] = []
    for group, members in groupby(parts, key=lambda s: s.group or 0):
        if group:
            result.append(list(members))
        else:
            result.extend([s] for s in members)
    return result


def datumaro_attributes(shape: Shape) -> dict[str, Any]:
    """The attributes Datumaro gave a shape: the label's attributes typed, defaults filled, in
    the label's order, then occluded, and for track shapes track_id and keyframe."""
    values: dict[str, Any] = {}
    for spec in shape.label.attributes:
        values[spec.name] = typed_value(spec, shape.attributes.get(spec.name, spec.default_value))
    values["occluded"] = shape.occluded
    if shape.track_id is not None:
        values["track_id"] = shape.track_id
        values["keyframe"] = shape.keyframe
    return values


def _annotation(ctx: ExportContext, instance: list[Shape], frame: Frame, image_id: int, annotation_id: int,
                areas: dict[int, int]) -> dict[str, Any]:
    """`areas`: pixel counts of the frame's lone polygons, computed together (by id())."""
    boxes = [s for s in instance if s.type == "rectangle"]
    polygons = [s for s in instance if s.type == "polygon"]
    parts = boxes + polygons
    leader = parts[0] if len(parts) == 1 else max(parts, key=_area)  # the first of the largest
    attributes = datumaro_attributes(leader)
    bbox = _union_bbox(parts)
    outlines = [[float(p) for p in s.points] for s in polygons]
    crowd = bool(polygons) and _is_true(attributes.get("is_crowd", False))
    segmentation: list[list[float]] | dict[str, list[int]] = outlines
    if crowd:
        mask = rasterize(outlines, frame.width, frame.height)
        segmentation, area = rle_encode(mask), float(mask.sum())
    elif polygons:
        area = float(areas[id(leader)] if len(parts) == 1 else pixel_count(outlines, frame.width, frame.height))
    else:
        area = bbox[2] * bbox[3]
    element: dict[str, Any] = {"id": annotation_id, "image_id": image_id,
                               "category_id": ctx.label_index(leader.label) + 1, "segmentation": segmentation,
                               "area": area, "bbox": bbox, "iscrowd": int(crowd)}
    if "score" in attributes:
        with suppress(TypeError, ValueError):  # Datumaro logged a bad score and went on
            element["score"] = float(attributes["score"])
    element["attributes"] = {k: v for k, v in attributes.items() if k not in ("is_crowd", "score")}
    return element


def _is_true(value: Any) -> bool:
    """Datumaro's `True == value`: true for True, 1 and 1.0, false for any text."""
    return isinstance(value, bool | int | float) and value == 1


def _bbox(shape: Shape) -> tuple[float, float, float, float]:
    xs, ys = shape.points[0::2], shape.points[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _union_bbox(shapes: list[Shape]) -> list[float]:
    boxes = [_bbox(s) for s in shapes]
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


def _area(shape: Shape) -> float:
    """What Datumaro compared to find a group's leader: w*h for a box, the pixel count of a
    polygon on a canvas reaching its far corner."""
    x0, y0, x1, y1 = _bbox(shape)
    if shape.type == "rectangle":
        return (x1 - x0) * (y1 - y0)
    return float(pixel_count([shape.points], max(int(x1), 0), max(int(y1), 0)))


# ---------------------------------------------------------------- import


def parse(source: ImportFile, ctx: ImportContext) -> None:
    for name, stream in _documents(source):
        _Document(name, _load(name, stream), ctx).parse()


def _documents(source: ImportFile) -> Iterator[tuple[str, IO[bytes]]]:
    """The bare document, or the archive's instances files (any JSON when it has none)."""
    if not source.is_zip:
        yield from source.documents()
        return
    candidates = [n for n in source.names() if n.lower().endswith(".json")]
    chosen = [n for n in candidates if posixpath.basename(n).lower().startswith("instances_")] or candidates
    if not chosen:
        raise FormatError(f"{source.name}: the archive has no COCO document (annotations/instances_<subset>.json)")
    for name in chosen:
        with source.open_member(name) as stream:
            yield name, stream


def _load(name: str, stream: IO[bytes]) -> dict[str, Any]:
    try:
        data = json.load(stream)
    except (ValueError, UnicodeDecodeError) as error:
        raise FormatError(f"{name}: not a JSON document ({error})") from None
    if not isinstance(data, dict):
        raise FormatError(f"{name}: not a COCO document: the top level is not an object")
    for key in ("categories", "images", "annotations"):
        if not isinstance(data.get(key), list):
            raise FormatError(f"{name}: not a COCO instances document: '{key}' is missing or not a list")
    return data


class _Document:
    """One COCO document mapped onto the task."""

    def __init__(self, name: str, data: dict[str, Any], ctx: ImportContext) -> None:
        self.name, self.data, self.ctx = name, data, ctx
        self.categories = self._categories()
        self.images = self._images()

    def parse(self) -> None:
        by_image: dict[Any, list[tuple[int, dict[str, Any]]]] = {image_id: [] for image_id in self.images}
        for position, annotation in enumerate(self.data["annotations"]):
            if not isinstance(annotation, dict):
                raise FormatError(f"{self.name}: annotations[{position}] is not an object")
            image_id = annotation.get("image_id")
            if not _is_key(image_id) or image_id not in by_image:
                raise FormatError(f"{self.name}: annotation {self._id(annotation, position)}: "
                                  f"image_id {image_id!r} is not in 'images'")
            by_image[image_id].append((position, annotation))
        for image_id, annotations in by_image.items():
            frame = self.images[image_id]
            parts = [part for position, annotation in annotations for part in self._parts(annotation, position)]
            add_grouped_shapes(self.ctx, frame, parts)

    # ---- tables

    def _categories(self) -> dict[Any, str]:
        categories = {}
        for position, category in enumerate(self.data["categories"]):
            valid = isinstance(category, dict) and _is_key(category.get("id")) and isinstance(category.get("name"), str)
            if not valid:
                raise FormatError(f"{self.name}: categories[{position}] needs an 'id' and a 'name'")
            categories[category["id"]] = category["name"]
        return categories

    def _images(self) -> dict[Any, Frame]:
        """Every image must be a task frame: by file name, else by a numeric name or its id as
        an absolute frame number."""
        images = {}
        for position, image in enumerate(self.data["images"]):
            if not isinstance(image, dict) or not _is_key(image.get("id")):
                raise FormatError(f"{self.name}: images[{position}] needs an 'id'")
            images[image["id"]] = self._frame(image)
        return images

    def _frame(self, image: dict[str, Any]) -> Frame:
        name = image.get("file_name")
        name = name if isinstance(name, str) else ""
        frame = self.ctx.frame_by_name(name) if name else None
        if frame is not None:
            return frame
        stem = posixpath.splitext(posixpath.basename(name.replace("\\", "/")))[0]
        for candidate in (stem, image["id"]):
            if isinstance(candidate, int) or (isinstance(candidate, str) and candidate.isdigit()):
                try:
                    return self.ctx.frame_by_number(int(candidate))
                except FormatError:
                    continue
        raise FormatError(f"{self.name}: image {image['id']!r} '{name}' matches no frame of the task")

    # ---- annotations

    @staticmethod
    def _id(annotation: dict[str, Any], position: int) -> str:
        return repr(annotation["id"]) if "id" in annotation else f"#{position}"

    def _parts(self, annotation: dict[str, Any], position: int) -> list[dict[str, Any]]:
        """The shapes of one annotation, with its label, attributes and source group."""
        what = f"{self.name}: annotation {self._id(annotation, position)}"
        category = annotation.get("category_id")
        if not _is_key(category) or category not in self.categories:
            raise FormatError(f"{what}: category_id {category!r} is not in 'categories'")
        label = self.ctx.label(self.categories[category])
        values = self._attribute_values(annotation)
        source = annotation.get("id") if _is_key(annotation.get("id")) else ("#", position)
        common = {"label": label, "values": values, "group": source}
        segmentation = annotation.get("segmentation")
        if isinstance(segmentation, dict):
            return [{**common, "type": "polygon", "points": p} for p in self._mask_polygons(segmentation, what)]
        polygons = [p for p in segmentation if p] if isinstance(segmentation, list) else []
        if polygons:
            return [{**common, "type": "polygon", "points": self._polygon(p, what, k)} for k, p in enumerate(polygons)]
        return [{**common, "type": "rectangle", "points": self._box(annotation.get("bbox"), what)}]

    @staticmethod
    def _attribute_values(annotation: dict[str, Any]) -> dict[str, Any]:
        """What Datumaro attached: the `attributes` object, `score`, and `is_crowd`."""
        values = dict(annotation["attributes"]) if isinstance(annotation.get("attributes"), dict) else {}
        if "score" in annotation:
            values["score"] = annotation["score"]
        values["is_crowd"] = bool(annotation.get("iscrowd", 0))
        return values

    @staticmethod
    def _polygon(points: Any, what: str, index: int) -> list[float]:
        if not isinstance(points, list) or len(points) % 2 or len(points) < 6:
            raise FormatError(f"{what}: segmentation polygon {index} is not a list of at least 3 x, y pairs")
        return [number(p, f"{what}: segmentation polygon {index}") for p in points]

    @staticmethod
    def _box(bbox: Any, what: str) -> list[float]:
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise FormatError(f"{what}: 'bbox' is not [x, y, width, height]")
        x, y, w, h = (number(v, f"{what}: bbox") for v in bbox)
        return [x, y, x + w, y + h]

    @staticmethod
    def _mask_polygons(rle: dict[str, Any], what: str) -> list[list[float]]:
        """An RLE mask (`size` [h, w], `counts` a list or the compressed string) as outlines."""
        size, counts = rle.get("size"), rle.get("counts")
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v >= 0 for v in size)):
            raise FormatError(f"{what}: segmentation 'size' is not [height, width]")
        if not isinstance(counts, list | str) or (isinstance(counts, list)
                                                  and not all(isinstance(c, int) for c in counts)):
            raise FormatError(f"{what}: segmentation 'counts' is neither a list of integers nor a string")
        try:
            mask = rle_decode(counts, size[0], size[1])
        except ValueError as error:
            raise FormatError(f"{what}: segmentation 'counts': {error}") from None
        return mask_to_polygons(np.asarray(mask))


def add_grouped_shapes(ctx: ImportContext, frame: Frame, parts: list[dict[str, Any]]) -> None:
    """Adds a frame's shapes (type, label, points, values: attributes by name, group: the id of
    the object they came from). Shapes sharing an object form a group only when there are
    several of them; such groups are numbered 1.. per frame in the order of the objects' ids
    (CVAT's import_dm_annotations)."""
    sizes: dict[Any, int] = {}
    for part in parts:
        sizes[part["group"]] = sizes.get(part["group"], 0) + 1
    grouped = [g for g, count in sizes.items() if count > 1 and g]
    numbers = {g: n for n, g in enumerate(sorted(grouped, key=_sort_key), start=1)}
    for part in parts:
        label: Label = part["label"]
        values: dict[str, Any] = part["values"]
        ctx.add_shape(part["type"], frame, label, part["points"], attributes=ctx.attributes(label, values.items()),
                      occluded=_is_true(values.get("occluded")), group=numbers.get(part["group"], 0))


def _is_key(value: Any) -> bool:
    """An id a document may use (anything else, say a list, names nothing)."""
    return isinstance(value, int | float | str)


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))

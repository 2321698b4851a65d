"""LabelMe 3.0 (export, import, round trip, masks) and Datumaro 1.0 (export) on small tasks:
documents read back with the standard XML and JSON parsers and checked value by value."""

import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from typing import Any

import numpy as np
import pytest
from PIL import Image

from shared.formats import datumaro, labelme
from shared.formats.files import ImportFile, memory_archive
from shared.formats.model import ExportContext, FormatError, ImportContext
from tests.unit.format_fixtures import export_context, frames, import_context, labels

CAR_ATTRIBUTES: list[dict[str, Any]] = [
    {"name": "color", "input_type": "select", "mutable": True, "default_value": "red", "values": ["red", "blue"]},
    {"name": "count", "input_type": "number", "default_value": "1", "values": ["0", "10", "1"]},
    {"name": "parked", "input_type": "checkbox", "default_value": "false", "values": ["false"]},
]
LABELS = labels(("car", CAR_ATTRIBUTES), ("person", []))
COLOR, COUNT, PARKED = 101, 102, 103
IMAGES = ["img1.jpg", "img2.png", "img3.jpg"]


def shape(kind: str, frame: int, points: list[float], *, label_id: int = 1, occluded: bool = False,
          group: int = 0, z_order: int = 0, attributes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"type": kind, "frame": frame, "label_id": label_id, "points": points, "occluded": occluded,
            "z_order": z_order, "group": group, "source": "manual", "attributes": attributes or []}


def car_values(color: str = "blue", count: str = "3", parked: str = "true") -> list[dict[str, Any]]:
    return [{"spec_id": COLOR, "value": color}, {"spec_id": COUNT, "value": count},
            {"spec_id": PARKED, "value": parked}]


def keyframe(frame: int, points: list[float], *, outside: bool = False, kind: str = "rectangle") -> dict[str, Any]:
    return {"type": kind, "frame": frame, "points": points, "occluded": False, "outside": outside, "z_order": 0,
            "attributes": []}


ANNOTATIONS: dict[str, Any] = {
    "shapes": [
        shape("rectangle", 0, [10, 20, 110.5, 70], occluded=True, attributes=car_values()),
        shape("polygon", 0, [1, 2, 30, 2, 30, 40], label_id=2, group=7),
        shape("rectangle", 0, [5, 5, 15, 15], label_id=2, group=7, z_order=1),
        shape("points", 0, [3, 4, 5, 6], label_id=2),
        shape("polyline", 0, [0, 0, 9, 9], label_id=2),
        shape("cuboid", 0, [0] * 16, label_id=2),
    ],
    "tags": [{"frame": 1, "label_id": 1, "group": 0, "source": "manual", "attributes": car_values("red", "2")}],
    "tracks": [
        {"frame": 0, "label_id": 1, "group": 0, "source": "manual",
         "attributes": [{"spec_id": COUNT, "value": "4"}],
         "shapes": [keyframe(0, [0, 0, 10, 10]), keyframe(2, [20, 20, 40, 40])]},
        {"frame": 0, "label_id": 2, "group": 0, "source": "manual", "attributes": [],
         "shapes": [keyframe(0, [5, 5], kind="points"), keyframe(1, [6, 6], kind="points", outside=True)]},
    ],
}


def task(annotations: dict[str, Any] | None = None, names: list[str] | int = IMAGES, **extra: Any) -> ExportContext:
    ctx = export_context(LABELS, frames(names), ANNOTATIONS if annotations is None else annotations,
                         video=isinstance(names, int))
    for key, value in extra.items():
        setattr(ctx, key, value)
    return ctx


def exported(module: Any, ctx: ExportContext) -> zipfile.ZipFile:
    archive, buffer = memory_archive()
    module.export(ctx, archive)
    archive.zip.close()
    return zipfile.ZipFile(io.BytesIO(buffer.getvalue()))


def imported(members: dict[str, bytes | str], names: list[str] | None = None) -> ImportContext:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    ctx = import_context(LABELS, frames(names or IMAGES))
    labelme.parse(ImportFile(buffer, "upload.zip"), ctx)
    return ctx


def points_of(element: ET.Element | None) -> list[tuple[str, str]]:
    assert element is not None
    return [(pt.findtext("x") or "", pt.findtext("y") or "") for pt in element.iter("pt")]


def area(points: list[float]) -> float:
    xs, ys = points[0::2], points[1::2]
    return abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs)))) / 2


# ---------------------------------------------------------------- LabelMe export


def test_labelme_layout_has_a_document_per_frame_and_an_empty_masks_folder() -> None:
    names = exported(labelme, task()).namelist()
    assert names == ["default/Masks/", "default/img1.xml", "default/img2.xml", "default/img3.xml"]
    assert labelme.image_path(task(), frames(IMAGES)[1]) == "default/img2.png"
    assert labelme.image_path(task(names=2), frames(2)[1]) == "default/frame_000001.png"


def test_labelme_document_fields_coordinates_and_attribute_text() -> None:
    root = ET.fromstring(exported(labelme, task()).read("default/img1.xml"))
    assert root.tag == "annotation"
    assert (root.findtext("filename"), root.findtext("folder")) == ("img1.jpg", "")
    assert (root.findtext("source/sourceAnnotation"), root.findtext("imagesize/nrows"),
            root.findtext("imagesize/ncols")) == ("Datumaro", "480", "640")
    objects = root.findall("object")
    # rectangle, polygon, grouped rectangle (z 1), track rectangle, track point dropped: points, polylines,
    # cuboids are not LabelMe objects; shapes go out by z_order, plain shapes before track shapes
    assert [(o.findtext("name"), o.findtext("type")) for o in objects] == [
        ("car", "bounding_box"), ("person", None), ("car", "bounding_box"), ("person", "bounding_box")]
    box = objects[0]
    assert [box.findtext(f) for f in ("deleted", "verified", "occluded", "date", "id")] == ["0", "0", "yes", "", "0"]
    assert points_of(box.find("polygon")) == [("10.00", "20.00"), ("110.50", "20.00"), ("110.50", "70.00"),
                                              ("10.00", "70.00")]
    assert box.findtext("attributes") == "color=blue, count=3.0, parked=True"
    assert objects[1].findtext("occluded") == "no"
    assert points_of(objects[1].find("polygon")) == [("1.00", "2.00"), ("30.00", "2.00"), ("30.00", "40.00")]
    assert objects[1].findtext("attributes") == ""
    assert objects[2].findtext("attributes") == "color=red, count=4.0, parked=False, track_id=0, keyframe=True"


def test_labelme_groups_become_parts_of_the_first_member() -> None:
    root = ET.fromstring(exported(labelme, task()).read("default/img1.xml"))
    parts = {o.findtext("id"): (o.findtext("parts/hasparts"), o.findtext("parts/ispartof"))
             for o in root.findall("object")}
    # polygon (id 1) and the rectangle of z_order 1 (id 3) share group 7
    assert parts == {"0": ("", ""), "1": ("3", ""), "2": ("", ""), "3": ("", "1")}
    assert root.find("object/parts/hasparts") is not None  # empty elements are written, not omitted


def test_labelme_track_positions_and_frames_without_objects() -> None:
    archive = exported(labelme, task())
    second = ET.fromstring(archive.read("default/img2.xml")).findall("object")
    assert len(second) == 1  # the tag is not exported; the points track is outside from frame 1
    assert points_of(second[0].find("polygon"))[0::2] == [("10.00", "10.00"), ("25.00", "25.00")]
    assert (second[0].findtext("attributes") or "").endswith("track_id=0, keyframe=False")
    third = ET.fromstring(archive.read("default/img3.xml")).findall("object")
    assert (third[0].findtext("attributes") or "").endswith("track_id=0, keyframe=True")


def test_labelme_refuses_items_in_folders() -> None:
    with pytest.raises(FormatError, match="Can't export item 'dir/img2'"):
        exported(labelme, task({}, ["img1.jpg", "dir/img2.jpg"]))


# ---------------------------------------------------------------- LabelMe import


def test_labelme_round_trip_keeps_boxes_polygons_groups_and_attributes() -> None:
    """Lost on the way: tags, points, polylines, cuboids (not written), tracks (each position
    comes back as a plain rectangle), z_order; numbers come back as Datumaro wrote them (3.0)."""
    archive, buffer = memory_archive()
    labelme.export(task(), archive)
    archive.zip.close()
    ctx = import_context(LABELS, frames(IMAGES))
    labelme.parse(ImportFile(buffer, "labelme.zip"), ctx)
    data = ctx.labeled_data()
    assert data["tags"] == [] and data["tracks"] == []
    got = [(s["frame"], s["type"], s["label_id"], s["points"], s["occluded"], s["group"], s["attributes"])
           for s in data["shapes"]]
    values = [{"spec_id": COLOR, "value": "blue"}, {"spec_id": COUNT, "value": "3.0"},
              {"spec_id": PARKED, "value": "true"}]
    track = [{"spec_id": COLOR, "value": "red"}, {"spec_id": COUNT, "value": "4.0"},
             {"spec_id": PARKED, "value": "false"}]
    assert got == [
        (0, "rectangle", 1, [10.0, 20.0, 110.5, 70.0], True, 0, values),
        (0, "polygon", 2, [1.0, 2.0, 30.0, 2.0, 30.0, 40.0], False, 1, []),
        (0, "rectangle", 1, [0.0, 0.0, 10.0, 10.0], False, 0, track),
        (0, "rectangle", 2, [5.0, 5.0, 15.0, 15.0], False, 1, []),
        (1, "rectangle", 1, [10.0, 10.0, 25.0, 25.0], False, 0, track),
        (2, "rectangle", 1, [20.0, 20.0, 40.0, 40.0], False, 0, track),
    ]
    assert all(s["source"] == "manual" and s["z_order"] == 0 for s in data["shapes"])


LABELME_DOCUMENT = """<?xml version="1.0"?>
<annotation>
  <filename>img2.png</filename><folder>collection</folder>
  <object><name>car</name><deleted>0</deleted><occluded>yes</occluded><id>4</id>
    <type>bounding_box</type>
    <polygon><pt><x>30</x><y>8</y></pt><pt><x>2.5</x><y>40</y></pt></polygon>
    <parts><hasparts>7</hasparts><ispartof/></parts>
    <attributes>parked, count=12, color = blue, unknown=1</attributes></object>
  <object><name>person</name><deleted>0</deleted><id>7</id>
    <polygon><pt><x>1</x><y>1</y></pt><pt><x>5</x><y>1</y></pt><pt><x>5</x><y>5</y></pt></polygon>
    <parts><hasparts>9</hasparts><ispartof>4</ispartof></parts></object>
  <object><name>dog</name><deleted>1</deleted><id>9</id>
    <polygon><pt><x>1</x><y>1</y></pt></polygon>
    <parts><hasparts/><ispartof>7</ispartof></parts></object>
</annotation>
"""


def test_labelme_import_of_a_hand_written_document() -> None:
    ctx = imported({"collection/annotations/whatever.xml": LABELME_DOCUMENT}, ["a/img1.jpg", "a/img2.png"])
    shapes = ctx.labeled_data()["shapes"]
    # matched by <filename> (another folder); the box's corners in any order; the deleted object is left
    # out unread (its label is unknown, its polygon too short), and the parts tree 4 -> 7 -> 9 is one group
    assert [(s["frame"], s["type"], s["label_id"], s["points"], s["occluded"], s["group"]) for s in shapes] == [
        (1, "rectangle", 1, [2.5, 8.0, 30.0, 40.0], True, 1),
        (1, "polygon", 2, [1.0, 1.0, 5.0, 1.0, 5.0, 5.0], False, 1),
    ]
    assert shapes[0]["attributes"] == [{"spec_id": PARKED, "value": "true"}, {"spec_id": COUNT, "value": "12"},
                                       {"spec_id": COLOR, "value": "blue"}]


def test_labelme_group_left_with_one_object_is_dropped() -> None:
    document = LABELME_DOCUMENT.replace("<deleted>0</deleted><id>7</id>", "<deleted>1</deleted><id>7</id>")
    shapes = imported({"default/img2.xml": document}).labeled_data()["shapes"]
    assert [(s["type"], s["group"]) for s in shapes] == [("rectangle", 0)]


def test_labelme_video_frames_round_trip_by_frame_name() -> None:
    video = {"shapes": [shape("polygon", 1, [1, 1, 8, 1, 8, 8], label_id=2)]}
    archive, buffer = memory_archive()
    labelme.export(task(video, 2), archive)
    archive.zip.close()
    names = zipfile.ZipFile(io.BytesIO(buffer.getvalue())).namelist()
    assert names == ["default/Masks/", "default/frame_000000.xml", "default/frame_000001.xml"]
    ctx = import_context(LABELS, frames(2), video=True)
    labelme.parse(ImportFile(buffer, "labelme.zip"), ctx)
    assert [(s["frame"], s["points"]) for s in ctx.labeled_data()["shapes"]] == [(1, [1.0, 1.0, 8.0, 1.0, 8.0, 8.0])]


def test_labelme_broken_xml_names_the_file_and_line() -> None:
    with pytest.raises(FormatError, match=r"default/img1.xml: line 3, column \d+"):
        imported({"default/img1.xml": "<annotation>\n<object>\n</annotation>\n"})


def test_labelme_unknown_label_and_unknown_image_fail() -> None:
    document = "<annotation><filename>img1.jpg</filename><object><name>dog</name><id>0</id></object></annotation>"
    with pytest.raises(FormatError, match="Label 'dog' is not registered for this task"):
        imported({"default/img1.xml": document})
    with pytest.raises(FormatError, match=r"no frame of the task matches the image 'other\.jpg'"):
        imported({"default/other.xml": "<annotation><filename>other.jpg</filename></annotation>"})


def test_labelme_bad_coordinates_and_degenerate_polygons_fail() -> None:
    bad_x = ("<annotation><filename>img1.jpg</filename><object><name>car</name><id>0</id>"
             "<polygon><pt><x>a</x><y>1</y></pt></polygon></object></annotation>")
    with pytest.raises(FormatError, match=r"default/img1.xml: object 1: <pt> 1 <x>: 'a' is not a number"):
        imported({"default/img1.xml": bad_x})
    two = bad_x.replace("<x>a</x>", "<x>1</x>").replace("</pt>", "</pt><pt><x>2</x><y>2</y></pt>", 1)
    with pytest.raises(FormatError, match="a polygon needs at least 3 points, it has 2"):
        imported({"default/img1.xml": two})


# ---------------------------------------------------------------- Datumaro export


def test_datumaro_project_layout_for_annotations_and_dataset_exports() -> None:
    names = exported(datumaro, task(server_url="https://cvat.example.org:8443")).namelist()
    assert names == [".datumaro/config.yaml", "dataset/annotations/default.json",
                     "sources/task_5_images/config.json", "sources/task_5_images/images_meta.json",
                     ".datumaro/plugins/cvat_rest_api_task_images.py", "README.md"]
    with_images = exported(datumaro, task(include_images=True))
    assert with_images.namelist() == [".datumaro/config.yaml", "dataset/annotations/default.json", "README.md"]
    assert with_images.read(".datumaro/config.yaml").decode() == (
        'format_version: 1\nproject_name: "cars"\nsources: {}\n')
    assert datumaro.image_path(task(), frames(IMAGES)[0]) == "dataset/images/img1.jpg"
    assert datumaro.image_path(task(names=1), frames(1)[0]) == "dataset/images/frame_000000.png"


def test_datumaro_project_config_and_remote_source() -> None:
    archive = exported(datumaro, task(server_url="https://cvat.example.org:8443"))
    assert archive.read(".datumaro/config.yaml").decode() == (
        'format_version: 1\nproject_name: "cars"\nsources:\n  "task_5_images":\n'
        "    format: cvat_rest_api_task_images\n")
    assert json.loads(archive.read("sources/task_5_images/config.json")) == {
        "server_url": "https://cvat.example.org:8443", "server_host": "cvat.example.org", "server_port": 8443,
        "task_id": 5}
    assert json.loads(archive.read("sources/task_5_images/images_meta.json")) == {"images": [
        {"id": 0, "name": "img1.jpg", "width": 640, "height": 480},
        {"id": 1, "name": "img2.png", "width": 640, "height": 480},
        {"id": 2, "name": "img3.jpg", "width": 640, "height": 480}]}
    compile(archive.read(".datumaro/plugins/cvat_rest_api_task_images.py"), "plugin", "exec")


def test_datumaro_source_without_port_or_url_and_video_frames() -> None:
    assert datumaro.source_config(task(server_url="http://cvat.local")) == {
        "server_url": "http://cvat.local", "server_host": "cvat.local", "task_id": 5}
    assert datumaro.source_config(task()) == {"server_url": "localhost", "server_host": "localhost", "task_id": 5}
    assert datumaro.images_meta(task({}, 2))["images"] == [{"id": 0, "width": 640, "height": 480},
                                                            {"id": 1, "width": 640, "height": 480}]


def test_datumaro_categories_and_items() -> None:
    document = json.loads(exported(datumaro, task()).read("dataset/annotations/default.json"))
    assert document["info"] == {}
    assert document["categories"] == {"label": {
        "labels": [{"name": "car", "parent": "", "attributes": ["color", "count", "parked"]},
                   {"name": "person", "parent": "", "attributes": []}],
        "attributes": ["occluded", "color", "count", "parked"]}}
    items = document["items"]
    assert [(i["id"], i["attr"], i["image"]) for i in items] == [
        ("img1", {"frame": 0}, {"size": [480, 640], "path": "img1.jpg"}),
        ("img2", {"frame": 1}, {"size": [480, 640], "path": "img2.png"}),
        ("img3", {"frame": 2}, {"size": [480, 640], "path": "img3.jpg"})]


def test_datumaro_annotations_field_by_field() -> None:
    items = json.loads(exported(datumaro, task()).read("dataset/annotations/default.json"))["items"]
    first = items[0]["annotations"]
    assert [a["type"] for a in first] == ["bbox", "polygon", "points", "polyline", "bbox", "points", "bbox"]
    assert [a["id"] for a in first] == list(range(7))
    assert first[0] == {"id": 0, "type": "bbox", "label_id": 0, "group": 0, "z_order": 0,
                        "bbox": [10.0, 20.0, 100.5, 50.0],
                        "attributes": {"color": "blue", "count": 3.0, "parked": True, "occluded": True}}
    assert first[1] == {"id": 1, "type": "polygon", "label_id": 1, "group": 7, "z_order": 0,
                        "points": [1.0, 2.0, 30.0, 2.0, 30.0, 40.0], "attributes": {"occluded": False}}
    assert first[2]["points"] == [3.0, 4.0, 5.0, 6.0] and first[2]["visibility"] == [2, 2]
    assert first[3]["points"] == [0.0, 0.0, 9.0, 9.0] and "visibility" not in first[3]
    assert first[4]["attributes"] == {"color": "red", "count": 4.0, "parked": False, "occluded": False,
                                      "track_id": 0, "keyframe": True}
    assert first[5]["attributes"] == {"occluded": False, "track_id": 1, "keyframe": True}
    assert (first[6]["bbox"], first[6]["group"], first[6]["z_order"]) == ([5.0, 5.0, 10.0, 10.0], 7, 1)
    second = items[1]["annotations"]
    assert second[0] == {"id": 0, "type": "label", "label_id": 0, "group": 0,
                         "attributes": {"color": "red", "count": 2.0, "parked": True}}
    # the points track is outside at frame 1: dropped; the box track is interpolated there
    assert [(a["type"], a.get("bbox"), a["attributes"].get("keyframe")) for a in second[1:]] == [
        ("bbox", [10.0, 10.0, 15.0, 15.0], False)]


# ---------------------------------------------------------------- LabelMe masks (shared.formats.masks)


def png(mask: np.ndarray, mode: str = "L") -> bytes:
    """A mask image: 255 where the mask is set (L), or opaque red on transparent black (RGBA)."""
    if mode == "RGBA":
        pixels = np.zeros((*mask.shape, 4), np.uint8)
        pixels[mask] = (255, 0, 0, 255)
    else:
        pixels = np.where(mask, 255, 0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, "PNG")
    return buffer.getvalue()


def mask_document(box: str = "") -> str:
    return ("<annotation><filename>img1.jpg</filename><object><name>car</name><deleted>0</deleted><id>0</id>"
            "<occluded>yes</occluded><attributes>color=blue</attributes>"
            f"<segm><mask>img1_mask_0.png</mask>{box}<username/></segm></object></annotation>")


def full_mask() -> np.ndarray:
    mask = np.zeros((480, 640), bool)
    mask[10:20, 30:50] = True  # 10 rows x 20 columns: 200 pixels
    return mask


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_labelme_mask_becomes_a_polygon_of_its_area(mode: str) -> None:
    ctx = imported({"default/img1.xml": mask_document(), "default/Masks/img1_mask_0.png": png(full_mask(), mode)})
    (polygon,) = ctx.labeled_data()["shapes"]
    assert (polygon["type"], polygon["label_id"], polygon["occluded"], polygon["frame"]) == ("polygon", 1, True, 0)
    assert polygon["attributes"] == [{"spec_id": COLOR, "value": "blue"}]
    xs, ys = polygon["points"][0::2], polygon["points"][1::2]
    assert area(polygon["points"]) == 200.0  # outlines run along pixel corners: the area is the pixel count
    assert (min(xs), min(ys), max(xs), max(ys)) == (30.0, 10.0, 50.0, 20.0)


def test_labelme_mask_cropped_to_its_box_is_placed_at_the_box() -> None:
    whole = imported({"default/img1.xml": mask_document(), "default/Masks/img1_mask_0.png": png(full_mask())})
    box = "<box><xmin>30</xmin><ymin>10</ymin><xmax>49</xmax><ymax>19</ymax></box>"
    cropped = imported({"default/img1.xml": mask_document(box),
                        "default/Masks/img1_mask_0.png": png(np.ones((10, 20), bool))})
    assert cropped.labeled_data()["shapes"][0]["points"] == whole.labeled_data()["shapes"][0]["points"]


def test_labelme_mask_of_two_regions_gives_two_polygons() -> None:
    mask = full_mask()
    mask[100:103, 200:204] = True
    data = imported({"default/img1.xml": mask_document(), "default/Masks/img1_mask_0.png": png(mask)}).labeled_data()
    assert sorted(area(s["points"]) for s in data["shapes"]) == [12.0, 200.0]
    assert {(s["type"], s["label_id"], s["group"]) for s in data["shapes"]} == {("polygon", 1, 0)}


def test_labelme_missing_or_unreadable_mask_fails() -> None:
    missing = "object 1: the mask default/Masks/img1_mask_0.png is not in the archive"
    with pytest.raises(FormatError, match=re.escape(missing)):
        imported({"default/img1.xml": mask_document()})
    with pytest.raises(FormatError, match=re.escape("default/Masks/img1_mask_0.png: not a readable mask image")):
        imported({"default/img1.xml": mask_document(), "default/Masks/img1_mask_0.png": b"not a png"})

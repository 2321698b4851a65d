"""CVAT XML 1.1 (spec §10.6): both exporters, the `CVAT 1.1` importer on the real files of
../shared/data, round trips, and polygon/polyline interpolation (§10.7)."""

import io
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from shared.formats import cvat, cvat_images, cvat_video
from shared.formats.files import ImportFile, memory_archive
from shared.formats.model import ExportContext, FormatError, Frame, ImportContext
from shared.formats.tracks import flatten, interpolate_curve, interpolate_points
from tests.unit.format_fixtures import export_context, frames, import_context, labels

# ---------------------------------------------------------------- helpers

CAR: tuple[str, list[dict[str, Any]]] = ("car", [
    {"name": "model", "input_type": "select", "default_value": "bmw", "values": ["bmw", "mazda"]},
    {"name": "parked", "mutable": True, "input_type": "checkbox", "default_value": "false", "values": ["false"]}])
PERSON: tuple[str, list[dict[str, Any]]] = ("person", [])
MODEL, PARKED = 101, 102


def attrs(*pairs: tuple[int, str]) -> list[dict[str, Any]]:
    return [{"spec_id": spec, "value": value} for spec, value in pairs]


def annotations() -> dict[str, Any]:
    """A rectangle track (keyframes at 0 and 2, outside at 4), a polygon track, two plain shapes
    and a tag over 6 frames."""
    return {
        "tags": [{"frame": 1, "label_id": 2, "group": 4, "source": "manual", "attributes": []}],
        "shapes": [
            {"type": "rectangle", "frame": 0, "label_id": 1, "group": 3, "source": "manual", "occluded": False,
             "z_order": 2, "points": [1.0, 2.1, 100.0, 300.222],
             "attributes": attrs((MODEL, "mazda"), (PARKED, "false"))},
            {"type": "points", "frame": 5, "label_id": 2, "group": 0, "source": "auto", "occluded": True,
             "z_order": 0, "points": [5.0, 6.0, 7.5, 8.25], "attributes": []},
        ],
        "tracks": [
            {"frame": 0, "label_id": 1, "group": 2, "source": "manual", "attributes": attrs((MODEL, "bmw")),
             "shapes": [
                 {"type": "rectangle", "frame": 0, "occluded": False, "outside": False, "z_order": 1,
                  "points": [0.0, 0.0, 10.0, 10.0], "attributes": attrs((PARKED, "true"))},
                 {"type": "rectangle", "frame": 2, "occluded": True, "outside": False, "z_order": 1,
                  "points": [20.0, 10.0, 30.0, 20.0], "attributes": attrs((PARKED, "false"))},
                 {"type": "rectangle", "frame": 4, "occluded": False, "outside": True, "z_order": 1,
                  "points": [20.0, 10.0, 30.0, 20.0], "attributes": []},
             ]},
            {"frame": 1, "label_id": 2, "group": 0, "source": "auto", "attributes": [],
             "shapes": [
                 {"type": "polygon", "frame": 1, "occluded": False, "outside": False, "z_order": 0,
                  "points": [0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0], "attributes": []},
                 {"type": "polygon", "frame": 3, "occluded": False, "outside": False, "z_order": 0,
                  "points": [10.0, 0.0, 20.0, 0.0, 20.0, 10.0, 10.0, 10.0], "attributes": []},
             ]},
        ],
    }


def image_frames() -> list[Frame]:
    return [Frame(i, i, name, 640 + i, 480 + i) for i, name in
            enumerate(["a.jpg", "dir/b.png", "c.jpeg", "d.jpg", "e.jpg", "f.jpg"])]


def images_context(*, z_order: bool = False) -> ExportContext:
    ctx = export_context(labels(CAR, PERSON), image_frames(), annotations())
    ctx.task = replace(ctx.task, z_order=z_order)
    return ctx


def video_context() -> ExportContext:
    """6 video frames 10, 13, ..., 25 (start 10, step 3)."""
    return export_context(labels(CAR, PERSON), frames(6, start=10, step=3), annotations(), video=True)


def exported(module: Any, ctx: ExportContext) -> bytes:
    archive, buffer = memory_archive()
    module.export(ctx, archive)
    archive.zip.close()
    with zipfile.ZipFile(buffer) as result:
        assert result.namelist() == ["annotations.xml"]
        return result.read("annotations.xml")


def imported(data: bytes, stored_labels: list[dict[str, Any]], task_frames: list[Frame], *,
             video: bool = False, name: str = "annotations.xml") -> ImportContext:
    ctx = import_context(stored_labels, task_frames, video=video)
    cvat.parse(ImportFile(io.BytesIO(data), name), ctx)
    return ctx


def shape_summary(shape: dict[str, Any]) -> tuple[Any, ...]:
    return (shape["type"], shape["frame"], shape.get("label_id"), [round(p, 2) for p in shape["points"]],
            shape["occluded"], shape["z_order"], sorted((a["spec_id"], a["value"]) for a in shape["attributes"]))


# ---------------------------------------------------------------- importer: the real files

VIDEO_LABELS = labels(("klhg", [{"name": "hgl", "mutable": True, "input_type": "select", "default_value": "jk",
                                 "values": ["jk", "hgkf"]}]), ("z U k", []), ("II", []))


def test_import_real_video_file(shared_data: Path) -> None:
    data = (shared_data / "video" / "test_annotations_cvat_video_1.1.xml").read_bytes()
    ctx = imported(data, VIDEO_LABELS, frames(4, start=10, step=3), video=True)
    result = ctx.labeled_data()
    assert result["tags"] == [] and result["shapes"] == []
    boxes, points, polyline = result["tracks"]
    assert [t["label_id"] for t in result["tracks"]] == [3, 1, 3]
    assert [t["frame"] for t in result["tracks"]] == [0, 0, 1]
    assert all(t["group"] == 0 and t["source"] == "manual" and t["attributes"] == [] for t in result["tracks"])

    assert [(s["type"], s["frame"], s["outside"], s["occluded"]) for s in boxes["shapes"]] == [
        ("rectangle", 0, False, True), ("rectangle", 1, True, False), ("rectangle", 2, True, False)]
    assert [s["points"] for s in boxes["shapes"]] == [[3, 4, 10, 5], [7, 6, 14, 8], [8, 7, 14, 17]]

    assert [(s["frame"], s["outside"]) for s in points["shapes"]] == [(0, False), (1, True)]
    assert points["shapes"][0]["points"] == [21.95, 8.0, 2.55, 15.09, 2.23, 3.16]
    assert points["shapes"][1]["points"] == [21.95, 8.0, 9.55, 15.09, 5.23, 1.16]
    assert [s["attributes"] for s in points["shapes"]] == [attrs((101, "hgkf")), attrs((101, "jk"))]

    assert [(s["type"], s["frame"], s["outside"]) for s in polyline["shapes"]] == [
        ("polyline", 1, False), ("polyline", 2, True)]
    assert polyline["shapes"][0]["points"] == [7.85, 13.88, 3.5, 6.67, 15.9, 2.0, 13.31, 7.21]
    assert all(s["z_order"] == 0 for t in result["tracks"] for s in t["shapes"])


def test_real_video_file_frames_must_be_task_frames(shared_data: Path) -> None:
    data = (shared_data / "video" / "test_annotations_cvat_video_1.1.xml").read_bytes()
    with pytest.raises(FormatError, match=r"Unknown frame 10"):
        imported(data, VIDEO_LABELS, frames(4, start=0, step=1), video=True)


IMAGE_LABELS = labels(
    ("label1", [{"name": "a1", "input_type": "checkbox", "default_value": "false", "values": ["false", "true"]},
                {"name": "a2", "input_type": "radio", "default_value": "v1", "values": ["v1", "v2", "v3"]},
                {"name": "a3", "input_type": "text", "default_value": "0000", "values": ["0000"]},
                {"name": "a4", "input_type": "number", "default_value": "0", "values": ["-5.6", "2.4", "1"]}]),
    ("label2", []))
IMAGE_FRAMES = [Frame(0, 0, "img0.jpg", 8, 8), Frame(1, 1, "img1.jpg", 10, 10)]


def test_real_images_file_with_an_empty_label_fails(shared_data: Path) -> None:
    data = (shared_data / "annotations" / "cvat_images" / "annotations.xml").read_bytes()
    with pytest.raises(FormatError, match=r"^Label '' is not registered for this task$"):
        imported(data, IMAGE_LABELS, IMAGE_FRAMES)


def without_empty_labels(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    for image in root.iter("image"):
        for shape in [s for s in image if s.get("label") == ""]:
            image.remove(shape)
    return root


def test_real_images_file_without_empty_labels(shared_data: Path) -> None:
    root = without_empty_labels(shared_data / "annotations" / "cvat_images" / "annotations.xml")
    with pytest.raises(FormatError, match=r"<points label=\"label2\">: the attribute 'occluded' is missing"):
        imported(ET.tostring(root), IMAGE_LABELS, IMAGE_FRAMES)  # §10.6: image shapes need `occluded`

    for shape in root.iter("points"):
        shape.set("occluded", "0")
    result = imported(ET.tostring(root), IMAGE_LABELS, IMAGE_FRAMES).labeled_data()
    assert result["tags"] == [] and result["tracks"] == []
    box, points = result["shapes"]
    assert shape_summary(box) == ("rectangle", 0, 1, [0, 2, 4, 4], True, 1,
                                  [(101, "true"), (102, "v3"), (103, "0003"), (104, "2.4")])
    assert shape_summary(points) == ("points", 1, 2, [1, 2, 3, 4, 5, 6], False, 2, [])
    assert box["group"] == 0 and box["source"] == "manual"


# ---------------------------------------------------------------- importer: rules and errors


def image_document(body: str) -> bytes:
    return f'<?xml version="1.0"?><annotations><version>1.1</version><meta><task><labels><label><name>x</name>' \
           f'<attributes><attribute><name>model</name></attribute></attributes></label></labels></task></meta>' \
           f'{body}</annotations>'.encode()


def test_image_matched_by_name_else_id_and_tags() -> None:
    body = ('<image id="99" name="other/dir/b.jpg"><tag label="person" group_id="7" source="auto"></tag></image>'
            '<image id="0" name="unknown.jpg"><cuboid label="car" occluded="0" ' +
            " ".join(f'{n}="{i}"' for i, n in enumerate(cvat.CUBOID_NAMES)) + '></cuboid></image>')
    result = imported(image_document(body), labels(CAR, PERSON), image_frames()).labeled_data()
    assert result["tags"] == [{"id": None, "frame": 1, "label_id": 2, "group": 7, "source": "auto", "attributes": []}]
    assert result["shapes"][0]["type"] == "cuboid" and result["shapes"][0]["points"] == list(range(16))
    assert result["shapes"][0]["frame"] == 0


def test_attributes_by_name_and_checkbox_normalised() -> None:
    body = ('<image id="0" name="a.jpg"><box label="car" occluded="1" xtl="1" ytl="2" xbr="3" ybr="4">'
            '<attribute name="parked">TRUE</attribute><attribute name="unknown">x</attribute>'
            '<attribute name="model">mazda</attribute></box></image>')
    shape = imported(image_document(body), labels(CAR, PERSON), image_frames()).shapes[0]
    assert shape["attributes"] == attrs((PARKED, "true"), (MODEL, "mazda"))

    with pytest.raises(FormatError, match=r"'parked' of label 'car' is a checkbox: 'maybe'"):
        imported(image_document(body.replace("TRUE", "maybe")), labels(CAR, PERSON), image_frames())


def test_track_keeps_keyframes_and_moves_immutable_values_to_the_track() -> None:
    body = ('<track id="0" label="car" group_id="5" source="auto">'
            '<box frame="1" outside="0" occluded="0" keyframe="1" xtl="0" ytl="0" xbr="1" ybr="1" z_order="3">'
            '<attribute name="model">bmw</attribute><attribute name="parked">true</attribute></box>'
            '<box frame="2" outside="0" occluded="0" keyframe="0" xtl="5" ytl="5" xbr="6" ybr="6"></box>'
            '<box frame="3" outside="1" occluded="1" keyframe="1" xtl="2" ytl="2" xbr="3" ybr="3">'
            '<attribute name="model">mazda</attribute></box></track>')
    (track,) = imported(image_document(body), labels(CAR, PERSON), image_frames()).tracks
    assert (track["frame"], track["label_id"], track["group"], track["source"]) == (1, 1, 5, "auto")
    assert track["attributes"] == attrs((MODEL, "mazda"))
    assert [(s["frame"], s["outside"], s["occluded"], s["z_order"], s["points"], s["attributes"])
            for s in track["shapes"]] == [(1, False, False, 3, [0, 0, 1, 1], attrs((PARKED, "true"))),
                                          (3, True, True, 0, [2, 2, 3, 3], [])]


@pytest.mark.parametrize(("body", "message"), [
    ('<image id="0" name="a.jpg"><box label="car" occluded="0" xtl="1" ytl="x" xbr="3" ybr="4"></box></image>',
     r"<box label=\"car\">: ytl: 'x' is not a number"),
    ('<image id="0" name="a.jpg"><box label="car" occluded="0" xtl="1" ytl="2" xbr="nan" ybr="4"></box></image>',
     r"<box label=\"car\">: xbr: 'nan' is not a finite number"),
    ('<image id="0" name="a.jpg"><polygon label="car" occluded="0" points="1,2;3"></polygon></image>',
     r"<polygon label=\"car\">: points: '3' is not a pair x,y"),
    ('<image id="0" name="a.jpg"><box label="car" xtl="1" ytl="2" xbr="3" ybr="4"></box></image>',
     r"the attribute 'occluded' is missing"),
    ('<image id="0" name="a.jpg"><box label="truck" occluded="0" xtl="1" ytl="2" xbr="3" ybr="4"></box></image>',
     r"^Label 'truck' is not registered for this task$"),
    ('<image id="0" name="a.jpg"><box label="car" occluded="0" z_order="top" xtl="1" ytl="2" xbr="3" ybr="4"></box>'
     '</image>', r"z_order: 'top' is not an integer"),
    ('<image id="42" name="nothing.jpg"></image>', r"<image id=\"42\" name=\"nothing.jpg\">: Unknown frame 42"),
    ('<track label="car"><box frame="9" outside="0" occluded="0" keyframe="1" xtl="1" ytl="2" xbr="3" ybr="4">'
     '</box></track>', r"<box frame=\"9\">: Unknown frame 9"),
    ('<track label="car"><box frame="1" occluded="0" keyframe="1" xtl="1" ytl="2" xbr="3" ybr="4"></box></track>',
     r"the attribute 'outside' is missing"),
    ('<image id="0" name="a.jpg"><box', r"annotations.xml: line 1, column \d+"),
])
def test_import_errors(body: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        imported(image_document(body), labels(CAR, PERSON), image_frames())


def test_zip_read_by_content_whatever_its_name() -> None:
    """Every *.xml of the ZIP, recursively, even when the upload is called .txt."""
    one = image_document('<image id="0" name="a.jpg"><tag label="car"></tag></image>')
    two = image_document('<image id="1" name="b.png"><tag label="person"></tag></image>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("annotations.xml", one)
        archive.writestr("more/deeper/part2.XML", two)
        archive.writestr("readme.txt", "not XML <")
    ctx = imported(buffer.getvalue(), labels(CAR, PERSON), image_frames(), name="upload.txt")
    assert [(t["frame"], t["label_id"]) for t in ctx.tags] == [(0, 1), (1, 2)]


def test_bare_xml_named_txt_is_read() -> None:
    ctx = imported(image_document('<image id="2" name="c.jpeg"><tag label="car"></tag></image>'),
                   labels(CAR, PERSON), image_frames(), name="upload.txt")
    assert [t["frame"] for t in ctx.tags] == [2]


# ---------------------------------------------------------------- exporters


META_TASK = ["id", "name", "size", "mode", "overlap", "bugtracker", "created", "updated", "start_frame", "stop_frame",
             "frame_filter", "z_order", "labels", "segments", "owner", "assignee"]


def test_images_export_layout_and_meta() -> None:
    data = exported(cvat_images, images_context())
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n'
                           b'  <meta>\n    <task>\n      <id>5</id>\n      <name>cars</name>\n')
    assert data.endswith(b"\n  </image>\n</annotations>")
    root = ET.fromstring(data)
    assert [child.tag for child in root] == ["version", "meta"] + ["image"] * 6
    task = root.find("meta/task")
    assert task is not None and [child.tag for child in task] == META_TASK
    assert task.findtext("mode") == "annotation" and task.findtext("z_order") == "False"
    assert task.findtext("stop_frame") == "5" and task.findtext("size") == "6"
    assignee = task.find("assignee")
    assert assignee is not None and len(assignee) == 0 and assignee.text is None
    assert task.findtext("owner/username") == "admin"
    assert task.findtext("segments/segment/url") == "http://host/?id=3"
    car = task.find("labels/label")
    assert car is not None and [c.tag for c in car] == ["name", "color", "attributes"]
    assert [(a.findtext("name"), a.findtext("mutable"), a.findtext("values")) for a in car.iter("attribute")] == [
        ("model", "False", "bmw\nmazda"), ("parked", "True", "false")]
    assert root.findtext("meta/dumped") == "2020-10-15 10:00:00.000000+00:00"
    assert root.find("meta/source") is None and task.find("original_size") is None
    assert [(i.get("id"), i.get("name"), i.get("width"), i.get("height")) for i in root.iter("image")] == [
        (str(f.number), f.name, str(f.width), str(f.height)) for f in image_frames()]


def test_images_export_shapes() -> None:
    root = ET.fromstring(exported(cvat_images, images_context()))
    images = root.findall("image")
    first = images[0]
    assert [c.tag for c in first] == ["box", "box"]
    track_box, plain_box = first  # z_order 1 before z_order 2
    assert list(plain_box.attrib.items()) == [("label", "car"), ("occluded", "0"), ("source", "manual"),
                                              ("xtl", "1.00"), ("ytl", "2.10"), ("xbr", "100.00"),
                                              ("ybr", "300.22"), ("group_id", "3")]
    assert [(a.get("name"), a.text) for a in plain_box] == [("model", "mazda"), ("parked", "false")]
    assert track_box.get("group_id") == "2" and "z_order" not in track_box.attrib
    assert [(a.get("name"), a.text) for a in track_box] == [("parked", "true"), ("model", "bmw")]

    second = images[1]
    assert [c.tag for c in second] == ["polygon", "box", "tag"]
    assert second[0].get("points") == "0.00,0.00;10.00,0.00;10.00,10.00;0.00,10.00"
    assert second[0].get("source") == "auto" and "group_id" not in second[0].attrib
    assert [second[1].get(k) for k in ("xtl", "ytl", "xbr", "ybr", "occluded")] == [
        "10.00", "5.00", "20.00", "15.00", "0"]  # interpolated half-way
    assert list(second[2].attrib.items()) == [("label", "person"), ("source", "manual"), ("group_id", "4")]

    assert images[2][0].get("points") == "5.00,0.00;15.00,0.00;15.00,10.00;5.00,10.00"
    assert images[3][1].get("xtl") == "20.00" and images[3][1].get("occluded") == "1"
    assert [c.tag for c in images[4]] == []  # the outside keyframe is skipped
    assert [c.tag for c in images[5]] == ["points"]
    assert images[5][0].get("points") == "5.00,6.00;7.50,8.25" and images[5][0].get("occluded") == "1"


def test_images_export_z_order_when_enabled() -> None:
    root = ET.fromstring(exported(cvat_images, images_context(z_order=True)))
    assert root.findtext("meta/task/z_order") == "True"
    box = root.find("image/box")
    assert box is not None and list(box.attrib)[-2:] == ["z_order", "group_id"] and box.get("z_order") == "1"


def test_video_export() -> None:
    data = exported(cvat_video, video_context())
    root = ET.fromstring(data)
    assert [c.tag for c in root] == ["version", "meta"] + ["track"] * 4
    task = root.find("meta/task")
    assert task is not None and [c.tag for c in task] == [*META_TASK, "original_size"]
    assert (task.findtext("original_size/width"), task.findtext("original_size/height")) == ("640", "480")
    assert root.findtext("meta/source") == "video.mp4" and task.findtext("frame_filter") == "step=3"
    assert root.find("image") is None and root.find(".//tag") is None
    tracks = root.findall("track")
    assert [list(t.attrib.items()) for t in tracks] == [
        [("id", "0"), ("label", "car"), ("source", "manual"), ("group_id", "2")],
        [("id", "1"), ("label", "person"), ("source", "auto")],
        [("id", "2"), ("label", "car"), ("source", "manual"), ("group_id", "3")],
        [("id", "3"), ("label", "person"), ("source", "auto")]]

    boxes = tracks[0].findall("box")
    assert [(b.get("frame"), b.get("outside"), b.get("keyframe"), b.get("occluded")) for b in boxes] == [
        ("10", "0", "1", "0"), ("13", "0", "0", "0"), ("16", "0", "1", "1"), ("19", "0", "0", "1"),
        ("22", "1", "1", "0")]
    assert list(boxes[1].attrib) == ["frame", "outside", "occluded", "keyframe", "xtl", "ytl", "xbr", "ybr"]
    assert [boxes[1].get(k) for k in ("xtl", "ytl", "xbr", "ybr")] == ["10.00", "5.00", "20.00", "15.00"]
    assert [(a.get("name"), a.text) for a in boxes[1]] == [("parked", "true"), ("model", "bmw")]
    assert [(a.get("name"), a.text) for a in boxes[4]] == [("parked", "false"), ("model", "bmw")]

    polygons = tracks[1].findall("polygon")
    assert [(p.get("frame"), p.get("keyframe")) for p in polygons] == [("13", "1"), ("16", "0"), ("19", "1")]
    assert polygons[1].get("points") == "5.00,0.00;15.00,0.00;15.00,10.00;5.00,10.00"

    assert [(b.get("frame"), b.get("outside"), b.get("keyframe")) for b in tracks[2]] == [
        ("10", "0", "1"), ("13", "1", "1")]  # a plain shape, closed one step later
    assert [(p.get("frame"), p.get("outside")) for p in tracks[3]] == [("25", "0")]  # 25 + 3 is past stop_frame


def test_video_export_closing_keyframe_only_before_the_stop_frame() -> None:
    shape = {"type": "rectangle", "label_id": 1, "group": 0, "occluded": False, "points": [0, 0, 1, 1],
             "attributes": []}
    ctx = export_context(labels(CAR), frames(4, start=10, step=3),
                         {"shapes": [{**shape, "frame": 1}, {**shape, "frame": 2}]}, video=True)
    root = ET.fromstring(exported(cvat_video, ctx))
    assert [[(b.get("frame"), b.get("outside")) for b in t] for t in root.findall("track")] == [
        [("13", "0"), ("16", "1")], [("16", "0")]]  # 16 + 3 = 19 is not before the stop frame 19


def test_video_export_z_order_when_enabled() -> None:
    ctx = video_context()
    ctx.task = replace(ctx.task, z_order=True)
    box = ET.fromstring(exported(cvat_video, ctx)).find("track/box")
    assert box is not None and list(box.attrib)[-1] == "z_order" and box.get("z_order") == "1"


def test_export_escapes_text_and_attributes() -> None:
    stored = labels(('a "quoted" & <odd> label', [{"name": "note", "input_type": "text", "mutable": True}]))
    ctx = export_context(stored, image_frames()[:1], {"tags": [
        {"frame": 0, "label_id": 1, "group": 0, "attributes": [{"spec_id": 101, "value": "x < y & z"}]}]})
    tag = ET.fromstring(exported(cvat_images, ctx)).find("image/tag")
    assert tag is not None and tag.get("label") == 'a "quoted" & <odd> label'
    assert tag.findtext("attribute") == "x < y & z"


def test_dataset_image_paths() -> None:
    ctx = video_context()
    assert cvat_video.image_path(ctx, ctx.frames[0]) == "images/frame_000010.png"
    assert cvat_images.image_path(ctx, image_frames()[1]) == "images/dir/b.png"


def test_export_streams_into_the_member_frame_by_frame() -> None:
    """A long task: the XML is valid and every frame is there (written through small flushes)."""
    many = [Frame(i, i, f"img_{i:05d}.jpg", 100, 100) for i in range(3000)]
    track = {"frame": 0, "label_id": 1, "group": 0, "attributes": [], "shapes": [
        {"type": "rectangle", "frame": 0, "occluded": False, "outside": False, "points": [0, 0, 10, 10],
         "attributes": []}]}
    ctx = export_context(labels(PERSON), many, {"tracks": [track, track]})
    root = ET.fromstring(exported(cvat_images, ctx))
    assert len(root.findall("image")) == 3000 and len(root.findall("image/box")) == 6000


# ---------------------------------------------------------------- round trips


def test_round_trip_images_layout() -> None:
    """Plain shapes and tags come back; tracks come back as plain shapes, one per visible frame
    (identity, keyframes and outside positions are lost; track attributes land on each shape)."""
    ctx = images_context()
    back = imported(exported(cvat_images, ctx), labels(CAR, PERSON), image_frames()).labeled_data()
    assert back["tracks"] == []
    assert [(t["frame"], t["label_id"], t["group"]) for t in back["tags"]] == [(1, 2, 4)]
    by_frame = ctx.shapes_by_frame()
    expected = [shape for frame in sorted(by_frame) for shape in sorted(by_frame[frame], key=lambda s: s.z_order)]
    specs = {"model": MODEL, "parked": PARKED}
    assert [shape_summary(s) for s in back["shapes"]] == [
        (s.type, s.frame, s.label.id, [round(p, 2) for p in s.points], s.occluded, 0,
         sorted((specs[k], v) for k, v in s.attributes.items())) for s in expected]
    assert len(back["shapes"]) == 2 + 4 + 3  # plain shapes, rectangle frames 0-3, polygon frames 1-3
    assert [s["source"] for s in back["shapes"]].count("auto") == 4


def test_round_trip_video_layout() -> None:
    """Tracks come back with their keyframes (the outside keyframe now carries the attributes
    carried forward); plain shapes come back as short tracks; tags are lost."""
    ctx = video_context()
    back = imported(exported(cvat_video, ctx), labels(CAR, PERSON), frames(6, start=10, step=3),
                    video=True).labeled_data()
    assert back["tags"] == [] and back["shapes"] == []
    original = annotations()["tracks"]
    first, polygon, plain_box, plain_points = back["tracks"]
    assert (first["label_id"], first["group"], first["attributes"]) == (1, 2, attrs((MODEL, "bmw")))
    assert [(s["frame"], s["points"], s["occluded"], s["outside"]) for s in first["shapes"]] == [
        (s["frame"], s["points"], s["occluded"], s["outside"]) for s in original[0]["shapes"]]
    assert [s["attributes"] for s in first["shapes"]] == [attrs((PARKED, "true")), attrs((PARKED, "false")),
                                                          attrs((PARKED, "false"))]
    assert [(s["frame"], s["points"]) for s in polygon["shapes"]] == [
        (s["frame"], s["points"]) for s in original[1]["shapes"]]
    assert polygon["source"] == "auto"
    assert [(s["frame"], s["outside"], s["points"]) for s in plain_box["shapes"]] == [
        (0, False, [1.0, 2.1, 100.0, 300.22]), (1, True, [1.0, 2.1, 100.0, 300.22])]
    assert plain_box["attributes"] == attrs((MODEL, "mazda")) and plain_box["group"] == 3
    assert [(s["frame"], s["outside"], s["occluded"]) for s in plain_points["shapes"]] == [(5, False, True)]


# ---------------------------------------------------------------- interpolation (§10.7)


def test_identical_polygons_give_the_same_points() -> None:
    polygon = [0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 3.0, 12.0, 0.0, 10.0]
    for t in (0.0, 0.25, 0.5, 0.9):
        assert interpolate_curve(polygon, polygon, t, closed=True) == polygon
        assert interpolate_curve(polygon, polygon, t, closed=False) == polygon


def test_square_moving_right() -> None:
    square = [0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0]
    moved = [x + 10 if i % 2 == 0 else x for i, x in enumerate(square)]
    assert interpolate_curve(square, moved, 0.5, closed=True) == [5.0, 0.0, 15.0, 0.0, 15.0, 10.0, 5.0, 10.0]
    assert interpolate_points("polygon", square, moved, 0.25) == [2.5, 0.0, 12.5, 0.0, 12.5, 10.0, 2.5, 10.0]


def test_polyline_gaining_a_vertex_forms_a_right_fan() -> None:
    """A: (0,0) (10,0), positions 0, 1; B: (0,0) (5,0) (10,0), positions 0, .5, 1. A0 takes B0,
    A1 takes B2; B1 (.5) is as near A0 as A1 and goes to A0. A0's fan: raw (0,0), (2.5,0); the
    threshold is |B0 B1| / (2*2) = 1.25 and they are 2.5 apart, so both stay."""
    assert interpolate_curve([0, 0, 10, 0], [0, 0, 5, 0, 10, 0], 0.5, closed=False) == [0, 0, 2.5, 0, 10, 0]


def test_left_run_of_close_points_becomes_their_midpoint() -> None:
    """A: (0,0) (1,0) (10,0), positions 0, .1, 1; B: (0,0) (10,0). A0 and A1 both take B0 (a left
    run, threshold |A0 A1| / (2*2) = .25); at t = .9 their raw points (0,0) and (.1,0) are closer
    than that, so the run becomes (.05,0); A2 alone takes B1."""
    result = interpolate_curve([0, 0, 1, 0, 10, 0], [0, 0, 10, 0], 0.9, closed=False)
    assert result == pytest.approx([0.05, 0, 10, 0])
    assert interpolate_curve([0, 0, 1, 0, 10, 0], [0, 0, 10, 0], 0.5, closed=False) == pytest.approx(
        [0, 0, 0.5, 0, 10, 0])  # .5 apart: both kept


def test_polygon_losing_a_vertex() -> None:
    """A triangle (0,0) (10,0) (10,10) closed: perimeter 34.14, positions 0, .293, .586, 1;
    B a flat polygon (0,0) (20,0) closed: positions 0, .5, 1. A0->B0, A1 (.293 vs .207 from
    .5) ->B1, A2 (.586) ->B1, A3->B2: a left run A1-A2 with threshold |A1 A2| / 4 = 2.5; at t=.5
    the raw points (15,0) and (15,5) are 5 apart and both stay. The closing point is dropped."""
    result = interpolate_curve([0, 0, 10, 0, 10, 10], [0, 0, 20, 0], 0.5, closed=True)
    assert result == pytest.approx([0, 0, 15, 0, 15, 5])


def test_flatten_polygon_track_ends_at_its_last_keyframe() -> None:
    ctx = video_context()
    shapes = flatten(ctx.tracks[1], len(ctx.frames) - 1)
    assert [(s.frame, s.keyframe) for s in shapes] == [(1, True), (2, False), (3, True)]
    rectangles = flatten(replace(ctx.tracks[0], shapes=ctx.tracks[0].shapes[:2]), 5)
    assert [(s.frame, s.keyframe, s.points) for s in rectangles][-2:] == [
        (4, False, [20.0, 10.0, 30.0, 20.0]), (5, False, [20.0, 10.0, 30.0, 20.0])]

"""PASCAL VOC 1.1, YOLO 1.1 and MOT 1.1 (spec §10.5): the real Datumaro files of
../shared/data imported with exact values, exports checked field by field, export -> import
round trips, and bad input answered with errors that name the file, line and field."""

import io
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from shared import formats
from shared.formats import mot, voc, yolo
from shared.formats.files import ImportFile, memory_archive
from shared.formats.model import ExportContext, FormatError, ImportContext
from shared.labels import palette_colour
from tests.unit.format_fixtures import export_context, frames, import_context, labels

VOC_ACTIONS = ["other", "jumping", "phoning", "playinginstrument", "reading", "ridingbike", "ridinghorse",
               "running", "takingphoto", "usingcomputer", "walking"]
TEN_LABELS: list[tuple[str, list[dict[str, Any]]]] = [(f"label_{i}", []) for i in range(10)]


# ---------------------------------------------------------------- helpers


def zip_folder(folder: Path, *, only: list[str] | None = None) -> ImportFile:
    """The files of a folder as an uploaded ZIP (member names relative to the folder)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            if path.is_file() and (only is None or name in only):
                archive.write(path, name)
    return ImportFile(buffer, "upload.zip")


def zip_members(members: dict[str, bytes | str]) -> ImportFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return ImportFile(buffer, "upload.zip")


def exported(module: Any, ctx: ExportContext) -> dict[str, bytes]:
    archive, buffer = memory_archive()
    module.export(ctx, archive)
    archive.zip.close()
    with zipfile.ZipFile(buffer) as result:
        return {name: result.read(name) for name in result.namelist()}


def reimport(module: Any, files: dict[str, bytes], ctx: ImportContext) -> ImportContext:
    module.parse(zip_members(dict(files)), ctx)
    return ctx


def attribute_names(stored: list[dict[str, Any]]) -> dict[int, str]:
    return {a["id"]: a["name"] for label in stored for a in label["attributes"]}


def named(values: list[dict[str, Any]], stored: list[dict[str, Any]]) -> dict[str, str]:
    names = attribute_names(stored)
    return {names[v["spec_id"]]: v["value"] for v in values}


def label_name(label_id: int, stored: list[dict[str, Any]]) -> str:
    return next(label["name"] for label in stored if label["id"] == label_id)


def rectangle(frame: int, label_id: int, points: list[float], *, occluded: bool = False,
              attributes: list[dict[str, Any]] | None = None, kind: str = "rectangle") -> dict[str, Any]:
    return {"type": kind, "frame": frame, "label_id": label_id, "points": points, "occluded": occluded,
            "z_order": 0, "group": 0, "source": "manual", "attributes": attributes or []}


def keyframe(frame: int, points: list[float], *, outside: bool = False) -> dict[str, Any]:
    return {"type": "rectangle", "frame": frame, "points": points, "occluded": False, "outside": outside,
            "z_order": 0, "attributes": []}


def track(label_id: int, *shapes: dict[str, Any]) -> dict[str, Any]:
    return {"frame": shapes[0]["frame"], "label_id": label_id, "group": 0, "source": "manual",
            "attributes": [], "shapes": list(shapes)}


def checkbox(name: str) -> dict[str, Any]:
    return {"name": name, "input_type": "checkbox", "default_value": "false", "values": ["false"]}


def text(name: str) -> dict[str, Any]:
    return {"name": name, "input_type": "text", "default_value": "", "values": [""]}


def test_registry_loads_the_three_modules() -> None:
    for name, module in (("PASCAL VOC 1.1", voc), ("YOLO 1.1", yolo), ("MOT 1.1", mot)):
        assert formats.exporter(name).load() is module  # type: ignore[union-attr]
        assert formats.importer(name).load() is module  # type: ignore[union-attr]


# ---------------------------------------------------------------- PASCAL VOC


def voc_labels() -> list[dict[str, Any]]:
    """The labels the real VOC file uses: cat with VOC's object fields, person with the actions."""
    return labels(("cat", [text("pose"), checkbox("truncated"), checkbox("difficult"), checkbox("occluded")]),
                  ("person", [checkbox(action) for action in VOC_ACTIONS]))


def assert_real_voc(ctx: ImportContext, stored: list[dict[str, Any]]) -> None:
    assert ctx.tags == [] and ctx.tracks == []
    cat, person = ctx.shapes
    assert (cat["type"], label_name(cat["label_id"], stored), cat["frame"]) == ("rectangle", "cat", 0)
    assert cat["points"] == [1.0, 2.0, 3.0, 4.0] and cat["occluded"] is False
    assert named(cat["attributes"], stored) == {"pose": "Unspecified", "truncated": "true", "difficult": "false",
                                                "occluded": "false"}
    assert (label_name(person["label_id"], stored), person["points"]) == ("person", [4.0, 5.0, 6.0, 7.0])
    # the <actions> of the file: 1 0 1 0 ... in the order of VOC_ACTIONS; the <part> (head) is ignored
    assert named(person["attributes"], stored) == {
        action: "true" if position % 2 == 0 else "false" for position, action in enumerate(VOC_ACTIONS)}
    assert person["source"] == "manual" and person["group"] == 0


def test_voc_real_file_set_imports(shared_data: Path) -> None:
    stored = voc_labels()
    ctx = import_context(stored, frames(["2007_000001.jpg"], 20, 10))
    voc.parse(zip_folder(shared_data / "annotations" / "voc"), ctx)
    assert_real_voc(ctx, stored)


def test_voc_flat_xml_files_and_a_bare_xml_import_the_same(shared_data: Path) -> None:
    xml = (shared_data / "annotations" / "voc" / "Annotations" / "2007_000001.xml").read_bytes()
    stored = voc_labels()
    flat = import_context(stored, frames(["2007_000001.jpg"], 20, 10))
    voc.parse(zip_members({"2007_000001.xml": xml}), flat)
    assert_real_voc(flat, stored)
    bare = import_context(stored, frames(["2007_000001.jpg"], 20, 10))
    voc.parse(ImportFile(io.BytesIO(xml), "upload"), bare)  # matched by its <filename>
    assert_real_voc(bare, stored)


def voc_export_task(*, video: bool = False) -> ExportContext:
    stored = labels(("car", [checkbox("truncated"), checkbox("difficult"), text("pose"), text("color"),
                             {"name": "weight", "input_type": "number", "default_value": "1",
                              "values": ["0", "10", "1"]}]),
                    ("person", []))
    car = rectangle(0, 1, [10.5, 20.0, 30.0, 40.25], occluded=True, attributes=[
        {"spec_id": 101, "value": "true"}, {"spec_id": 102, "value": "false"}, {"spec_id": 103, "value": "Left"},
        {"spec_id": 104, "value": "red"}, {"spec_id": 105, "value": "5"}])
    polygon = rectangle(0, 2, [1, 1, 5, 1, 5, 5], kind="polygon")
    walker = track(2, keyframe(0, [0, 0, 10, 10]), keyframe(1, [0, 0, 10, 10], outside=True))
    tag = {"frame": 1, "label_id": 1, "group": 0, "source": "manual", "attributes": []}
    names = 2 if video else ["2007_000001.jpg", "dir/b.png"]
    return export_context(stored, frames(names), {"shapes": [car, polygon], "tracks": [walker], "tags": [tag]},
                          video=video)


def test_voc_export_annotations_with_the_standard_parser() -> None:
    files = exported(voc, voc_export_task())
    root = ET.fromstring(files["Annotations/2007_000001.xml"])
    assert (root.tag, root.findtext("folder"), root.findtext("filename")) == ("annotation", "2007", "2007_000001.jpg")
    assert [root.findtext(f"size/{f}") for f in ("width", "height", "depth")] == ["640", "480", "3"]
    assert root.findtext("segmented") == "0" and root.findtext("source/database") == "Unknown"
    car, walker = root.findall("object")  # the polygon is not exported
    assert car.findtext("name") == "car" and car.findtext("pose") == "Left"
    assert [car.findtext(f) for f in ("truncated", "difficult", "occluded")] == ["1", "0", "1"]
    assert [car.findtext(f"bndbox/{f}") for f in ("xmin", "ymin", "xmax", "ymax")] == ["10.5", "20.0", "30.0", "40.25"]
    # other attributes as Datumaro types them: numbers as floats
    assert [(a.findtext("name"), a.findtext("value")) for a in car.iterfind("attributes/attribute")] == [
        ("color", "red"), ("weight", "5.0")]
    assert walker.findtext("name") == "person" and walker.find("pose") is None
    assert [walker.findtext(f) for f in ("truncated", "difficult", "occluded")] == ["0", "0", "0"]
    assert [(a.findtext("name"), a.findtext("value")) for a in walker.iterfind("attributes/attribute")] == [
        ("track_id", "0"), ("keyframe", "True")]
    # the track is outside on the second frame: nothing there
    second = ET.fromstring(files["Annotations/dir/b.xml"])
    assert (second.findtext("folder"), second.findtext("filename"), second.findall("object")) == ("", "dir/b.png", [])


def test_voc_export_lists_and_label_map() -> None:
    files = {name: data.decode() for name, data in exported(voc, voc_export_task()).items()}
    assert files["ImageSets/Main/default.txt"] == "2007_000001\ndir/b\n"
    for task in ("Segmentation", "Layout", "Action"):
        assert files[f"ImageSets/{task}/default.txt"] == "2007_000001\ndir/b\n"
    # classification lists: only items with tags, "  1" when the label is there, " -1" otherwise
    assert files["ImageSets/Main/car_default.txt"] == "dir/b  1\n"
    assert files["ImageSets/Main/person_default.txt"] == "dir/b -1\n"
    assert files["ImageSets/Main/background_default.txt"] == "dir/b -1\n"
    assert files["labelmap.txt"] == ("# label:color_rgb:parts:actions\nbackground:0,0,0::\ncar:128,0,0::\n"
                                     "person:0,128,0::\n")
    assert not any(name.startswith(("JPEGImages/", "Segmentation")) for name in files)


def test_voc_image_paths() -> None:
    images, video = voc_export_task(), voc_export_task(video=True)
    assert voc.image_path(images, images.frames[1]) == "JPEGImages/dir/b.png"
    assert voc.image_path(video, video.frames[1]) == "JPEGImages/frame_000001.png"
    root = ET.fromstring(exported(voc, video)["Annotations/frame_000001.xml"])
    assert root.findtext("filename") == "frame_000001.png"


def test_voc_round_trip() -> None:
    """VOC keeps rectangles (with occlusion and attributes) and tags. It cannot carry polygons
    and other shapes, tracks (their visible positions come back as rectangles), groups,
    z-order or sources; numbers come back as Datumaro wrote them (5 -> 5.0)."""
    task = voc_export_task()
    stored = labels(("car", [checkbox("truncated"), checkbox("difficult"), text("pose"), text("color"),
                             {"name": "weight", "input_type": "number", "default_value": "1",
                              "values": ["0", "10", "1"]}]), ("person", []))
    ctx = reimport(voc, exported(voc, task), import_context(stored, task.frames))
    car, walker = ctx.shapes
    assert (car["frame"], car["label_id"], car["points"], car["occluded"]) == (0, 1, [10.5, 20.0, 30.0, 40.25], True)
    assert named(car["attributes"], stored) == {"truncated": "true", "difficult": "false", "pose": "Left",
                                                "color": "red", "weight": "5.0"}
    assert (walker["frame"], walker["label_id"], walker["points"], walker["occluded"]) == (0, 2, [0, 0, 10, 10], False)
    assert ctx.tracks == []
    assert [(t["frame"], t["label_id"]) for t in ctx.tags] == [(1, 1)]


def test_voc_class_lists_become_tags() -> None:
    ctx = import_context(labels(("cat", []), ("dog_big", [])), frames(["a.jpg", "b.jpg"]))
    voc.parse(zip_members({"ImageSets/Main/default.txt": "a\nb\n", "ImageSets/Main/cat_default.txt": "a  1\nb -1\n",
                           "ImageSets/Main/dog_big_default.txt": "a -1\nb  1\n"}), ctx)
    assert sorted((t["frame"], t["label_id"]) for t in ctx.tags) == [(0, 1), (1, 2)]
    assert ctx.shapes == []


def mask_png(values: np.ndarray, palette: list[tuple[int, int, int]]) -> bytes:
    """A palette PNG as VOC ships its masks."""
    image = Image.fromarray(values, "P")
    flat = [channel for color in palette for channel in color]
    image.putpalette(flat + [0] * (768 - len(flat)))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


VOC_LABELMAP = "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncat:128,0,0::\ndog:0,128,0::\n"
CLASS_PALETTE = [(0, 0, 0), (128, 0, 0), (0, 128, 0), *[(0, 0, 0)] * 252, (224, 224, 192)]  # 255: void


def test_voc_instance_masks_become_polygons_with_their_class() -> None:
    masks = pytest.importorskip("shared.formats.masks")
    # 20x10: a cat instance (left block), a dog instance (right block), a cat instance in two
    # pieces (bottom left); 255 is VOC's void border
    classes = np.zeros((10, 20), np.uint8)
    classes[2:6, 2:8], classes[4:9, 12:18], classes[8:10, 0:2], classes[8:10, 4:6] = 1, 2, 1, 1
    instances = np.zeros((10, 20), np.uint8)
    instances[2:6, 2:8], instances[4:9, 12:18], instances[8:10, 0:2], instances[8:10, 4:6] = 1, 2, 3, 3
    instances[1, 2:8] = classes[1, 2:8] = 255
    ctx = import_context(labels(("cat", []), ("dog", [])), frames(["x.jpg"], 20, 10))
    voc.parse(zip_members({"labelmap.txt": VOC_LABELMAP, "SegmentationClass/x.png": mask_png(classes, CLASS_PALETTE),
                           "SegmentationObject/x.png": mask_png(instances, [palette_colour(i) for i in range(256)])}),
              ctx)
    assert [(s["type"], s["label_id"], s["frame"], s["group"]) for s in ctx.shapes] == [
        ("polygon", 1, 0, 0), ("polygon", 2, 0, 0), ("polygon", 1, 0, 1), ("polygon", 1, 0, 1)]
    cat, dog, *pieces = ctx.shapes
    assert np.array_equal(masks.rasterize([cat["points"]], 20, 10), instances == 1)
    assert np.array_equal(masks.rasterize([dog["points"]], 20, 10), instances == 2)
    assert np.array_equal(masks.rasterize([p["points"] for p in pieces], 20, 10), instances == 3)


def test_voc_class_masks_without_instances_become_polygons_per_label() -> None:
    masks = pytest.importorskip("shared.formats.masks")
    classes = np.zeros((10, 20), np.uint8)
    classes[1:4, 1:4], classes[6:9, 1:4], classes[2:8, 10:19] = 1, 1, 2
    classes[0, :] = 255  # void: in neither the label map nor a task label
    ctx = import_context(labels(("cat", []), ("dog", [])), frames(["x.jpg"], 20, 10))
    voc.parse(zip_members({"labelmap.txt": VOC_LABELMAP, "SegmentationClass/x.png": mask_png(classes, CLASS_PALETTE)}),
              ctx)
    assert sorted(s["label_id"] for s in ctx.shapes) == [1, 1, 2]
    cats = [s["points"] for s in ctx.shapes if s["label_id"] == 1]
    assert np.array_equal(masks.rasterize(cats, 20, 10), classes == 1)


def test_voc_bad_input_names_the_problem() -> None:
    def xml(name: str, xmin: str = "1") -> str:
        return (f"<annotation><filename>{name}.jpg</filename><object><name>cat</name><bndbox><xmin>{xmin}</xmin>"
                "<ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>")

    def parse(members: dict[str, bytes | str], stored: list[dict[str, Any]]) -> None:
        voc.parse(zip_members(members), import_context(stored, frames(["a.jpg"])))

    with pytest.raises(FormatError, match="Label 'cat' is not registered for this task"):
        parse({"Annotations/a.xml": xml("a")}, labels(("dog", [])))
    with pytest.raises(FormatError, match=r"Annotations/nope\.xml: unknown image 'nope'"):
        parse({"Annotations/nope.xml": xml("nope")}, labels(("cat", [])))
    with pytest.raises(FormatError, match=r"Annotations/a.xml: object 1 \(cat\): bndbox/xmin: 'left' is not a number"):
        parse({"Annotations/a.xml": xml("a", "left")}, labels(("cat", [])))
    with pytest.raises(FormatError, match=r"ImageSets/Main/cat_default\.txt, line 2"):
        parse({"ImageSets/Main/cat_default.txt": "a  1\na yes\n"}, labels(("cat", [])))
    with pytest.raises(FormatError, match=r"a\.xml: line 1"):
        parse({"a.xml": "<annotation><object>"}, labels(("cat", [])))


# ---------------------------------------------------------------- YOLO


def test_yolo_real_file_set_imports(shared_data: Path) -> None:
    folder = shared_data / "annotations" / "yolo"
    with Image.open(folder / "obj_train_data" / "1.jpg") as image:
        width, height = image.size
    stored = labels(*TEN_LABELS)
    ctx = import_context(stored, frames(["1.jpg"], width, height))
    yolo.parse(zip_folder(folder), ctx)

    def expected(cx: float, cy: float, w: float, h: float) -> list[float]:
        x, y = (cx - w * 0.5) * width, (cy - h * 0.5) * height
        return [x, y, x + w * width, y + h * height]

    assert [(label_name(s["label_id"], stored), s["points"]) for s in ctx.shapes] == [
        ("label_2", expected(0.133333, 0.300000, 0.266667, 0.200000)),
        ("label_4", expected(0.266667, 0.450000, 0.133333, 0.300000))]
    # on the 15x10 image these are the boxes [0, 2, 4, 4] and [3, 3, 5, 6] within the 6 decimals
    assert np.allclose([s["points"] for s in ctx.shapes], [[0, 2, 4, 4], [3, 3, 5, 6]], atol=1e-4)
    assert all(s["type"] == "rectangle" and s["frame"] == 0 and not s["occluded"] for s in ctx.shapes)
    assert ctx.tracks == [] and ctx.tags == []


def yolo_task(*, video: bool = False) -> ExportContext:
    stored = labels(("a", [text("color")]), ("b", []))
    box = rectangle(0, 2, [10, 20, 50, 60], occluded=True, attributes=[{"spec_id": 101, "value": "x"}])
    mover = track(1, keyframe(0, [0, 0, 100, 50]), keyframe(1, [100, 50, 200, 100]))
    polygon = rectangle(1, 1, [1, 1, 5, 1, 5, 5], kind="polygon")
    names = 2 if video else ["img/x.jpg", "y.png"]
    return export_context(stored, frames(names, 200, 100), {"shapes": [box, polygon], "tracks": [mover]},
                          video=video)


def test_yolo_export_text_exactly() -> None:
    files = {name: data.decode() for name, data in exported(yolo, yolo_task()).items()}
    assert files["obj.names"] == "a\nb\n"
    assert files["obj.data"] == "classes = 2\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n"
    assert files["train.txt"] == "data/obj_train_data/img/x.jpg\ndata/obj_train_data/y.png\n"
    assert files["obj_train_data/img/x.txt"] == ("1 0.150000 0.400000 0.200000 0.400000\n"
                                                 "0 0.250000 0.250000 0.500000 0.500000\n")
    assert files["obj_train_data/y.txt"] == "0 0.750000 0.750000 0.500000 0.500000\n"


def test_yolo_video_frames_use_jpg_names() -> None:
    task = yolo_task(video=True)
    files = exported(yolo, task)
    assert files["train.txt"].decode() == "data/obj_train_data/frame_000000.jpg\ndata/obj_train_data/frame_000001.jpg\n"
    assert yolo.image_path(task, task.frames[0]) == "obj_train_data/frame_000000.jpg"
    assert "obj_train_data/frame_000001.txt" in files


def test_yolo_round_trip() -> None:
    """YOLO keeps boxes and labels to 6 normalised decimals. It cannot carry attributes,
    occlusion, tracks (every visible position comes back as a rectangle), tags, groups or
    other shape types."""
    task = yolo_task()
    stored = labels(("a", [text("color")]), ("b", []))
    ctx = reimport(yolo, exported(yolo, task), import_context(stored, task.frames))
    assert [(s["frame"], s["label_id"], s["occluded"], s["attributes"]) for s in ctx.shapes] == [
        (0, 2, False, []), (0, 1, False, []), (1, 1, False, [])]
    assert np.allclose([s["points"] for s in ctx.shapes], [[10, 20, 50, 60], [0, 0, 100, 50], [100, 50, 200, 100]],
                       atol=1e-6 * 200)
    assert ctx.tracks == [] and ctx.tags == []


def yolo_members(lines: str, names: str = "a\nb\n", item: str = "x") -> dict[str, bytes | str]:
    return {"obj.data": "classes = 2\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n",
            "obj.names": names, "train.txt": f"data/obj_train_data/{item}.jpg\n",
            f"obj_train_data/{item}.txt": lines}


def test_yolo_bad_input_names_the_problem() -> None:
    def parse(members: dict[str, bytes | str]) -> None:
        yolo.parse(zip_members(members), import_context(labels(("a", []), ("b", [])), frames(["x.jpg"], 100, 50)))

    with pytest.raises(FormatError, match=r"obj_train_data/x.txt, line 2: expected 5 fields .* got 4"):
        parse(yolo_members("0 0.5 0.5 0.1 0.1\n1 0.5 0.5 0.1\n"))
    with pytest.raises(FormatError, match=r"obj_train_data/x.txt, line 1, cy: 'abc' is not a number"):
        parse(yolo_members("1 0.5 abc 0.1 0.1\n"))
    with pytest.raises(FormatError, match=r"obj_train_data/x.txt, line 1: label index '2' is not a line of obj.names"):
        parse(yolo_members("2 0.5 0.5 0.1 0.1\n"))
    with pytest.raises(FormatError, match="Label 'car' is not registered for this task"):
        parse(yolo_members("1 0.5 0.5 0.1 0.1\n", names="a\ncar\n"))
    with pytest.raises(FormatError, match=r"obj_train_data/nope\.txt: unknown image 'nope'"):
        parse(yolo_members("1 0.5 0.5 0.1 0.1\n", item="nope"))
    with pytest.raises(FormatError, match=r"YOLO 1\.1 takes a ZIP"):
        yolo.parse(ImportFile(io.BytesIO(b"0 0.5 0.5 0.1 0.1\n"), "x.txt"), import_context(labels(("a", [])),
                                                                                          frames(["x.jpg"])))


def test_yolo_without_obj_data_reads_obj_names_and_label_folders() -> None:
    ctx = import_context(labels(("a", []), ("b", [])), frames(["x.jpg"], 100, 50))
    yolo.parse(zip_members({"obj.names": "a\nb\n", "obj_train_data/x.txt": "1 0.5 0.5 0.2 0.4\n"}), ctx)
    assert [(s["label_id"], s["points"]) for s in ctx.shapes] == [(2, [40.0, 15.0, 60.0, 35.0])]


# ---------------------------------------------------------------- MOT


def test_mot_real_file_set_imports(shared_data: Path) -> None:
    folder = shared_data / "annotations" / "mot"
    names = (folder / "gt" / "labels.txt").read_text().split()
    assert names == [name for name, _ in TEN_LABELS]
    stored = labels(*TEN_LABELS)
    ctx = import_context(stored, frames(["000001.jpg"], 16, 16))
    mot.parse(zip_folder(folder), ctx)
    # 1,-1,0,4,4,8,1,3,1.0: frame 1, no track, box (0,4) 4x8, class 3, fully visible
    (shape,) = ctx.shapes
    assert (shape["type"], shape["frame"], label_name(shape["label_id"], stored)) == ("rectangle", 0, "label_2")
    assert shape["points"] == [0.0, 4.0, 4.0, 12.0] and shape["occluded"] is False
    assert ctx.tracks == [] and ctx.tags == []


def mot_task(names: list[str] | int = 4) -> ExportContext:
    stored = labels(("a", []), ("b", []))
    plain = rectangle(0, 1, [1, 2, 11.5, 22], occluded=True)
    polygon = rectangle(0, 1, [1, 1, 5, 1, 5, 5], kind="polygon")
    first = track(2, keyframe(0, [0, 0, 10, 10]), keyframe(2, [20, 20, 30, 30]),
                  keyframe(3, [20, 20, 30, 30], outside=True))
    second = track(1, keyframe(1, [5, 5, 6, 6]))
    return export_context(stored, frames(names), {"shapes": [plain, polygon], "tracks": [first, second]},
                          video=isinstance(names, int))


def test_mot_export_rows_exactly() -> None:
    files = {name: data.decode() for name, data in exported(mot, mot_task()).items()}
    assert files["gt/gt.txt"].splitlines() == [
        "1,-1,1.0,2.0,10.5,20.0,1,1,0.0",  # the plain shape: occluded -> visibility 0
        "1,1,0.0,0.0,10.0,10.0,1,2,1.0",
        "2,1,10.0,10.0,10.0,10.0,1,2,1.0",  # interpolated half-way
        "2,2,5.0,5.0,1.0,1.0,1,1,1.0",
        "3,1,20.0,20.0,10.0,10.0,1,2,1.0",
        "3,2,5.0,5.0,1.0,1.0,1,1,1.0",  # the second track runs to the end of the task
        "4,2,5.0,5.0,1.0,1.0,1,1,1.0",  # the first is outside here
    ]
    assert files["gt/labels.txt"] == "a\nb"
    assert set(files) == {"gt/gt.txt", "gt/labels.txt"}


def test_mot_frame_ids_and_image_paths() -> None:
    task = mot_task(["000005.jpg", "b.jpg", "c", "d.png"])
    assert [mot.frame_id(f) for f in task.frames] == [5, 2, 3, 4]
    assert [mot.image_path(task, f) for f in task.frames] == ["img1/000005.jpg", "img1/000002.jpg", "img1/000003.png",
                                                              "img1/000004.png"]
    assert exported(mot, task)["gt/gt.txt"].decode().startswith("5,-1,1.0,2.0,")
    video = mot_task()
    assert mot.image_path(video, video.frames[0]) == "img1/000001.png"


def test_mot_round_trip() -> None:
    """MOT keeps boxes, labels, track identity and occlusion. Every exported track position
    comes back as a keyframe, with an outside keyframe after the last row when the task goes
    on; attributes, groups, z-order, tags and other shape types are lost."""
    task = mot_task()
    ctx = reimport(mot, exported(mot, task), import_context(labels(("a", []), ("b", [])), task.frames, video=True))
    assert [(s["frame"], s["label_id"], s["points"], s["occluded"]) for s in ctx.shapes] == [
        (0, 1, [1.0, 2.0, 11.5, 22.0], True)]
    first, second = ctx.tracks
    assert (first["label_id"], first["frame"]) == (2, 0)
    assert [(s["frame"], s["points"], s["outside"]) for s in first["shapes"]] == [
        (0, [0, 0, 10, 10], False), (1, [10, 10, 20, 20], False), (2, [20, 20, 30, 30], False),
        (3, [20, 20, 30, 30], True)]
    assert second["label_id"] == 1
    assert [(s["frame"], s["outside"]) for s in second["shapes"]] == [(1, False), (2, False), (3, False)]


def test_mot_import_sorts_rows_and_takes_labels_from_the_task_without_labels_txt() -> None:
    ctx = import_context(labels(("a", []), ("b", [])), frames(5))
    mot.parse(zip_members({"gt/gt.txt": "3,7,1,1,2,2,1,2,1\n1,7,0,0,2,2,1,2,0\n"}), ctx)
    (moved,) = ctx.tracks
    assert moved["label_id"] == 2
    assert [(s["frame"], s["points"], s["occluded"], s["outside"]) for s in moved["shapes"]] == [
        (0, [0, 0, 2, 2], True, False), (2, [1, 1, 3, 3], False, False), (3, [1, 1, 3, 3], False, True)]


def test_mot_bad_input_names_the_problem() -> None:
    def parse(rows: str, names: str = "a\nb") -> None:
        mot.parse(zip_members({"gt/gt.txt": rows, "gt/labels.txt": names}),
                  import_context(labels(("a", []), ("b", [])), frames(3)))

    with pytest.raises(FormatError, match=r"gt/gt.txt, line 2, x: 'abc' is not a number"):
        parse("1,-1,0,0,1,1,1,1,1\n2,-1,abc,0,1,1,1,1,1\n")
    with pytest.raises(FormatError, match=r"gt/gt.txt, line 1: frame_id 9 is not a frame of the task \(1..3\)"):
        parse("9,-1,0,0,1,1,1,1,1\n")
    with pytest.raises(FormatError, match=r"gt/gt.txt, line 1: class_id 3 is not a line of labels.txt"):
        parse("1,-1,0,0,1,1,1,3,1\n")
    with pytest.raises(FormatError, match="Label 'car' is not registered for this task"):
        parse("1,-1,0,0,1,1,1,2,1\n", names="a\ncar")
    with pytest.raises(FormatError, match=r"gt/gt.txt, line 1, frame_id: '1.5' is not a whole number"):
        parse("1.5,-1,0,0,1,1,1,1,1\n")
    with pytest.raises(FormatError, match=r"the archive has no gt/gt\.txt"):
        mot.parse(zip_members({"labels.txt": "a"}), import_context(labels(("a", [])), frames(3)))

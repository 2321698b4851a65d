"""COCO 1.0: the sample file of the original's tests, exports checked with pycocotools (an
independent reader), round trips, RLE masks imported as polygons, and refused documents."""

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from shared.formats import coco
from shared.formats.files import ImportFile, memory_archive
from shared.formats.masks import rasterize, rle_decode
from shared.formats.model import FormatError, ImportContext
from tests.unit.format_fixtures import export_context, frames, import_context, labels

# pycocotools 2.0.11 under numpy 2 warns inside decode(); the values are right
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SAMPLE = DATA / "annotations" / "coco" / "instances_default.json"

SAMPLE_LABELS = labels(
    ("a", [{"name": "x", "input_type": "number", "values": ["0", "10", "1"]},
           {"name": "y", "input_type": "text", "mutable": True}]),
    ("b", [{"name": "is_crowd", "input_type": "checkbox", "default_value": "false"}]),
    ("c", []),
)


def _import(data: bytes, ctx: ImportContext, name: str = "annotations.json") -> dict[str, Any]:
    coco.parse(ImportFile(io.BytesIO(data), name), ctx)
    return ctx.labeled_data()


def _document(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "categories": [{"id": 1, "name": "car", "supercategory": ""}],
        "images": [{"id": 0, "file_name": "test_1.jpg", "width": 64, "height": 48}],
        "annotations": [{"id": 1, "image_id": 0, "category_id": 1, "iscrowd": 0, "segmentation": [[]],
                         "area": 10.0, "bbox": [5.0, 6.0, 7.0, 8.0]}],
    }
    return {**base, **overrides}


def _car_context() -> ImportContext:
    return import_context(labels(("car", []), ("person", [])), frames(["test_1.jpg"], 64, 48))


# ---------------------------------------------------------------- import


@pytest.mark.skipif(not SAMPLE.exists(), reason=f"sample data folder not found: {SAMPLE}")
def test_sample_file_polygon_and_crowd_mask():
    ctx = import_context(SAMPLE_LABELS, frames(["a.jpg", "b.jpg"], 5, 10))
    shapes = _import(SAMPLE.read_bytes(), ctx, "instances_default.json")["shapes"]
    assert len(shapes) == 2
    polygon, mask = shapes
    # image 40 is b.jpg: matched by file name, not by id or position
    assert polygon == {"id": None, "type": "polygon", "frame": 1, "label_id": 1, "group": 0, "source": "manual",
                       "occluded": False, "z_order": 0, "points": [0.0, 0.0, 1.0, 0.0, 1.0, 2.0, 0.0, 2.0],
                       "attributes": [{"spec_id": 101, "value": "1"}, {"spec_id": 102, "value": "hello"}]}
    # the crowd RLE (counts [0, 20, 30], size [10, 5]: the two left columns) is an outline now
    assert mask["type"] == "polygon" and mask["frame"] == 1 and mask["label_id"] == 2 and mask["group"] == 0
    assert mask["points"] == [0.0, 0.0, 2.0, 0.0, 2.0, 10.0, 0.0, 10.0]
    assert mask["attributes"] == [{"spec_id": 103, "value": "true"}]  # is_crowd, as Datumaro attached it
    decoded = rle_decode([0, 20, 30], 10, 5)
    assert decoded.sum() == 20
    assert np.array_equal(rasterize([mask["points"]], 5, 10), decoded)


def test_minimal_document_with_one_box_and_empty_segmentation():
    """Spec §12.17: the original's upload test file."""
    shapes = _import(json.dumps(_document()).encode(), _car_context())["shapes"]
    assert [(s["type"], s["frame"], s["label_id"], s["points"]) for s in shapes] == [
        ("rectangle", 0, 1, [5.0, 6.0, 12.0, 14.0])]


def test_compressed_rle_with_two_regions_becomes_a_group_of_polygons():
    mask = np.zeros((48, 64), dtype=bool)
    mask[2:10, 3:9] = True
    mask[20:30, 40:60] = True
    mask[24:26, 45:50] = False  # a hole: filled on import (outer outlines only)
    encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    annotation = {"id": 7, "image_id": 0, "category_id": 1, "iscrowd": 1, "bbox": [3, 2, 57, 28], "area": 0,
                  "segmentation": {"size": [48, 64], "counts": encoded["counts"].decode()},
                  "attributes": {"occluded": True}}
    shapes = _import(json.dumps(_document(annotations=[annotation])).encode(), _car_context())["shapes"]
    assert [(s["type"], s["group"], s["occluded"]) for s in shapes] == [("polygon", 1, True), ("polygon", 1, True)]
    filled = mask.copy()
    filled[24:26, 45:50] = True
    assert np.array_equal(rasterize([s["points"] for s in shapes], 64, 48), filled)
    assert shapes[0]["points"] == [3.0, 2.0, 9.0, 2.0, 9.0, 10.0, 3.0, 10.0]


def test_polygons_of_one_annotation_are_grouped_and_others_not():
    annotations = [
        {"id": 3, "image_id": 0, "category_id": 2, "iscrowd": 0, "bbox": [0, 0, 1, 1],
         "segmentation": [[0, 0, 4, 0, 4, 4], [10, 10, 14, 10, 14, 14]]},
        {"id": 4, "image_id": 0, "category_id": 1, "iscrowd": 0, "bbox": [1, 2, 3, 4], "segmentation": []},
    ]
    document = _document(categories=[{"id": 1, "name": "car"}, {"id": 2, "name": "person"}], annotations=annotations)
    shapes = _import(json.dumps(document).encode(), _car_context())["shapes"]
    assert [(s["type"], s["label_id"], s["group"]) for s in shapes] == [
        ("polygon", 2, 1), ("polygon", 2, 1), ("rectangle", 1, 0)]
    assert shapes[2]["points"] == [1.0, 2.0, 4.0, 6.0]


def test_image_matched_by_id_when_the_name_is_unknown():
    document = _document(images=[{"id": 0, "file_name": "elsewhere/other.jpg", "width": 64, "height": 48}])
    ctx = import_context(labels(("car", [])), frames(["x.jpg", "y.jpg"], 64, 48))
    assert [s["frame"] for s in _import(json.dumps(document).encode(), ctx)["shapes"]] == [0]


def test_zip_with_instances_documents_only():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("annotations/instances_default.json", json.dumps(_document()))
        archive.writestr("annotations/person_keypoints_default.json", "not read")
        archive.writestr("images/test_1.jpg", b"\xff\xd8")
    shapes = _import(buffer.getvalue(), _car_context(), "upload.zip")["shapes"]
    assert [s["type"] for s in shapes] == ["rectangle"]


# ---------------------------------------------------------------- export

EXPORT_LABELS = labels(
    ("car", [{"name": "model", "input_type": "text", "default_value": "none"},
             {"name": "doors", "input_type": "number", "default_value": "4", "values": ["2", "5", "1"]},
             {"name": "parked", "input_type": "checkbox", "default_value": "false", "mutable": True}]),
    ("person", []),
    ("crowd", [{"name": "is_crowd", "input_type": "checkbox", "default_value": "true"}]),
)


def _shape(kind: str, frame: int, label: int, points: list[float], **fields: Any) -> dict[str, Any]:
    return {"type": kind, "frame": frame, "label_id": label, "points": points, "occluded": False, "z_order": 0,
            "group": 0, "attributes": [], **fields}


def _export_ctx():
    annotations = {
        "shapes": [
            _shape("rectangle", 0, 1, [10, 10, 30, 20], attributes=[{"spec_id": 101, "value": "bmw"},
                                                                    {"spec_id": 103, "value": "true"}]),
            _shape("polygon", 0, 2, [40.3, 5.2, 60.7, 8.1, 52.2, 30.9], occluded=True, z_order=2),
            _shape("polygon", 1, 1, [1, 1, 11, 1, 11, 11, 1, 11], group=5),  # 100 px, the group's leader
            _shape("rectangle", 1, 2, [20, 20, 25, 25], group=5),  # 25 px
            _shape("polygon", 1, 3, [30, 30, 40, 30, 35, 40]),  # is_crowd defaults to true: an RLE
            _shape("polyline", 1, 1, [0, 0, 5, 5]),
            _shape("points", 1, 1, [3, 3]),
        ],
        "tags": [{"frame": 0, "label_id": 2, "group": 0, "attributes": []}],
        "tracks": [{"frame": 0, "label_id": 2, "group": 0, "attributes": [], "shapes": [
            {"type": "rectangle", "frame": 0, "points": [0, 0, 4, 4], "occluded": False, "outside": False,
             "z_order": 1, "attributes": []},
            {"type": "rectangle", "frame": 1, "points": [2, 2, 6, 6], "occluded": False, "outside": True,
             "z_order": 1, "attributes": []}]}],
    }
    return export_context(EXPORT_LABELS, frames(["a.jpg", "dir/b.png"], 64, 48), annotations)


def _exported(ctx) -> dict[str, Any]:
    archive, buffer = memory_archive()
    coco.export(ctx, archive)
    archive.zip.close()
    with zipfile.ZipFile(buffer) as done:
        assert done.namelist() == ["annotations/instances_default.json"]
        return json.loads(done.read("annotations/instances_default.json"))


def _load_with_pycocotools(document: dict[str, Any], tmp_path: Path) -> COCO:
    path = tmp_path / "instances_default.json"
    path.write_text(json.dumps(document))
    return COCO(str(path))


def test_export_reads_back_with_pycocotools(tmp_path):
    document = _exported(_export_ctx())
    api = _load_with_pycocotools(document, tmp_path)
    assert document["licenses"] == [{"name": "", "id": 0, "url": ""}]
    assert [(c["id"], c["name"]) for c in api.loadCats(api.getCatIds())] == [(1, "car"), (2, "person"), (3, "crowd")]
    assert [(i["id"], i["file_name"], i["width"], i["height"]) for i in document["images"]] == [
        (1, "a.jpg", 64, 48), (2, "dir/b.png", 64, 48)]
    annotations = document["annotations"]
    assert [a["id"] for a in annotations] == [1, 2, 3, 4, 5]
    # frame 0 in z_order (plain shapes before track shapes), frame 1 ungrouped shapes before groups;
    # polylines, points and tags are not exported
    assert [(a["image_id"], a["category_id"], a["iscrowd"]) for a in annotations] == [
        (1, 1, 0), (1, 2, 0), (1, 2, 0), (2, 3, 1), (2, 1, 0)]
    for annotation in annotations:
        if annotation["segmentation"]:
            assert api.annToMask(annotation).sum() == annotation["area"]


def test_export_rectangles_polygons_and_attributes():
    box, track, triangle, crowd, group = _exported(_export_ctx())["annotations"]
    assert box["segmentation"] == [] and box["bbox"] == [10.0, 10.0, 20.0, 10.0] and box["area"] == 200.0
    assert box["attributes"] == {"model": "bmw", "doors": 4.0, "parked": True, "occluded": False}
    assert track["bbox"] == [0.0, 0.0, 4.0, 4.0]
    assert track["attributes"] == {"occluded": False, "track_id": 0, "keyframe": True}
    assert triangle["segmentation"] == [[40.3, 5.2, 60.7, 8.1, 52.2, 30.9]]
    assert triangle["bbox"] == pytest.approx([40.3, 5.2, 20.4, 25.7])
    rle = coco_mask.frPyObjects(triangle["segmentation"], 48, 64)
    assert triangle["area"] == float(coco_mask.area(coco_mask.merge(rle)))
    assert triangle["attributes"] == {"occluded": True}
    # one instance for group 5: the polygon's outline, the box of both, the leader's label
    assert group["category_id"] == 1 and group["segmentation"] == [[1.0, 1.0, 11.0, 1.0, 11.0, 11.0, 1.0, 11.0]]
    assert group["bbox"] == [1.0, 1.0, 24.0, 24.0] and group["area"] == 100.0
    assert crowd["attributes"] == {"occluded": False}  # is_crowd is not repeated
    assert crowd["segmentation"]["size"] == [48, 64]
    assert crowd["area"] == float(coco_mask.area(coco_mask.merge(coco_mask.frPyObjects([[30, 30, 40, 30, 35, 40]],
                                                                                        48, 64))))


def test_outside_track_positions_are_dropped():
    annotations = _exported(_export_ctx())["annotations"]
    assert not [a for a in annotations if a["image_id"] == 2 and a["attributes"].get("track_id") == 0]


def test_video_frames_are_jpg_images():
    ctx = export_context(labels(("car", [])), frames(2, 32, 24), {})
    document = _exported(ctx)
    assert [i["file_name"] for i in document["images"]] == ["frame_000000.jpg", "frame_000001.jpg"]
    assert coco.image_path(ctx, ctx.frames[1]) == "images/frame_000001.jpg"
    assert coco.image_path(_export_ctx(), _export_ctx().frames[1]) == "images/dir/b.png"
    assert document["annotations"] == []


def test_round_trip():
    exported = _exported(_export_ctx())
    ctx = import_context(EXPORT_LABELS, frames(["a.jpg", "dir/b.png"], 64, 48))
    shapes = _import(json.dumps(exported).encode(), ctx)["shapes"]
    summary = [(s["type"], s["frame"], s["label_id"], s["points"], s["occluded"], s["group"]) for s in shapes]
    assert summary[:3] == [
        ("rectangle", 0, 1, [10.0, 10.0, 30.0, 20.0], False, 0),
        ("rectangle", 0, 2, [0.0, 0.0, 4.0, 4.0], False, 0),
        ("polygon", 0, 2, [40.3, 5.2, 60.7, 8.1, 52.2, 30.9], True, 0),
    ]
    assert len(shapes) == 5
    assert summary[4] == ("polygon", 1, 1, [1.0, 1.0, 11.0, 1.0, 11.0, 11.0, 1.0, 11.0], False, 0)
    assert shapes[0]["attributes"] == [{"spec_id": 101, "value": "bmw"}, {"spec_id": 102, "value": "4.0"},
                                       {"spec_id": 103, "value": "true"}]
    crowd = shapes[3]
    assert (crowd["type"], crowd["label_id"]) == ("polygon", 3)
    assert np.array_equal(rasterize([crowd["points"]], 64, 48), rasterize([[30, 30, 40, 30, 35, 40]], 64, 48))


# ---------------------------------------------------------------- refused input


@pytest.mark.parametrize(("data", "message"), [
    (b"[1, 2]", "the top level is not an object"),
    (b"{\"images\": []}", "'categories' is missing"),
    (b"<xml/>", "not a JSON document"),
])
def test_not_coco(data, message):
    with pytest.raises(FormatError, match=message):
        _import(data, _car_context(), "upload.json")


def test_unknown_category_id_names_the_annotation():
    document = _document()
    document["annotations"][0]["category_id"] = 9
    with pytest.raises(FormatError, match=r"upload.json: annotation 1: category_id 9 is not in 'categories'"):
        _import(json.dumps(document).encode(), _car_context(), "upload.json")


def test_category_that_is_no_task_label():
    document = _document(categories=[{"id": 1, "name": "zebra"}])
    with pytest.raises(FormatError, match="Label 'zebra' is not registered for this task"):
        _import(json.dumps(document).encode(), _car_context())


def test_unknown_image():
    document = _document(images=[{"id": 77, "file_name": "nowhere.jpg"}])
    with pytest.raises(FormatError, match=r"image 77 'nowhere\.jpg' matches no frame"):
        _import(json.dumps(document).encode(), _car_context())


def test_ids_that_are_not_ids():
    document = _document()
    document["annotations"][0].update({"id": [1], "category_id": {"a": 1}})
    with pytest.raises(FormatError, match=r"annotation \[1\]: category_id \{'a': 1\} is not in 'categories'"):
        _import(json.dumps(document).encode(), _car_context())
    with pytest.raises(FormatError, match=r"images\[0\] needs an 'id'"):
        _import(json.dumps(_document(images=[{"id": [0], "file_name": "test_1.jpg"}])).encode(), _car_context())


def test_annotation_of_a_missing_image():
    document = _document()
    document["annotations"][0]["image_id"] = 5
    with pytest.raises(FormatError, match="annotation 1: image_id 5 is not in 'images'"):
        _import(json.dumps(document).encode(), _car_context())


@pytest.mark.parametrize(("change", "message"), [
    ({"bbox": [1, 2, 3]}, r"annotation 1: 'bbox' is not \[x, y, width, height\]"),
    ({"segmentation": [[1, 2, 3, 4]]}, "annotation 1: segmentation polygon 0 is not a list of at least 3"),
    ({"segmentation": {"size": [48, 64], "counts": [0, 5]}}, "annotation 1: segmentation 'counts': the runs cover 5"),
    ({"segmentation": {"size": [48], "counts": [0, 5]}}, r"annotation 1: segmentation 'size' is not \[height, width\]"),
])
def test_bad_annotation_fields(change, message):
    document = _document()
    document["annotations"][0].update(change)
    with pytest.raises(FormatError, match=message):
        _import(json.dumps(document).encode(), _car_context())


def test_zip_without_json():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "nothing")
    with pytest.raises(FormatError, match=r"upload\.zip: the archive has no COCO document"):
        _import(buffer.getvalue(), _car_context(), "upload.zip")

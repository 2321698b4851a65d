"""Segmentation mask 1.1 and the mask helpers: rasterisation equal to pycocotools', outlines
that rasterise back to their masks, COCO RLE both ways, PNG colours, the label map, round trips."""

import io
import zipfile
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as coco_mask

from shared.formats import mask
from shared.formats.files import ImportFile, memory_archive
from shared.formats.masks import (
    mask_to_polygons,
    pixel_count,
    pixel_counts,
    polygon_area,
    rasterize,
    rectangle_polygon,
    rle_decode,
    rle_encode,
    rle_to_string,
    voc_palette,
)
from shared.formats.model import FormatError
from tests.unit.format_fixtures import export_context, frames, import_context, labels

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _pycocotools(polygons: list[list[float]], width: int, height: int) -> np.ndarray:
    return coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(polygons, height, width))).astype(bool)


# ---------------------------------------------------------------- masks.py


def test_square_outline_runs_along_pixel_corners():
    m = np.zeros((8, 10), dtype=bool)
    m[2:5, 3:7] = True
    assert mask_to_polygons(m) == [[3.0, 2.0, 7.0, 2.0, 7.0, 5.0, 3.0, 5.0]]


def test_l_shape_keeps_corner_points_only():
    m = np.zeros((6, 6), dtype=bool)
    m[1:5, 1:3] = True
    m[3:5, 3:5] = True
    assert mask_to_polygons(m) == [[1.0, 1.0, 3.0, 1.0, 3.0, 3.0, 5.0, 3.0, 5.0, 5.0, 1.0, 5.0]]


def test_separate_and_diagonal_regions_are_separate_polygons():
    m = np.zeros((6, 8), dtype=bool)
    m[0, 0] = m[1, 1] = True  # touching at a corner only: two regions
    m[3:5, 5:8] = True
    polygons = mask_to_polygons(m)
    assert polygons == [[0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0], [1.0, 1.0, 2.0, 1.0, 2.0, 2.0, 1.0, 2.0],
                        [5.0, 3.0, 8.0, 3.0, 8.0, 5.0, 5.0, 5.0]]
    assert np.array_equal(rasterize(polygons, 8, 6), m)


def test_holes_are_filled_and_islands_kept():
    m = np.zeros((9, 9), dtype=bool)
    m[1:8, 1:8] = True
    m[2:7, 2:7] = False  # a hole...
    m[4, 4] = True  # ...with an island
    polygons = mask_to_polygons(m)
    assert polygons == [[1.0, 1.0, 8.0, 1.0, 8.0, 8.0, 1.0, 8.0], [4.0, 4.0, 5.0, 4.0, 5.0, 5.0, 4.0, 5.0]]
    filled = np.zeros_like(m)
    filled[1:8, 1:8] = True
    assert np.array_equal(rasterize(polygons, 9, 9), filled)


def test_empty_mask_has_no_polygons():
    assert mask_to_polygons(np.zeros((4, 4), dtype=bool)) == []
    assert not rasterize([], 4, 4).any()
    assert not rasterize([[1, 1, 2, 2]], 4, 4).any()  # fewer than three points


def test_random_masks_without_holes_rasterise_back():
    rng = np.random.default_rng(7)
    for _ in range(200):
        m = rng.random((12, 15)) < 0.5
        m[:, 0] = m[0, :] = m[-1, :] = m[:, -1] = False
        polygons = mask_to_polygons(m)
        assert all(len(p) >= 6 and len(p) % 2 == 0 for p in polygons)
        got = rasterize(polygons, 15, 12)
        assert (got | ~m).all()  # every set pixel is covered; unset ones only inside holes
        assert np.array_equal(got, rasterize(mask_to_polygons(got), 15, 12))


def test_full_hd_mask():
    rows, columns = np.mgrid[:1080, :1920]
    m = ((columns - 600) ** 2 + (rows - 500) ** 2 < 300 ** 2) | ((columns - 1500) ** 2 + (rows - 700) ** 2 < 150 ** 2)
    polygons = mask_to_polygons(m)
    assert len(polygons) == 2
    assert np.array_equal(rasterize(polygons, 1920, 1080), m)


def test_rasterize_equals_pycocotools():
    rng = np.random.default_rng(3)
    cases = [[[0, 0, 1, 0, 1, 2, 0, 2]], [[40.3, 5.2, 60.7, 8.1, 52.2, 30.9]], [[-3, -3, 70, 10, 20, 60]],
             [[5, 5, 30, 5, 30, 30], [20, 20, 50, 20, 50, 40, 20, 40]]]
    cases += [[list(rng.random(2 * int(rng.integers(3, 9))) * 70 - 3)] for _ in range(100)]
    for polygons in cases:
        assert np.array_equal(rasterize(polygons, 64, 48), _pycocotools(polygons, 64, 48)), polygons
    each = [polygon for polygons in cases for polygon in polygons] + [[1, 1, 2, 2]]
    expected = [int(coco_mask.area(coco_mask.frPyObjects([p], 48, 64))[0]) for p in each[:-1]] + [0]
    assert pixel_counts(each, 64, 48) == expected


def test_rectangle_and_areas():
    assert rectangle_polygon([2, 3, 12, 9]) == [2.0, 3.0, 12.0, 3.0, 12.0, 9.0, 2.0, 9.0]
    assert rasterize([rectangle_polygon([2, 3, 12, 9])], 20, 20).sum() == 60
    overlapping = [rectangle_polygon([2, 3, 12, 9]), [0, 0, 4, 0, 4, 4, 0, 4]]
    assert pixel_count(overlapping, 20, 20) == 60 + 16 - 2 == _pycocotools(overlapping, 20, 20).sum()
    assert polygon_area([0, 0, 4, 0, 4, 3]) == 6.0


def test_rle_both_forms_agree_with_pycocotools():
    rng = np.random.default_rng(5)
    for _ in range(50):
        m = rng.random((9, 13)) < rng.random()
        ours = rle_encode(m)
        theirs = coco_mask.encode(np.asfortranarray(m.astype(np.uint8)))
        assert ours["size"] == [9, 13]
        assert rle_to_string(ours["counts"]) == theirs["counts"].decode()
        assert np.array_equal(rle_decode(ours["counts"], 9, 13), m)
        assert np.array_equal(rle_decode(theirs["counts"].decode(), 9, 13), m)
        assert np.array_equal(coco_mask.decode(coco_mask.frPyObjects(ours, 9, 13)).astype(bool), m)


def test_rle_decode_is_column_major_and_checks_the_total():
    decoded = rle_decode([0, 20, 30], 10, 5)
    assert decoded.shape == (10, 5) and decoded[:, :2].all() and not decoded[:, 2:].any()
    with pytest.raises(ValueError, match="cover 49 pixels"):
        rle_decode([0, 20, 29], 10, 5)
    with pytest.raises(ValueError, match="at most"):
        rle_decode([10**12], 10**6, 10**6)


def test_voc_palette():
    assert [tuple(c) for c in voc_palette()[:5]] == [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0), (0, 0, 128)]


# ---------------------------------------------------------------- export

# ids and colours: tree 1 (40, 50, 83), car 2 (80, 50, 83), person 3 (120, 50, 83)
LABELS = labels(("tree", []), ("car", []), ("person", []))
TREE, CAR, PERSON = (40, 50, 83), (80, 50, 83), (120, 50, 83)
NAMES = ["a.jpg", "dir/b.png", "c.jpg", "d.jpg", "e.jpg"]


def _shape(kind: str, frame: int, label: int, points: list[float], **fields: Any) -> dict[str, Any]:
    return {"type": kind, "frame": frame, "label_id": label, "points": points, "occluded": False, "z_order": 0,
            "group": 0, "attributes": [], **fields}


ANNOTATIONS = {
    "shapes": [
        _shape("polygon", 0, 3, [8, 4, 20, 4, 20, 16, 8, 16], z_order=1),  # covers part of the car
        _shape("rectangle", 0, 2, [2, 2, 12, 10]),
        _shape("rectangle", 1, 3, [5, 5, 15, 15], z_order=2),
        _shape("polygon", 1, 2, [0, 0, 10, 0, 10, 10, 0, 10], group=4),  # 100 px: leads group 4
        _shape("rectangle", 1, 3, [20, 20, 24, 24], group=4),  # 16 px, painted as a car
        _shape("points", 4, 1, [3, 3]),
    ],
    "tags": [{"frame": 2, "label_id": 1, "group": 0, "attributes": []}],
}


def _export(annotations: dict[str, Any] = ANNOTATIONS, stored_labels: list[dict[str, Any]] = LABELS) -> bytes:
    archive, buffer = memory_archive()
    mask.export(export_context(stored_labels, frames(NAMES, 40, 30), annotations), archive)
    archive.zip.close()
    return buffer.getvalue()


def _png(data: bytes, name: str) -> np.ndarray:
    with zipfile.ZipFile(io.BytesIO(data)) as archive, Image.open(io.BytesIO(archive.read(name))) as image:
        assert image.mode == "RGB"
        return np.asarray(image)


def _pixels(image: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    return (image == np.array(color, dtype=np.uint8)).all(axis=2)


def test_archive_layout_lists_and_labelmap():
    data = _export()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == [
            "ImageSets/Segmentation/default.txt", "SegmentationClass/a.png", "SegmentationClass/dir/b.png",
            "SegmentationObject/a.png", "SegmentationObject/dir/b.png", "labelmap.txt"]
        # frames with masks, and frames with no annotation at all (not c: a tag, not e: points)
        assert archive.read("ImageSets/Segmentation/default.txt") == b"a\ndir/b\nd\n"
        assert archive.read("labelmap.txt").decode() == (
            "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncar:80,50,83::\nperson:120,50,83::\n"
            "tree:40,50,83::\n")


def test_class_colours_follow_z_order():
    data = _export()
    classes = _png(data, "SegmentationClass/a.png")
    assert classes.shape == (30, 40, 3)
    person = _pycocotools([[8, 4, 20, 4, 20, 16, 8, 16]], 40, 30)
    car = _pycocotools([rectangle_polygon([2, 2, 12, 10])], 40, 30) & ~person
    assert np.array_equal(_pixels(classes, PERSON), person)
    assert np.array_equal(_pixels(classes, CAR), car)
    assert np.array_equal(_pixels(classes, (0, 0, 0)), ~(person | car))
    assert tuple(classes[3, 3]) == CAR and tuple(classes[10, 15]) == PERSON


def test_instance_colours_and_groups():
    data = _export()
    objects = _png(data, "SegmentationObject/a.png")
    palette = voc_palette()
    assert tuple(objects[3, 3]) == tuple(palette[1]) and tuple(objects[10, 15]) == tuple(palette[2])
    # dir/b: group 4 (z 0) is instance 1, one car with both members' pixels; the person box (z 2) is 2
    classes, objects = _png(data, "SegmentationClass/dir/b.png"), _png(data, "SegmentationObject/dir/b.png")
    box = _pycocotools([rectangle_polygon([5, 5, 15, 15])], 40, 30)
    group = (_pycocotools([[0, 0, 10, 0, 10, 10, 0, 10]], 40, 30)
             | _pycocotools([rectangle_polygon([20, 20, 24, 24])], 40, 30)) & ~box
    assert np.array_equal(_pixels(objects, tuple(palette[1])), group)
    assert np.array_equal(_pixels(objects, tuple(palette[2])), box)
    assert np.array_equal(_pixels(classes, CAR), group) and tuple(classes[22, 22]) == CAR


def test_task_label_named_background():
    stored = labels(("background", []), ("car", []))
    with zipfile.ZipFile(io.BytesIO(_export({"shapes": [_shape("rectangle", 0, 2, [1, 1, 3, 3])]}, stored))) as z:
        assert z.read("labelmap.txt").decode() == ("# label:color_rgb:parts:actions\nbackground:40,50,83::\n"
                                                   "car:80,50,83::\n")
        assert z.read("ImageSets/Segmentation/default.txt") == b"a\ndir/b\nc\nd\ne\n"
    classes = _png(_export({"shapes": [_shape("rectangle", 0, 2, [1, 1, 3, 3])]}, stored), "SegmentationClass/a.png")
    assert tuple(classes[0, 0]) == (40, 50, 83)  # unpainted pixels: the background label's colour
    assert tuple(classes[1, 1]) == (80, 50, 83)


def test_image_path():
    ctx = export_context(LABELS, frames(NAMES, 40, 30), {})
    assert mask.image_path(ctx, ctx.frames[1]) == "JPEGImages/dir/b.png"
    video = export_context(LABELS, frames(1, 40, 30), {})
    assert mask.image_path(video, video.frames[0]) == "JPEGImages/frame_000000.jpg"


# ---------------------------------------------------------------- import


def _parse(data: bytes, stored_labels: list[dict[str, Any]] = LABELS, names: list[str] = NAMES,
           name: str = "upload.zip") -> list[dict[str, Any]]:
    ctx = import_context(stored_labels, frames(names, 40, 30))
    mask.parse(ImportFile(io.BytesIO(data), name), ctx)
    return ctx.labeled_data()["shapes"]


def _by_label(shapes: list[dict[str, Any]], frame: int, label: int) -> np.ndarray:
    return rasterize([s["points"] for s in shapes if s["frame"] == frame and s["label_id"] == label], 40, 30)


def _rezip(data: bytes, *, drop: tuple[str, ...] = (), prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
        for member in source.namelist():
            if not member.startswith(drop):
                target.writestr(prefix + member, source.read(member))
    return buffer.getvalue()


def test_round_trip_gives_the_visible_pixels_back():
    data = _export()
    shapes = _parse(data)
    assert {s["type"] for s in shapes} == {"polygon"} and {s["frame"] for s in shapes} == {0, 1}
    for frame, name in ((0, "a"), (1, "dir/b")):
        classes = _png(data, f"SegmentationClass/{name}.png")
        for label, color in ((2, CAR), (3, PERSON)):
            assert np.array_equal(_by_label(shapes, frame, label), _pixels(classes, color))
    # the car of dir/b is one instance in two pieces: a group; the rest are single polygons
    assert sorted((s["frame"], s["label_id"], s["group"]) for s in shapes) == [
        (0, 2, 0), (0, 3, 0), (1, 2, 1), (1, 2, 1), (1, 3, 0)]
    assert all(s["attributes"] == [] and not s["occluded"] and s["z_order"] == 0 for s in shapes)


def test_car_partly_covered_comes_back_as_its_visible_outline():
    car = [s for s in _parse(_export()) if s["frame"] == 0 and s["label_id"] == 2]
    assert [s["points"] for s in car] == [[2.0, 2.0, 12.0, 2.0, 12.0, 4.0, 8.0, 4.0, 8.0, 10.0, 2.0, 10.0]]


def test_without_labelmap_the_task_colours_are_used_and_a_top_folder_is_found():
    data = _rezip(_export(), drop=("labelmap.txt",), prefix="export/")
    shapes = _parse(data)
    assert len(shapes) == 5
    assert np.array_equal(_by_label(shapes, 0, 3), _pycocotools([[8, 4, 20, 4, 20, 16, 8, 16]], 40, 30))


def test_class_masks_alone_give_one_object_per_class():
    shapes = _parse(_rezip(_export(), drop=("SegmentationObject/",)))
    assert sorted((s["frame"], s["label_id"], s["group"]) for s in shapes) == [
        (0, 2, 0), (0, 3, 0), (1, 2, 0), (1, 2, 0), (1, 3, 0)]


def test_labelmap_of_the_archive_decides_the_names():
    data = _rezip(_export(), drop=("labelmap.txt",))
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("labelmap.txt", "background:0,0,0::\nzebra:80,50,83::\nperson:120,50,83::\n")
    with pytest.raises(FormatError, match="Label 'zebra' is not registered for this task"):
        _parse(buffer.getvalue())


def test_unknown_colour():
    stored = labels(("tree", []), ("car", []))  # no person: its colour (120, 50, 83) is no task colour
    with pytest.raises(FormatError, match=r"SegmentationClass/a.png: the colour \(120, 50, 83\) is not"):
        _parse(_rezip(_export(), drop=("labelmap.txt",)), stored)


def test_unknown_item():
    with pytest.raises(FormatError, match="Unknown frame 'a'"):
        _parse(_export(), names=["x.jpg", "dir/b.png", "c.jpg", "d.jpg", "e.jpg"])


def test_not_a_mask_archive():
    with pytest.raises(FormatError, match=r"upload\.png: a Segmentation mask 1\.1 upload is a ZIP archive"):
        _parse(b"\x89PNG\r\n", name="upload.png")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "no masks")
    with pytest.raises(FormatError, match="not a Segmentation mask archive"):
        _parse(buffer.getvalue())

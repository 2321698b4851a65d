"""Every format through the API: export a task, import the file into a fresh task made from the
same images, and compare what the format can carry; and every dataset export holds each frame
at the size the task's meta gives, next to its annotation files."""

import io
import itertools
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from tests.integration.events import ApiCaller
from tests.integration.test_annotations import built_task
from tests.integration.test_export_import import export, multipart_file, poll

Projection = Callable[[dict[str, Any], dict[int, str]], list[Any]]


def document(task: dict[str, Any]) -> dict[str, Any]:
    car, person = (label["id"] for label in task["labels"])
    base = {"group": 0, "source": "manual", "occluded": False, "z_order": 0, "attributes": []}
    return {
        "version": 0,
        "tags": [{"frame": 3, "label_id": person, "group": 0, "attributes": []}],
        "shapes": [
            {**base, "type": "rectangle", "frame": 0, "label_id": car, "points": [1.5, 2.25, 30.0, 40.125]},
            {**base, "type": "polygon", "frame": 1, "label_id": car, "points": [1, 1, 20, 1, 20, 20, 1, 20]},
            {**base, "type": "rectangle", "frame": 2, "label_id": person, "points": [5, 5, 25, 35],
             "occluded": True},
        ],
        "tracks": [{"frame": 0, "label_id": person, "group": 0, "source": "manual", "attributes": [], "shapes": [
            {"type": "rectangle", "frame": 0, "occluded": False, "outside": False, "z_order": 0,
             "points": [40, 10, 60, 30], "attributes": []},
            {"type": "rectangle", "frame": 2, "occluded": False, "outside": True, "z_order": 0,
             "points": [44, 10, 64, 30], "attributes": []}]}],
    }


def shapes(kinds: tuple[str, ...], digits: int = 2, occluded: bool = True) -> Projection:
    def project(data: dict[str, Any], names: dict[int, str]) -> list[Any]:
        return sorted((s["type"], s["frame"], names[s["label_id"]], [round(p, digits) for p in s["points"]],
                       s["occluded"] if occluded else None) for s in data["shapes"] if s["type"] in kinds)

    return project


def visible_boxes(data: dict[str, Any], names: dict[int, str]) -> list[Any]:
    """Rectangles, plain or the track's visible positions, as formats without tracks carry them."""
    boxes = [(s["frame"], names[s["label_id"]], [round(p, 2) for p in s["points"]])
             for s in data["shapes"] if s["type"] == "rectangle"]
    for track in data["tracks"]:
        keyframes = track["shapes"]
        for a, b in itertools.pairwise(keyframes):
            for frame in range(a["frame"], b["frame"]):
                if not a["outside"]:
                    t = (frame - a["frame"]) / (b["frame"] - a["frame"])
                    points = a["points"] if b["outside"] else [p + (q - p) * t
                                                               for p, q in zip(a["points"], b["points"], strict=True)]
                    boxes.append((frame, names[track["label_id"]], [round(p, 2) for p in points]))
    return sorted(boxes)


def tracks(data: dict[str, Any], names: dict[int, str]) -> list[Any]:
    return sorted((names[t["label_id"]], [(s["frame"], s["outside"], [round(p, 2) for p in s["points"]])
                                          for s in t["shapes"]]) for t in data["tracks"])


def tags(data: dict[str, Any], names: dict[int, str]) -> list[Any]:
    return sorted((t["frame"], names[t["label_id"]]) for t in data["tags"])


def mask_regions(data: dict[str, Any], names: dict[int, str]) -> list[Any]:
    """What a mask keeps: per frame and label, the bounding box of the painted pixels."""
    from shared.formats.masks import rasterize

    regions = []
    for shape in data["shapes"]:
        points = shape["points"]
        if shape["type"] == "rectangle":
            x1, y1, x2, y2 = points
            points = [x1, y1, x2, y1, x2, y2, x1, y2]
        pixels = rasterize([points], 64, 48)
        rows, columns = pixels.any(axis=1).nonzero()[0], pixels.any(axis=0).nonzero()[0]
        regions.append((shape["frame"], names[shape["label_id"]], int(columns[0]), int(rows[0]), int(columns[-1]),
                        int(rows[-1])))
    return sorted(regions)


# format: (exporter, importer, what survives the trip)
FORMATS: dict[str, tuple[str, str, list[Projection]]] = {
    "cvat-images": ("CVAT for images 1.1", "CVAT 1.1", [shapes(("polygon",)), visible_boxes, tags]),
    "cvat-video": ("CVAT for video 1.1", "CVAT 1.1", []),  # everything becomes a track, checked below
    "coco": ("COCO 1.0", "COCO 1.0", [shapes(("polygon",), occluded=False)]),
    "voc": ("PASCAL VOC 1.1", "PASCAL VOC 1.1", [visible_boxes, tags]),
    "yolo": ("YOLO 1.1", "YOLO 1.1", [lambda d, n: [(f, label, [round(p, 3) for p in pts])
                                                    for f, label, pts in visible_boxes(d, n)]]),
    # MOT keeps track identity, but every position comes back as a keyframe
    "mot": ("MOT 1.1", "MOT 1.1", [visible_boxes, lambda d, n: [n[t["label_id"]] for t in d["tracks"]]]),
    "labelme": ("LabelMe 3.0", "LabelMe 3.0", [shapes(("polygon",))]),
    "mask": ("Segmentation mask 1.1", "Segmentation mask 1.1", []),
}


def fresh_import(api: ApiCaller, format_name: str, content: bytes) -> tuple[dict[str, Any], dict[int, str]]:
    task = built_task(api, frames=4)
    path = f"/api/v1/tasks/{task['id']}/annotations"
    assert api.call("PUT", path, query={"format": format_name}, **multipart_file(content, "upload.zip")).status == 202
    answer = poll(api, "PUT", path, query={"format": format_name})
    assert answer.status == 201, answer.body
    data = api.call("GET", path).json()
    assert data["version"] == 2
    return data, {label["id"]: label["name"] for label in task["labels"]}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_round_trip(api: ApiCaller, name: str) -> None:
    exporter, importer, projections = FORMATS[name]
    source = built_task(api.login(), frames=4)
    assert api.call("PUT", f"/api/v1/tasks/{source['id']}/annotations", json_body=document(source)).status == 200
    original = api.call("GET", f"/api/v1/tasks/{source['id']}/annotations").json()
    names = {label["id"]: label["name"] for label in source["labels"]}
    content, _ = export(api, source["id"], exporter)
    back, back_names = fresh_import(api, importer, content)
    for project in projections:
        assert project(back, back_names) == project(original, names)
    if name == "cvat-video":
        # plain shapes come back as one-frame tracks (closed one step later), tracks with their keyframes
        assert len(back["tracks"]) == len(original["tracks"]) + len(original["shapes"])
        assert tracks(original, names)[0] in tracks(back, back_names)
    if name == "mask":
        # polygons of the painted pixels: each plain shape's pixels come back, and the track's
        # visible positions as polygons of their own
        regions = mask_regions(back, back_names)
        assert all(region in regions for region in mask_regions(original, names))
        assert sorted({(r[0], r[1]) for r in regions}) == [(0, "car"), (0, "person"), (1, "car"), (1, "person"),
                                                          (2, "person")]


@pytest.mark.slow
@pytest.mark.parametrize("exporter", ["COCO 1.0", "CVAT for video 1.1", "Datumaro 1.0", "LabelMe 3.0",
                                      "Segmentation mask 1.1", "MOT 1.1", "PASCAL VOC 1.1", "YOLO 1.1"])
def test_dataset_holds_every_frame(api: ApiCaller, exporter: str) -> None:
    task = built_task(api.login(), frames=4)
    assert api.call("PUT", f"/api/v1/tasks/{task['id']}/annotations", json_body=document(task)).status == 200
    content, _ = export(api, task["id"], exporter, kind="dataset")
    archive = zipfile.ZipFile(io.BytesIO(content))
    meta = api.call("GET", f"/api/v1/tasks/{task['id']}/data/meta").json()
    annotation_files, images = [], []
    for member in archive.namelist():
        data = archive.read(member)
        try:
            picture = Image.open(io.BytesIO(data))
        except Exception:
            annotation_files.append(member)
            continue
        if picture.size == (64, 48) and data[:4] == b"\x89PNG" and "Segmentation" not in member:
            images.append(member)
    assert len(images) == meta["size"] == 4
    assert {(f["width"], f["height"]) for f in meta["frames"]} == {(64, 48)}
    assert annotation_files

"""Every real annotation file of ../shared/data imported through the API into a task made from
its own images (or video), and checked object by object (spec §10.2, §10.5, §10.6)."""

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.events import ApiCaller
from tests.integration.test_creation import attach, wait_status
from tests.integration.test_export_import import multipart_file, poll

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"the shared test data is not at {DATA}")
TEN_LABELS = [{"name": f"label_{i}"} for i in range(10)]


def task_from(api: ApiCaller, labels: list[dict[str, Any]], files: dict[str, bytes], **fields: str) -> dict[str, Any]:
    task = api.call("POST", "/api/v1/tasks", json_body={"name": "real", "labels": labels}).json()
    assert attach(api, task["id"], files, **fields).status == 202
    assert wait_status(api, task["id"])["state"] == "Finished"
    return api.call("GET", f"/api/v1/tasks/{task['id']}").json()  # type: ignore[no-any-return]


def images(folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((DATA / folder).iterdir())}


def zipped(folder: str) -> bytes:
    """A folder of ../shared/data as the ZIP a user would upload (any name; told by content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((DATA / folder).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(DATA / folder).as_posix())
    return buffer.getvalue()


def imported(api: ApiCaller, task: dict[str, Any], format_name: str, content: bytes) -> Any:
    path = f"/api/v1/tasks/{task['id']}/annotations"
    first = api.call("PUT", path, query={"format": format_name}, **multipart_file(content, "upload.bin"))
    assert first.status == 202, first.body
    return poll(api, "PUT", path, query={"format": format_name})


def annotations(api: ApiCaller, task: dict[str, Any]) -> dict[str, Any]:
    data = api.call("GET", f"/api/v1/tasks/{task['id']}/annotations").json()
    names = {label["id"]: label["name"] for label in task["labels"]}
    for kind in ("tags", "shapes", "tracks"):
        for obj in data[kind]:
            obj["label"] = names[obj["label_id"]]
    assert data["version"] == 2
    return data  # type: ignore[no-any-return]


def specs(task: dict[str, Any]) -> dict[int, str]:
    return {a["id"]: a["name"] for label in task["labels"] for a in label["attributes"]}


def test_cvat_for_images_with_empty_labels_is_refused(api: ApiCaller) -> None:
    task = task_from(api.login(), [{"name": "label1"}, {"name": "label2"}], images("annotations/cvat_images/images"))
    answer = imported(api, task, "CVAT 1.1", (DATA / "annotations/cvat_images/annotations.xml").read_bytes())
    assert (answer.status, answer.json()) == (400, "Label '' is not registered for this task")
    assert api.call("GET", f"/api/v1/tasks/{task['id']}/annotations").json()["version"] == 0


def test_cvat_for_video(api: ApiCaller) -> None:
    labels = [{"name": "klhg", "attributes": [{"name": "hgl", "mutable": True, "input_type": "select",
                                               "default_value": "jk", "values": ["jk", "hgkf"]}]},
              {"name": "z U k"}, {"name": "II"}]
    video = (DATA / "video/test.mp4").read_bytes()
    task = task_from(api.login(), labels, {"test.mp4": video}, start_frame="10", stop_frame="19",
                     frame_filter="step=3")
    assert task["size"] == 4
    answer = imported(api, task, "CVAT 1.1", (DATA / "video/test_annotations_cvat_video_1.1.xml").read_bytes())
    assert answer.status == 201, answer.body
    data = annotations(api, task)
    assert (data["shapes"], data["tags"]) == ([], [])
    tracks = [(t["label"], [(s["type"], s["frame"], s["outside"], s["occluded"]) for s in t["shapes"]])
              for t in data["tracks"]]
    assert tracks == [
        ("II", [("rectangle", 0, False, True), ("rectangle", 1, True, False), ("rectangle", 2, True, False)]),
        ("klhg", [("points", 0, False, False), ("points", 1, True, False)]),
        ("II", [("polyline", 1, False, False), ("polyline", 2, True, False)]),
    ]
    assert data["tracks"][0]["shapes"][2]["points"] == [8.0, 7.0, 14.0, 17.0]
    assert data["tracks"][1]["shapes"][0]["points"] == [21.95, 8.0, 2.55, 15.09, 2.23, 3.16]
    names = specs(task)
    assert [[(names[a["spec_id"]], a["value"]) for a in s["attributes"]] for s in data["tracks"][1]["shapes"]] == [
        [("hgl", "hgkf")], [("hgl", "jk")]]


def test_coco_with_a_crowd_mask(api: ApiCaller) -> None:
    labels = [{"name": "a", "attributes": [{"name": "x", "mutable": False, "input_type": "number",
                                            "default_value": "0", "values": ["0", "10", "1"]},
                                           {"name": "y", "mutable": False, "input_type": "text",
                                            "default_value": "", "values": []}]},
              {"name": "b"}, {"name": "c"}]
    task = task_from(api.login(), labels, images("annotations/coco/images"))
    content = (DATA / "annotations/coco/instances_default.json").read_bytes()
    answer = imported(api, task, "COCO 1.0", content)
    assert answer.status == 201, answer.body
    data = annotations(api, task)
    polygon = next(s for s in data["shapes"] if s["label"] == "a")
    assert (polygon["type"], polygon["points"]) == ("polygon", [0.0, 0.0, 1.0, 0.0, 1.0, 2.0, 0.0, 2.0])
    names = specs(task)
    assert sorted((names[a["spec_id"]], a["value"]) for a in polygon["attributes"]) == [("x", "1"), ("y", "hello")]
    crowd = [s for s in data["shapes"] if s["label"] == "b"]
    assert crowd and all(s["type"] == "polygon" for s in crowd)
    # the mask: column-major counts [0, 20, 30] over 10x5 fill the first two columns
    xs = [x for s in crowd for x in s["points"][0::2]]
    ys = [y for s in crowd for y in s["points"][1::2]]
    assert (min(xs), max(xs), min(ys), max(ys)) == pytest.approx((0, 2, 0, 10), abs=1.0)


def test_pascal_voc(api: ApiCaller) -> None:
    task = task_from(api.login(), [{"name": "cat"}, {"name": "person"}], images("annotations/voc/JPEGImages"))
    answer = imported(api, task, "PASCAL VOC 1.1", zipped("annotations/voc"))
    assert answer.status == 201, answer.body
    data = annotations(api, task)
    boxes = sorted((s["label"], s["type"], s["points"]) for s in data["shapes"])
    assert boxes == [("cat", "rectangle", [1.0, 2.0, 3.0, 4.0]), ("person", "rectangle", [4.0, 5.0, 6.0, 7.0])]


def test_yolo(api: ApiCaller) -> None:
    task = task_from(api.login(), TEN_LABELS, {"1.jpg": (DATA / "annotations/yolo/obj_train_data/1.jpg").read_bytes()})
    answer = imported(api, task, "YOLO 1.1", zipped("annotations/yolo"))
    assert answer.status == 201, answer.body
    data = annotations(api, task)
    boxes = sorted((s["label"], s["points"]) for s in data["shapes"])
    assert [b[0] for b in boxes] == ["label_2", "label_4"]
    assert boxes[0][1] == pytest.approx([0.0, 2.0, 4.0, 4.0], abs=1e-4)  # image 15x10
    assert boxes[1][1] == pytest.approx([3.0, 3.0, 5.0, 6.0], abs=1e-4)


def test_mot(api: ApiCaller) -> None:
    task = task_from(api.login(), TEN_LABELS, images("annotations/mot/img1"))
    answer = imported(api, task, "MOT 1.1", zipped("annotations/mot"))
    assert answer.status == 201, answer.body
    data = annotations(api, task)
    assert data["tracks"] == []
    assert [(s["label"], s["frame"], s["points"], s["occluded"]) for s in data["shapes"]] == [
        ("label_2", 0, [0.0, 4.0, 4.0, 12.0], False)]

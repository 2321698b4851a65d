"""The export and import protocol through the real handlers and state machines on moto
(spec §10.1-§10.3; older variants §2): 202 while running, 201 when ready, a redirect to the
file, failures reported once, version +2 per import, the 1.0 routes and names."""

import io
import json
import time
import xml.etree.ElementTree as ET
import zipfile
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import boto3
import pytest

from tests import media_factory
from tests.integration.events import Answer, ApiCaller
from tests.integration.test_annotations import built_task, ids, sample
from tests.integration.test_creation import bucket, keys


def poll(api: ApiCaller, method: str, path: str, *, query: dict[str, Any] | None = None, timeout: float = 120,
         **more: Any) -> Answer:
    """Repeats a request while it answers 202, as the v1 client does."""
    deadline = time.monotonic() + timeout
    while True:
        answer = api.call(method, path, query=query, **more)
        if answer.status != 202 or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def download(answer: Answer) -> tuple[bytes, str]:
    """The bytes behind a presigned redirect, and the attachment name it carries."""
    assert answer.status == 302, answer.body
    url = urlparse(answer.headers["location"])
    path = unquote(url.path.lstrip("/"))
    key = path if url.netloc.startswith(bucket()) else path.split("/", 1)[1]
    disposition = parse_qs(url.query)["response-content-disposition"][0]
    body = boto3.client("s3").get_object(Bucket=bucket(), Key=key)["Body"].read()
    return body, disposition.split('filename="', 1)[1].rstrip('"')


def multipart_file(content: bytes, name: str = "annotations.xml") -> dict[str, Any]:
    boundary = "cvat-import-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="annotation_file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return {"raw": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def export(api: ApiCaller, task_id: int, format_name: str, kind: str = "annotations",
           **query: str) -> tuple[bytes, str]:
    path = f"/api/v1/tasks/{task_id}/{kind}"
    first = api.call("GET", path, query={"format": format_name, **query})
    assert first.status == 202, first.body
    ready = poll(api, "GET", path, query={"format": format_name, **query})
    assert ready.status == 201, ready.body
    return download(api.call("GET", path, query={"format": format_name, "action": "download", **query}))


@pytest.fixture
def annotated(api: ApiCaller) -> dict[str, Any]:
    task = built_task(api.login(), frames=4, name="Cars Task")
    answer = api.call("PUT", f"/api/v1/tasks/{task['id']}/annotations", json_body=sample(task))
    assert answer.status == 200, answer.body
    return task


def test_format_lists(api: ApiCaller) -> None:
    listed = api.login().call("GET", "/api/v1/server/annotation/formats").json()
    assert [f["name"] for f in listed["exporters"]] == [
        "COCO 1.0", "CVAT for video 1.1", "CVAT for images 1.1", "Datumaro 1.0", "LabelMe 3.0",
        "Segmentation mask 1.1", "MOT 1.1", "PASCAL VOC 1.1", "TFRecord 1.0", "YOLO 1.1"]
    assert [f["name"] for f in listed["importers"]] == [
        "COCO 1.0", "CVAT 1.1", "LabelMe 3.0", "Segmentation mask 1.1", "MOT 1.1", "PASCAL VOC 1.1",
        "TFRecord 1.0", "YOLO 1.1"]
    assert listed["importers"][0] == {"name": "COCO 1.0", "ext": "JSON, ZIP", "version": "1.0", "enabled": True}
    assert [f["enabled"] for f in listed["exporters"] if f["name"].startswith("TFRecord")] == [False]

    legacy = api.call("GET", "/legacy/api/v1/server/annotation/formats").json()
    assert [r["name"] for r in legacy] == ["CVAT", "PASCAL VOC", "YOLO", "COCO", "MASK", "MOT", "LabelMe"]
    assert list(legacy[0]) == ["id", "dumpers", "loaders", "name", "created_date", "updated_date", "handler_file",
                               "owner"]
    assert legacy[0]["dumpers"][0] == {"display_name": "CVAT XML 1.1 for videos", "format": "XML", "version": "1.1",
                                       "handler": "dump_as_cvat_interpolation"}
    assert legacy[3]["loaders"][0]["display_name"] == "COCO JSON 1.0"

    tags = api.call("GET", "/api/v1/server/dataset/formats").json()
    assert isinstance(tags, str)
    assert [t["tag"] for t in json.loads(tags)] == ["datumaro_project", "cvat_voc", "cvat_coco", "cvat_yolo",
                                                    "cvat_mot", "cvat_label_me"]
    assert api.call("GET", "/legacy/api/v1/server/dataset/formats").json() == tags


def test_export_protocol_and_cache(api: ApiCaller, annotated: dict[str, Any]) -> None:
    task_id = annotated["id"]
    path = f"/api/v1/tasks/{task_id}/annotations"
    body, name = export(api, task_id, "CVAT for images 1.1")
    assert name.startswith("task_cars task-") and name.endswith("-cvat for images 1.1.zip")
    root = ET.fromstring(zipfile.ZipFile(io.BytesIO(body)).read("annotations.xml"))
    assert root.findtext("meta/task/name") == "Cars Task"
    assert [i.get("name") for i in root.iter("image")] == ["00.png", "01.png", "02.png", "03.png"]
    box = root.find("image/box")
    assert box is not None and (box.get("xtl"), box.get("ybr")) == ("1.50", "40.12")

    # the record went with the download; the next request is served from the cache
    assert api.call("GET", path, query={"format": "CVAT for images 1.1"}).status == 202
    assert api.call("GET", path, query={"format": "CVAT for images 1.1"}).status == 201
    named = api.call("GET", path, query={"format": "CVAT for images 1.1", "filename": "My.XML", "action": "download"})
    assert download(named)[1] == "my.xml"

    # a change of the annotations makes the export stale: it runs again
    assert api.call("DELETE", path).status == 204
    assert api.call("GET", path, query={"format": "CVAT for images 1.1"}).status == 202
    body, _ = export(api, task_id, "CVAT for images 1.1")
    root = ET.fromstring(zipfile.ZipFile(io.BytesIO(body)).read("annotations.xml"))
    assert root.find("image/box") is None
    assert len(keys(f"exports/{task_id}/annotations/cvat-for-images-1-1/")) == 1


def test_export_refusals(api: ApiCaller, annotated: dict[str, Any]) -> None:
    path = f"/api/v1/tasks/{annotated['id']}/annotations"
    unknown = api.call("GET", path, query={"format": "CVAT 9"})
    assert (unknown.status, unknown.json()) == (400, ["Unknown format specified for the request"])
    assert api.call("GET", path, query={"format": "TFRecord 1.0"}).status == 405
    action = api.call("GET", path, query={"format": "COCO 1.0", "action": "save"})
    assert (action.status, action.json()) == (400, ["Unexpected action specified for the request"])
    empty = api.call("GET", f"/api/v1/tasks/{annotated['id']}/dataset", query={"format": ""})
    assert (empty.status, empty.json()) == (400, ["Unknown format specified for the request"])
    assert api.call("GET", path, query={"format": ""}).json()["version"] == 1  # a plain GET
    assert api.call("GET", "/api/v1/tasks/9999/annotations", query={"format": "COCO 1.0"}).status == 404


def test_dataset_holds_every_frame_at_its_size(api: ApiCaller, annotated: dict[str, Any]) -> None:
    body, _ = export(api, annotated["id"], "CVAT for images 1.1", kind="dataset")
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert sorted(archive.namelist()) == ["annotations.xml", "images/00.png", "images/01.png", "images/02.png",
                                          "images/03.png"]
    meta = api.call("GET", f"/api/v1/tasks/{annotated['id']}/data/meta").json()
    from PIL import Image

    for frame, member in zip(meta["frames"], sorted(n for n in archive.namelist() if n.startswith("images/")),
                             strict=True):
        assert Image.open(io.BytesIO(archive.read(member))).size == (frame["width"], frame["height"])


def test_import_round_trip_counts_two_versions(api: ApiCaller, annotated: dict[str, Any]) -> None:
    task_id = annotated["id"]
    path = f"/api/v1/tasks/{task_id}/annotations"
    body, _ = export(api, task_id, "CVAT for video 1.1")
    before = api.call("GET", path).json()
    first = api.call("PUT", path, query={"format": "CVAT 1.1"}, **multipart_file(body, "dump.zip"))
    assert first.status == 202, first.body
    done = poll(api, "PUT", path, query={"format": "CVAT 1.1"}, **multipart_file(b""))
    assert done.status == 201, done.body
    after = api.call("GET", path).json()
    assert after["version"] == before["version"] + 2
    assert len(after["tracks"]) == len(before["tracks"]) + len(before["shapes"])  # the video layout makes tracks
    # finished and collected: the next PUT with a file imports again
    assert api.call("PUT", path, query={"format": "CVAT 1.1"}, **multipart_file(body, "dump.zip")).status == 202
    assert poll(api, "PUT", path, query={"format": "CVAT 1.1"}).status == 201
    assert api.call("GET", path).json()["version"] == after["version"] + 2


def test_a_refused_file_changes_nothing_and_says_why(api: ApiCaller, annotated: dict[str, Any]) -> None:
    path = f"/api/v1/tasks/{annotated['id']}/annotations"
    before = api.call("GET", path).json()
    broken = b'<?xml version="1.0"?>\n<annotations>\n  <image id="0" name="00.png">\n    <box label="car"'
    assert api.call("PUT", path, query={"format": "CVAT 1.1"}, **multipart_file(broken)).status == 202
    failed = poll(api, "PUT", path, query={"format": "CVAT 1.1"})
    assert failed.status == 400
    assert "line 4" in failed.json()
    unknown = (b'<annotations><image id="0" name="00.png"><box label="bus" occluded="0" xtl="1" ytl="1" xbr="2" '
               b'ybr="2"/></image></annotations>')
    assert api.call("PUT", path, query={"format": "CVAT 1.1"}, **multipart_file(unknown)).status == 202
    failed = poll(api, "PUT", path, query={"format": "CVAT 1.1"})
    assert (failed.status, failed.json()) == (400, "Label 'bus' is not registered for this task")
    assert api.call("GET", path).json() == before
    assert keys(f"imports/{annotated['id']}/") == []


def test_import_refusals(api: ApiCaller, annotated: dict[str, Any]) -> None:
    path = f"/api/v1/tasks/{annotated['id']}/annotations"
    unknown = api.call("PUT", path, query={"format": "CVAT 9"}, **multipart_file(b"x"))
    assert (unknown.status, unknown.json()) == (400, ["Unknown input format 'CVAT 9'"])
    assert api.call("PUT", path, query={"format": "TFRecord 1.0"}, **multipart_file(b"x")).status == 405
    missing = api.call("PUT", path, query={"format": "CVAT 1.1"})
    assert (missing.status, missing.json()) == (400, {"annotation_file": ["No file was submitted."]})
    legacy = api.call("PUT", path, query={"format": "TFRecord ZIP 1.0"}, **multipart_file(b"x"))
    assert (legacy.status, legacy.json()) == (400, ["Please specify a correct 'format' parameter for the upload "
                                                    "request"])


def test_job_import_keeps_its_segment(api: ApiCaller) -> None:
    task = built_task(api.login(), frames=6, segment_size=3)
    labels, _ = ids(task)
    boxes = "".join(f'<image id="{f}" name="{f:02d}.png"><box label="car" occluded="0" xtl="1" ytl="1" xbr="5" '
                    f'ybr="5"/></image>' for f in range(6))
    jobs = api.call("GET", f"/api/v1/tasks/{task['id']}/jobs").json()
    path = f"/api/v1/jobs/{jobs[1]['id']}/annotations"
    document = f"<annotations>{boxes}</annotations>".encode()
    assert api.call("PUT", path, query={"format": "CVAT 1.1"}, **multipart_file(document)).status == 202
    assert poll(api, "PUT", path, query={"format": "CVAT 1.1"}).status == 201
    job = api.call("GET", path).json()
    assert (job["version"], sorted(s["frame"] for s in job["shapes"])) == (2, [3, 4, 5])
    assert api.call("GET", f"/api/v1/jobs/{jobs[0]['id']}/annotations").json()["shapes"] == []
    assert {s["label_id"] for s in job["shapes"]} == {labels["car"]}


def test_legacy_dump_route(api: ApiCaller, annotated: dict[str, Any]) -> None:
    path = f"/api/v1/tasks/{annotated['id']}/annotations/Cars%20Task"
    query = {"format": "CVAT XML 1.1 for images"}
    assert api.call("GET", path, query=query).status == 202
    assert poll(api, "GET", path, query=query).status == 201
    body, name = download(api.call("GET", path, query={**query, "action": "download"}))
    assert name == "Cars Task.xml"
    assert ET.fromstring(body).findtext("meta/task/name") == "Cars Task"
    # downloaded once: the next request starts a new dump
    assert api.call("GET", path, query=query).status == 202

    coco = f"/api/v1/tasks/{annotated['id']}/annotations/cars"
    assert poll(api, "GET", coco, query={"format": "COCO JSON 1.0"}).status == 201
    body, name = download(api.call("GET", coco, query={"format": "COCO JSON 1.0", "action": "download"}))
    assert name == "cars.json" and [a["id"] for a in json.loads(body)["annotations"]]

    bad = api.call("GET", path, query={"format": "CVAT for images 1.1"})
    assert (bad.status, bad.json()) == (400, ["Please specify a correct 'format' parameter for the request"])
    bad = api.call("GET", path, query={**query, "action": "Download"})
    assert (bad.status, bad.json()) == (400, ["Please specify a correct 'action' for the request"])


def test_legacy_loader_and_dataset_tags(api: ApiCaller, annotated: dict[str, Any]) -> None:
    task_id = annotated["id"]
    path = f"/api/v1/tasks/{task_id}/annotations"
    xml = (b'<annotations><image id="1" name="ignored.png"><box label="person" occluded="1" xtl="1" ytl="2" '
           b'xbr="3" ybr="4"/></image></annotations>')
    assert api.call("PUT", path, query={"format": "CVAT XML 1.1"}, **multipart_file(xml)).status == 202
    assert poll(api, "PUT", path, query={"format": "CVAT XML 1.1"}).status == 201
    shapes = api.call("GET", path).json()["shapes"]
    assert [(s["frame"], s["points"], s["occluded"]) for s in shapes] == [(1, [1.0, 2.0, 3.0, 4.0], True)]

    dataset = f"/api/v1/tasks/{task_id}/dataset"
    bad = api.call("GET", dataset, query={"format": "cvat_voc", "action": "go"})
    assert (bad.status, bad.json()) == (400, ["Unexpected parameter 'action' specified for the request"])
    assert api.call("GET", dataset, query={"format": "cvat_coco"}).status == 202
    assert poll(api, "GET", dataset, query={"format": "cvat_coco"}).status == 201
    body, name = download(api.call("GET", dataset, query={"format": "cvat_coco", "action": "download"}))
    assert name.startswith("task_cars task-") and name.endswith("-cvat_coco.zip")
    assert "annotations/instances_default.json" in zipfile.ZipFile(io.BytesIO(body)).namelist()

    legacy = f"/legacy/api/v1/tasks/{task_id}/dataset"
    assert poll(api, "GET", legacy).status == 201
    body, name = download(api.call("GET", legacy, query={"action": "download"}))
    assert name.endswith("-datumaro_project.zip")
    unknown = api.call("GET", legacy, query={"format": "nope"})
    assert (unknown.status, unknown.json()) == (400, ["Unexpected parameter 'format' specified for the request"])


def test_a_video_dataset_has_png_frames(api: ApiCaller) -> None:
    api.login()
    task = api.call("POST", "/api/v1/tasks", json_body={"name": "clip", "labels": [{"name": "car"}]}).json()
    from tests.integration.test_creation import attach, wait_status

    attach(api, task["id"], {"clip.mp4": media_factory.make_video(frames=12, width=64, height=48)})
    assert wait_status(api, task["id"])["state"] == "Finished"
    body, _ = export(api, task["id"], "CVAT for video 1.1", kind="dataset")
    archive = zipfile.ZipFile(io.BytesIO(body))
    frames = sorted(n for n in archive.namelist() if n.startswith("images/"))
    assert frames == [f"images/frame_{i:06d}.png" for i in range(12)]
    from PIL import Image

    assert Image.open(io.BytesIO(archive.read(frames[5]))).size == (64, 48)
    assert archive.read(frames[5])[:4] == b"\x89PNG"
    # formats that name video frames .jpg get JPEG bytes
    body, _ = export(api, task["id"], "COCO 1.0", kind="dataset")
    archive = zipfile.ZipFile(io.BytesIO(body))
    jpegs = sorted(n for n in archive.namelist() if n.startswith("images/"))
    assert jpegs == [f"images/frame_{i:06d}.jpg" for i in range(12)]
    assert archive.read(jpegs[0])[:3] == b"\xff\xd8\xff"
    assert Image.open(io.BytesIO(archive.read(jpegs[0]))).size == (64, 48)


def test_import_through_an_upload_slot_and_delete_removes_results(api: ApiCaller,
                                                                   annotated: dict[str, Any]) -> None:
    task_id = annotated["id"]
    path = f"/api/v1/tasks/{task_id}/annotations"
    body, _ = export(api, task_id, "COCO 1.0")
    slot = api.call("POST", f"{path}/uploads").json()
    key = unquote(urlparse(slot["url"]).path.lstrip("/"))
    key = key if urlparse(slot["url"]).netloc.startswith(bucket()) else key.split("/", 1)[1]
    missing = api.call("PUT", path, query={"format": "COCO 1.0", "upload": slot["upload_id"]})
    assert missing.status == 400 and "has not arrived" in missing.json()
    boto3.client("s3").put_object(Bucket=bucket(), Key=key, Body=body)
    assert api.call("PUT", path, query={"format": "COCO 1.0", "upload": slot["upload_id"]}).status == 202
    assert poll(api, "PUT", path, query={"format": "COCO 1.0"}).status == 201
    data = api.call("GET", path).json()
    # the rectangle, the polygon, and the track's two visible positions (COCO has no tracks)
    assert data["version"] == 3
    assert sorted(s["type"] for s in data["shapes"]) == ["polygon", "rectangle", "rectangle", "rectangle"]

    assert keys(f"exports/{task_id}/")
    assert api.call("DELETE", f"/api/v1/tasks/{task_id}").status == 204
    assert keys(f"exports/{task_id}/") == keys(f"imports/{task_id}/") == []

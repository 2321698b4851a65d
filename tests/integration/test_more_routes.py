"""Idempotent creation, the API documents, client reports, large frames, zip chunks of video,
archives and the Lambda seam of the local runtime."""

import io
import json
import tarfile
import zipfile

import boto3
import numpy as np
import pytest
from PIL import Image

from shared.data import progress_message
from shared.tables import TaskItem
from tests import media_factory
from tests.integration.events import ApiCaller
from tests.integration.test_creation import attach, new_task, wait_status


def test_idempotency_key_returns_the_first_answer(api: ApiCaller) -> None:
    api.login()
    body = {"name": "once", "labels": [{"name": "a"}]}
    first = api.call("POST", "/api/v1/tasks", json_body=body, headers={"Idempotency-Key": "abc-1"})
    again = api.call("POST", "/api/v1/tasks", json_body=body, headers={"Idempotency-Key": "abc-1"})
    other = api.call("POST", "/api/v1/tasks", json_body=body, headers={"Idempotency-Key": "abc-2"})
    assert first.status == again.status == other.status == 201
    assert again.json() == first.json()
    assert other.json()["id"] != first.json()["id"]
    bad = api.call("POST", "/api/v1/tasks", json_body={"name": "x"}, headers={"Idempotency-Key": "abc-3"})
    assert bad.status == 400
    fixed = api.call("POST", "/api/v1/tasks", json_body=body, headers={"Idempotency-Key": "abc-3"})
    assert fixed.status == 201  # a refused request is not remembered


def test_openapi_document_and_swagger_ui_are_anonymous(api: ApiCaller) -> None:
    document = api.call("GET", "/api/swagger.json")
    assert document.status == 200
    spec = document.json()
    assert spec["info"]["title"] == "CVAT v1 task API"
    assert {"/api/v1/tasks", "/api/v1/tasks/{task_id}/data", "/api/v1/auth/login"} <= set(spec["paths"])
    create = spec["paths"]["/api/v1/tasks"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TaskCreate"}
    assert "201" in create["responses"] and "422" not in create["responses"]
    assert set(spec["components"]["schemas"]["TaskCreate"]["required"]) == {"name", "labels"}
    ui = api.call("GET", "/api/swagger")
    assert ui.status == 200 and ui.headers["content-type"].startswith("text/html")
    assert b"SwaggerUIBundle" in ui.body


def test_client_exceptions_and_logs_are_accepted(api: ApiCaller) -> None:
    api.login()
    report = {"system": "Linux", "client": "CLI", "time": "2020-10-15T09:31:07.123Z", "client_id": 7,
              "message": "boom", "filename": "http://x/a.js", "line": 1, "column": 2, "stack": "", "task_id": 3}
    answer = api.call("POST", "/api/v1/server/exception", json_body=report)
    assert answer.status == 201 and answer.json()["message"] == "boom" and answer.json()["task_id"] == 3
    missing = api.call("POST", "/api/v1/server/exception", json_body={"system": "x"})
    assert missing.status == 400 and missing.json()["client"] == ["This field is required."]
    events = [{"client_id": 1, "name": "Load job", "time": "2020-10-15T09:31:07Z", "is_active": True}]
    logged = api.call("POST", "/api/v1/server/logs", json_body=events)
    assert logged.status == 201 and logged.json()[0]["name"] == "Load job"


def test_frames_larger_than_4_mb_are_redirected(api: ApiCaller) -> None:
    task = new_task(api.login())
    noise = np.random.default_rng(1).integers(0, 256, size=(1100, 1500, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG", compress_level=0)
    assert buffer.tell() > 4 * 1024 * 1024
    too_large = attach(api, task["id"], {"noise.png": buffer.getvalue()})
    assert too_large.status == 413  # API Gateway and Lambda take no more: upload slots are the way
    slots = api.call("POST", f"/api/v1/tasks/{task['id']}/uploads", json_body={
        "image_quality": 50, "files": [{"name": "noise.png", "size": buffer.tell()}]}).json()
    from shared.config import settings

    boto3.client("s3").put_object(Bucket=settings().media_bucket, Body=buffer.getvalue(),
                                  Key=f"uploads/{task['id']}/{slots['upload_id']}/noise.png")
    assert wait_status(api, task["id"])["state"] == "Finished"
    answer = api.call("GET", f"/api/v1/tasks/{task['id']}/data", query={"type": "frame", "number": 0,
                                                                         "quality": "original"})
    assert answer.status == 302
    assert "/original/0.png" in answer.headers["location"] and "X-Amz-Expires=900" in answer.headers["location"]
    small = api.call("GET", f"/api/v1/tasks/{task['id']}/data", query={"type": "frame", "number": 0})
    assert small.status == 200 and small.headers["content-type"] == "image/jpeg"


@pytest.mark.slow
def test_video_with_zip_chunks(api: ApiCaller) -> None:
    task = new_task(api.login())
    video = media_factory.make_video(None, frames=12, width=160, height=120)
    attach(api, task["id"], {"clip.mp4": video}, use_zip_chunks="true")
    assert wait_status(api, task["id"])["state"] == "Finished"
    shown = api.call("GET", f"/api/v1/tasks/{task['id']}").json()
    assert (shown["data_compressed_chunk_type"], shown["data_original_chunk_type"]) == ("imageset", "video")
    assert shown["data_chunk_size"] == 72  # clamp(36*1920*1080 // (160*120), 2, 72)
    frame = api.call("GET", f"/api/v1/tasks/{task['id']}/data", query={"type": "frame", "number": 11})
    assert frame.headers["content-type"] == "image/jpeg"
    picture = np.asarray(Image.open(io.BytesIO(frame.body)).convert("RGB"))
    assert picture.shape == (120, 160, 3)
    assert media_factory.read_counter(picture) == 11
    original = api.call("GET", f"/api/v1/tasks/{task['id']}/data",
                        query={"type": "frame", "number": 11, "quality": "original"})
    assert original.headers["content-type"] == "image/png"


def test_tar_archives_become_image_tasks(api: ApiCaller) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, size in (("set/b.jpg", (10, 10)), ("set/a.png", (12, 10))):
            content = media_factory.make_image("PNG" if name.endswith("png") else "JPEG", size, "RGB")
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    task = new_task(api.login())
    attach(api, task["id"], {"photos.tar.gz": buffer.getvalue()})
    assert wait_status(api, task["id"])["state"] == "Finished"
    meta = api.call("GET", f"/api/v1/tasks/{task['id']}/data/meta").json()
    assert [(f["name"], f["width"]) for f in meta["frames"]] == [("set/a.png", 12), ("set/b.jpg", 10)]


def test_pdf_is_refused_with_a_clear_message(api: ApiCaller) -> None:
    task = new_task(api.login())
    attach(api, task["id"], {"doc.pdf": b"%PDF-1.4 ..."})
    status = wait_status(api, task["id"])
    assert status == {"state": "Failed", "message": "MediaError: PDF documents are not supported yet: convert the "
                                                    "pages to images and upload those\n"}


def test_progress_messages_follow_the_stages() -> None:
    task = TaskItem(1, stage="chunks", chunks_total=8, chunks_done=3)
    assert progress_message(task) == "Images are being compressed 37%"
    assert progress_message(TaskItem(1, stage="extracting")) == "Media files are being extracted..."
    assert progress_message(TaskItem(1, stage="copying")) == "Data are being copied from share.."
    assert progress_message(TaskItem(1, stage="saving")) == "Task is being saved in database"


def test_the_lambda_seam_runs_handlers_in_process(api: ApiCaller) -> None:
    functions = {f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]}
    assert "cvat-it-PrepareFunction" in functions and "cvat-it-TasksListFunction" in functions
    answer = boto3.client("lambda").invoke(FunctionName="cvat-it-MarkFailedFunction",
                                           Payload=json.dumps({"task_id": 1}).encode())
    assert answer.get("FunctionError") == "Handled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "ValidationError" and "data_id" in error["errorMessage"]


def test_zip_chunks_hold_frames_at_the_recorded_offsets(api: ApiCaller) -> None:
    task = new_task(api.login())
    images = {f"{i}.jpg": media_factory.make_image("JPEG", (20 + i, 20), "RGB") for i in range(3)}
    attach(api, task["id"], images)
    assert wait_status(api, task["id"])["state"] == "Finished"
    from shared.frames import load_manifest
    from shared.storage import get

    data_id = api.call("GET", f"/api/v1/tasks/{task['id']}").json()["data"]
    chunk = get(f"data/{data_id}/original/000000.zip")
    archive = zipfile.ZipFile(io.BytesIO(chunk))
    for number, (offset, length, extension) in enumerate(load_manifest(data_id)["members"]["original"]):
        assert extension == ".jpg"
        assert chunk[offset:offset + length] == archive.read(f"{number:06d}.jpg") == images[f"{number}.jpg"]


def test_bodies_above_the_api_limit_answer_413_naming_the_upload_route(api: ApiCaller) -> None:
    task = new_task(api.login())
    body = json.dumps({"image_quality": 50, "server_files": ["x" * 1000] * 4300}).encode()
    assert 4 * 1024 * 1024 < len(body) < 6 * 1024 * 1024
    answer = api.call("POST", f"/api/v1/tasks/{task['id']}/data", raw=body, content_type="application/json")
    assert answer.status == 413
    assert "/api/v1/tasks/{id}/uploads" in answer.json()["detail"]

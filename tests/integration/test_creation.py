"""Task creation through the real handlers and the real state machine on moto: what lands in
S3 and DynamoDB, what a failure leaves (nothing), upload slots with the S3 trigger, the share."""

import io
import time
from typing import Any

import boto3
import pytest
import requests

from shared.tables import JobItem, TaskItem
from tests import media_factory
from tests.integration.conftest import wait_for
from tests.integration.events import ApiCaller


def bucket() -> str:
    from shared.config import settings

    return settings().media_bucket


def keys(prefix: str) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket(), Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def multipart(files: dict[str, bytes], **fields: str) -> tuple[bytes, str]:
    boundary = "cvat-test-boundary"
    body = io.BytesIO()
    for name, value in fields.items():
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for index, (filename, content) in enumerate(files.items()):
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="client_files[{index}]"; '
                   f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode())
        body.write(content + b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    return body.getvalue(), f"multipart/form-data; boundary={boundary}"


def new_task(api: ApiCaller, **fields: Any) -> dict[str, Any]:
    answer = api.call("POST", "/api/v1/tasks", json_body={"name": "t", "labels": [{"name": "a"}], **fields})
    assert answer.status == 201, answer.body
    return answer.json()  # type: ignore[no-any-return]


def wait_status(api: ApiCaller, task_id: int, timeout: float = 120) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        status = api.call("GET", f"/api/v1/tasks/{task_id}/status").json()
        if status["state"] in ("Finished", "Failed") or time.monotonic() > deadline:
            return status  # type: ignore[no-any-return]
        time.sleep(0.05)


def attach(api: ApiCaller, task_id: int, files: dict[str, bytes], **fields: str) -> Any:
    body, content_type = multipart(files, image_quality="60", **fields)
    return api.call("POST", f"/api/v1/tasks/{task_id}/data", raw=body, content_type=content_type)


@pytest.mark.slow
def test_a_built_task_keeps_chunks_manifest_and_preview_only(api: ApiCaller) -> None:
    task = new_task(api.login(), segment_size=2)
    images = {f"img{i}.png": media_factory.make_image("PNG", (40 + i, 30), "RGB") for i in range(5)}
    answer = attach(api, task["id"], images, chunk_size="2")
    assert answer.status == 202, answer.body
    assert wait_status(api, task["id"]) == {"state": "Finished", "message": ""}
    data_id = api.call("GET", f"/api/v1/tasks/{task['id']}").json()["data"]
    # Finalize removes the sources just after marking the task ready
    assert wait_for(lambda: keys(f"uploads/{task['id']}/") == [] and keys(f"data/{data_id}/parts/") == [])
    assert keys(f"data/{data_id}/") == [
        f"data/{data_id}/compressed/{c:06d}.zip" for c in range(3)] + [
        f"data/{data_id}/manifest.json"] + [
        f"data/{data_id}/original/{c:06d}.zip" for c in range(3)] + [
        f"data/{data_id}/plan.json", f"data/{data_id}/preview.jpeg", f"data/{data_id}/sources.json"]
    jobs = api.call("GET", f"/api/v1/tasks/{task['id']}/jobs").json()
    assert [(j["start_frame"], j["stop_frame"]) for j in jobs] == [(0, 1), (2, 3), (4, 4)]
    item = TaskItem.get(task["id"])
    assert item.stage == "done" and item.chunks_total == 3 and item.chunks_done == 3

    assert api.call("DELETE", f"/api/v1/tasks/{task['id']}").status == 204
    assert keys(f"data/{data_id}/") == [] and keys(f"uploads/{task['id']}/") == []
    assert list(JobItem.by_task.query(task["id"])) == []
    assert api.call("GET", f"/api/v1/tasks/{task['id']}").status == 404


def test_a_failure_leaves_no_partial_chunks(api: ApiCaller) -> None:
    task = new_task(api.login())
    good = media_factory.make_image("JPEG", (16, 16), "RGB")
    attach(api, task["id"], {"a.jpg": good, "b.jpg": b"this is not a jpeg"})
    status = wait_status(api, task["id"])
    assert status["state"] == "Failed" and "b.jpg" in status["message"]
    data_id = TaskItem.get(task["id"]).data["id"]
    assert keys(f"data/{data_id}/") == [] and keys(f"uploads/{task['id']}/") == []
    assert list(JobItem.by_task.query(task["id"])) == []
    shown = api.call("GET", f"/api/v1/tasks/{task['id']}").json()
    assert shown["size"] == 0 and shown["segments"] == [] and shown["mode"] == ""


def test_upload_slots_start_the_task_when_the_last_file_arrives(api: ApiCaller) -> None:
    task = new_task(api.login())
    first, second = (media_factory.make_image("JPEG", (20, 10 + i), "RGB") for i in range(2))
    answer = api.call("POST", f"/api/v1/tasks/{task['id']}/uploads", json_body={
        "image_quality": 80, "files": [{"name": "dir/one.jpg", "size": len(first)},
                                       {"name": "two.jpg", "size": len(second)}]})
    assert answer.status == 201, answer.body
    slots = answer.json()
    assert [f["name"] for f in slots["files"]] == ["dir/one.jpg", "two.jpg"]
    slot = slots["files"][0]
    assert slots["expires_in"] == 900 and slot["method"] == "POST" and "x-amz-signature" in slot["fields"]
    assert slot["fields"]["key"] == f"uploads/{task['id']}/{slots['upload_id']}/dir/one.jpg"
    # a browser-style form POST to S3, as clients send it (the policy itself: tests/unit/test_presigning.py)
    sent = requests.post(slot["url"], data=slot["fields"], files={"file": ("one.jpg", first)}, timeout=30)
    assert sent.status_code == 204, sent.text
    assert api.call("GET", f"/api/v1/tasks/{task['id']}/status").json() == {"state": "Queued", "message": ""}
    boto3.client("s3").put_object(Bucket=bucket(), Key=f"uploads/{task['id']}/{slots['upload_id']}/two.jpg",
                                  Body=second)
    assert wait_status(api, task["id"])["state"] == "Finished"
    meta = api.call("GET", f"/api/v1/tasks/{task['id']}/data/meta").json()
    assert [(f["name"], f["height"]) for f in meta["frames"]] == [("dir/one.jpg", 10), ("two.jpg", 11)]


def test_upload_slots_refuse_bad_announcements(api: ApiCaller) -> None:
    task = new_task(api.login())
    path = f"/api/v1/tasks/{task['id']}/uploads"
    assert api.call("POST", path, json_body={"image_quality": 80, "files": []}).json() == {
        "files": ["This list may not be empty."]}
    twice = api.call("POST", path, json_body={"image_quality": 80, "files": [{"name": "a.jpg", "size": 1}] * 2})
    assert twice.status == 400 and twice.json() == {"files": ["File names must be unique: a.jpg is sent twice."]}
    escape = api.call("POST", path, json_body={"image_quality": 80, "files": [{"name": "../a.jpg", "size": 1}]})
    assert escape.status == 400 and escape.json() == {"files": ["Bad file name: '../a.jpg'"]}


def test_server_files_from_the_share(api: ApiCaller) -> None:
    s3 = boto3.client("s3")
    for name in ("photos/b.jpg", "photos/a.jpg", "photos/deep/c.jpg", "other/x.jpg"):
        s3.put_object(Bucket=bucket(), Key=f"share/{name}", Body=media_factory.make_image("JPEG", (8, 8), "RGB"))
    api.login()
    listing = api.call("GET", "/api/v1/server/share", query={"directory": "/photos"}).json()
    assert sorted((e["name"], e["type"]) for e in listing) == [("a.jpg", "REG"), ("b.jpg", "REG"), ("deep", "DIR")]
    assert {e["name"] for e in api.call("GET", "/api/v1/server/share").json()} >= {"photos", "other"}
    missing = api.call("GET", "/api/v1/server/share", query={"directory": "/test4"})
    assert missing.status == 400 and missing.json() == "test4 is an invalid directory"
    escape = api.call("GET", "/api/v1/server/share", query={"directory": "/../x"})
    assert escape.status == 400

    task = new_task(api)
    answer = api.call("POST", f"/api/v1/tasks/{task['id']}/data",
                      data={"image_quality": "50", "server_files[0]": "photos", "server_files[1]": "photos/a.jpg",
                            "server_files[2]": "other/x.jpg"},
                      content_type="application/x-www-form-urlencoded")
    assert answer.status == 202 and answer.json()["server_files"] == ["photos", "photos/a.jpg", "other/x.jpg"]
    assert wait_status(api, task["id"])["state"] == "Finished"
    meta = api.call("GET", f"/api/v1/tasks/{task['id']}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == ["other/x.jpg", "photos/a.jpg", "photos/b.jpg", "photos/deep/c.jpg"]
    assert keys("share/photos/") != []  # the share is read, never moved


@pytest.mark.parametrize(("path", "message"), [
    ("../etc/passwd", "Don't use '..' inside file paths"),
    ("nothing/here.jpg", "Bad file path: nothing/here.jpg"),
])
def test_bad_server_paths_fail_the_task(api: ApiCaller, path: str, message: str) -> None:
    task = new_task(api.login())
    api.call("POST", f"/api/v1/tasks/{task['id']}/data", json_body={"image_quality": 50, "server_files": [path]})
    assert wait_status(api, task["id"]) == {"state": "Failed", "message": f"MediaError: {message}\n"}


def test_status_and_data_of_other_peoples_tasks(api: ApiCaller) -> None:
    from shared import users

    users.create_user("stranger", "Pass-12345", groups=("user",))
    task = new_task(api.login(), assignee=users.find_user("admin").id)  # type: ignore[union-attr]
    stranger = ApiCaller(api.stack).login("stranger", "Pass-12345")
    for path in ("status", "data/meta", "jobs"):
        assert stranger.call("GET", f"/api/v1/tasks/{task['id']}/{path}").status == 403, path
    assert stranger.call("GET", f"/api/v1/tasks/{task['id']}/data", query={"type": "preview"}).status == 403
    attached = stranger.call("POST", f"/api/v1/tasks/{task['id']}/data", json_body={"image_quality": 5})
    assert attached.status == 403  # attaching data needs the change rule (deviation from spec §2.2)
    assert stranger.call("GET", "/api/v1/tasks/424242/status").status == 404


def test_steps_still_running_when_the_task_is_deleted_leave_nothing(api: ApiCaller) -> None:
    """Lambda invocations already running cannot be stopped: each step that finds its task gone
    removes what it wrote."""
    from shared import creation
    from shared.data import start_if_complete

    task = new_task(api.login())
    slots = api.call("POST", f"/api/v1/tasks/{task['id']}/uploads", json_body={
        "image_quality": 50, "chunk_size": 1,
        "files": [{"name": f"{i}.jpg", "size": len(media_factory.make_image("JPEG", (8, 8), "RGB"))}
                  for i in range(2)]}).json()
    item = TaskItem.get(task["id"])
    data_id, execution = int(item.data["id"]), f"task-{task['id']}-{slots['upload_id']}"
    # the files arrive without notifications, and the steps are run by hand
    item.update(actions=[TaskItem.upload_id.set("paused")])
    for i in range(2):
        boto3.client("s3").put_object(Bucket=bucket(), Key=f"uploads/{task['id']}/{slots['upload_id']}/{i}.jpg",
                                      Body=media_factory.make_image("JPEG", (8, 8), "RGB"))
    item.update(actions=[TaskItem.upload_id.set(slots["upload_id"]), TaskItem.execution_name.set(execution)])
    assert creation.prepare(task["id"], data_id, execution) == {"chunks": [0, 1]}
    creation.build_chunk(task["id"], data_id, execution, 0)
    assert keys(f"data/{data_id}/compressed/") == [f"data/{data_id}/compressed/000000.zip"]

    assert api.call("DELETE", f"/api/v1/tasks/{task['id']}").status == 204
    with pytest.raises(creation.StaleExecution):
        creation.build_chunk(task["id"], data_id, execution, 1)
    with pytest.raises(creation.StaleExecution):
        creation.finalize(task["id"], data_id, execution)
    assert keys(f"data/{data_id}/") == [] and keys(f"uploads/{task['id']}/") == []
    assert list(JobItem.by_task.query(task["id"])) == []
    assert not start_if_complete(task["id"], slots["upload_id"])


def test_an_upload_of_another_size_than_announced_fails_the_task(api: ApiCaller) -> None:
    task = new_task(api.login())
    slots = api.call("POST", f"/api/v1/tasks/{task['id']}/uploads", json_body={
        "image_quality": 50, "files": [{"name": "a.jpg", "size": 1000}]}).json()
    content = media_factory.make_image("JPEG", (8, 8), "RGB")
    boto3.client("s3").put_object(Bucket=bucket(), Key=f"uploads/{task['id']}/{slots['upload_id']}/a.jpg",
                                  Body=content)
    status = api.call("GET", f"/api/v1/tasks/{task['id']}/status").json()
    assert status == {"state": "Failed",
                      "message": f"UploadError: a.jpg arrived with {len(content)} bytes, 1000 were announced\n"}
    again = api.call("POST", f"/api/v1/tasks/{task['id']}/uploads", json_body={
        "image_quality": 50, "files": [{"name": "a.jpg", "size": len(content)}]})
    assert again.status == 201  # a failed attachment can be made again

"""remote_files through the real handlers and the CreateTask state machine on moto. The
workflow's resolver and opener (shared.remote.default_resolver / default_opener) are replaced,
since these machines reach no network: a good image becomes a task, refused URLs fail it with a
message naming the address, and nothing is left in S3."""

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from shared import remote
from shared.tables import JobItem, TaskItem
from tests import media_factory
from tests.integration.conftest import wait_for
from tests.integration.events import ApiCaller
from tests.integration.test_creation import bucket, keys, new_task, wait_status
from tests.unit.test_remote import PUBLIC, FakeDns, FakeResponse, FakeWeb


@pytest.fixture
def web(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWeb]:
    """The internet as the workflow sees it: a few public names, one internal, one CDN that
    redirects to the metadata endpoint."""
    dns = FakeDns({"images.example.com": [PUBLIC], "intranet.example.com": ["10.0.0.5"],
                   "cdn.example.com": ["2606:4700::1111"]})
    pages = FakeWeb({})
    monkeypatch.setattr(remote, "default_resolver", dns)
    monkeypatch.setattr(remote, "default_opener", pages)
    yield pages


def attach_urls(api: ApiCaller, task_id: int, urls: list[str], **fields: Any) -> Any:
    return api.call("POST", f"/api/v1/tasks/{task_id}/data",
                    json_body={"image_quality": 60, "remote_files": urls, **fields})


def assert_nothing_left(task_id: int) -> None:
    data_id = TaskItem.get(task_id).data["id"]
    assert keys(f"data/{data_id}/") == [] and keys(f"uploads/{task_id}/") == []
    assert boto3.client("s3").list_multipart_uploads(Bucket=bucket()).get("Uploads", []) == []
    assert list(JobItem.by_task.query(task_id)) == []


def test_a_remote_image_becomes_a_one_frame_task(api: ApiCaller, web: FakeWeb) -> None:
    image = media_factory.make_image("JPEG", (73, 41), "RGB")
    web.pages["images.example.com/photos/cat%20one.jpg"] = FakeResponse(200, image)
    task = new_task(api.login())
    answer = attach_urls(api, task["id"], ["https://images.example.com/photos/cat%20one.jpg"])
    assert answer.status == 202, answer.body
    assert answer.json()["remote_files"] == ["https://images.example.com/photos/cat%20one.jpg"]
    assert wait_status(api, task["id"]) == {"state": "Finished", "message": ""}
    shown = api.call("GET", f"/api/v1/tasks/{task['id']}").json()
    assert shown["size"] == 1 and shown["mode"] == "annotation"
    meta = api.call("GET", f"/api/v1/tasks/{task['id']}/data/meta").json()
    assert [(f["name"], f["width"], f["height"]) for f in meta["frames"]] == [("cat one.jpg", 73, 41)]
    (request,) = web.requests
    assert (request.scheme, request.host, request.addresses) == ("https", "images.example.com", (PUBLIC,))
    assert wait_for(lambda: keys(f"uploads/{task['id']}/") == [])  # Finalize removed the download


def test_remote_images_keep_the_order_of_their_urls(api: ApiCaller, web: FakeWeb) -> None:
    for index, name in enumerate(["b.png", "a.png", "c.png"]):
        web.pages[f"images.example.com/{name}"] = FakeResponse(200, media_factory.make_image("PNG", (20 + index, 10)))
    task = new_task(api.login())
    urls = [f"http://images.example.com/{n}" for n in ("b.png", "a.png", "c.png")]
    assert attach_urls(api, task["id"], urls, sorting_method="predefined").status == 202
    assert wait_status(api, task["id"])["state"] == "Finished"
    meta = api.call("GET", f"/api/v1/tasks/{task['id']}/data/meta").json()
    assert [(f["name"], f["width"]) for f in meta["frames"]] == [("b.png", 20), ("a.png", 21), ("c.png", 22)]


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1:9/x.jpg", "http://127.0.0.1:9/x.jpg: refused, 127.0.0.1 is a loopback address"),
    ("http://169.254.169.254/latest/meta-data/a.jpg",
     "http://169.254.169.254/latest/meta-data/a.jpg: refused, 169.254.169.254 is the cloud metadata address"),
    ("https://intranet.example.com/y.jpg",
     "https://intranet.example.com/y.jpg: refused, 10.0.0.5 is a private address"),
])
def test_a_refused_url_fails_the_task_naming_the_address(api: ApiCaller, web: FakeWeb, url: str, message: str) -> None:
    task = new_task(api.login())
    assert attach_urls(api, task["id"], [url]).status == 202
    assert wait_status(api, task["id"]) == {"state": "Failed", "message": f"MediaError: {message}\n"}
    assert web.requests == []  # refused before any connection
    assert_nothing_left(task["id"])
    assert api.call("GET", f"/api/v1/tasks/{task['id']}").json()["size"] == 0


def test_a_redirect_to_the_metadata_address_fails_the_task(api: ApiCaller, web: FakeWeb) -> None:
    image = media_factory.make_image("JPEG", (16, 16), "RGB")
    web.pages["images.example.com/a.jpg"] = FakeResponse(200, image)
    web.pages["cdn.example.com/b.jpg"] = FakeResponse(
        302, headers={"Location": "http://169.254.169.254/latest/meta-data/iam/security-credentials/"})
    task = new_task(api.login())
    urls = ["http://images.example.com/a.jpg", "https://cdn.example.com/b.jpg"]
    assert attach_urls(api, task["id"], urls).status == 202
    status = wait_status(api, task["id"])
    assert status == {"state": "Failed", "message": (
        "MediaError: https://cdn.example.com/b.jpg (redirected to "
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/): refused, "
        "169.254.169.254 is the cloud metadata address\n")}
    assert [r.host for r in web.requests] == ["images.example.com", "cdn.example.com"]
    assert_nothing_left(task["id"])  # the first download, already in S3, is removed too


def test_an_http_error_and_a_name_collision_fail_the_task(api: ApiCaller, web: FakeWeb) -> None:
    web.pages["images.example.com/gone.jpg"] = FakeResponse(404, reason="Not Found")
    task = new_task(api.login())
    assert attach_urls(api, task["id"], ["http://images.example.com/gone.jpg"]).status == 202
    assert wait_status(api, task["id"])["message"] == (
        "MediaError: Failed to download http://images.example.com/gone.jpg. 404 - Not Found\n")
    # a failed task takes data again
    urls = ["http://images.example.com/a/x.jpg", "http://cdn.example.com/b/x.jpg"]
    assert attach_urls(api, task["id"], urls).status == 202
    assert wait_status(api, task["id"]) == {"state": "Failed", "message": "MediaError: filename collision: x.jpg\n"}
    assert len(web.requests) == 1


def test_the_status_names_the_url_being_downloaded(api: ApiCaller, web: FakeWeb) -> None:
    release = threading.Event()
    image = media_factory.make_image("JPEG", (16, 16), "RGB")

    class Held(FakeResponse):
        def read(self, amount: int) -> bytes:
            release.wait(30)
            return super().read(amount)

    web.pages["images.example.com/slow.jpg"] = Held(200, image)
    task = new_task(api.login())
    assert attach_urls(api, task["id"], ["http://images.example.com/slow.jpg"]).status == 202
    try:
        started = wait_for(lambda: (s := api.call("GET", f"/api/v1/tasks/{task['id']}/status").json())["state"]
                           == "Started" and s["message"] and s)
        assert started == {"state": "Started", "message": "http://images.example.com/slow.jpg is being downloaded.."}
    finally:
        release.set()
    assert wait_status(api, task["id"])["state"] == "Finished"


@pytest.mark.parametrize(("url", "problem"), [
    ("ftp://images.example.com/a.jpg", "only http and https URLs can be downloaded, not ftp"),
    ("file:///etc/passwd", "only http and https URLs can be downloaded, not file"),
    ("http://images.example.com/", "its path names no file"),
    ("http://localhost/a.jpg", "localhost is not a public host name"),
])
def test_urls_that_can_never_be_downloaded_answer_400(api: ApiCaller, web: FakeWeb, url: str, problem: str) -> None:
    task = new_task(api.login())
    answer = attach_urls(api, task["id"], ["http://images.example.com/a.jpg", url])
    assert answer.status == 400
    assert answer.json() == {"remote_files": [f"Invalid URL: {url}. {problem}"]}
    assert TaskItem.get(task["id"]).data is None


def test_upload_slots_do_not_take_remote_files(api: ApiCaller) -> None:
    task = new_task(api.login())
    answer = api.call("POST", f"/api/v1/tasks/{task['id']}/uploads", json_body={
        "image_quality": 80, "files": [{"name": "a.jpg", "size": 10}], "remote_files": ["http://images.example.com/b.jpg"]})
    assert answer.status == 400 and "remote_files" in answer.json()

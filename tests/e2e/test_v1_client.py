"""The v1 command-line clients' exact HTTP calls through the local runtime (spec §1.7, §10.1-10.2,
§11 "CLI call sequences"; older variants §2.10).

The 1.2 client logs in with form fields and then authenticates only with the session cookie and
`X-CSRFToken`; the 1.0 client sends HTTP Basic on every request and never logs in. Both loop
without delay on the dump (until 201) and upload (until 201) calls, and download through a redirect
to S3, which must not receive their credentials. URLs are built by string concatenation as the
clients do (requests percent-encodes the spaces of format names).

The runtime's presigned URLs name `localhost` while the client talks to `127.0.0.1`: hosts differ
as they do in AWS (API domain vs S3), so the cookie jar keeps the session cookie home.
"""

import io
import time
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import requests
from PIL import Image

from tests import media_factory

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("runtime")]

ADMIN = ("admin", "Admin-12345")
LABELS = [{"name": "car"}, {"name": "person"}]


def local_files(folder: Path, count: int) -> list[Path]:
    paths = []
    for index in range(count):
        path = folder / f"{index:03d}.png"
        path.write_bytes(media_factory.make_image("PNG", (160, 120), "RGB"))
        paths.append(path)
    return paths


def assert_no_credentials_reached_s3(download: requests.Response, api: str) -> None:
    """The final request went to another origin than the API's, without Authorization or Cookie."""
    assert download.status_code == 200 and [r.status_code for r in download.history] == [302]
    s3_request = download.request
    assert s3_request.url is not None and not s3_request.url.startswith(api)
    assert "X-Amz-Signature=" in s3_request.url
    assert "Authorization" not in s3_request.headers and "Cookie" not in s3_request.headers


def list_all_tasks(session: requests.Session, api: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The CLI's `ls`: GET /tasks, then the pages while `next` is set. Returns results and URLs."""
    url: str | None = api + "tasks"
    results: list[dict[str, Any]] = []
    urls: list[str] = []
    while url:
        urls.append(url)
        answer = session.get(url)
        answer.raise_for_status()
        page = answer.json()
        results += page["results"]
        url = page["next"]
    return results, urls


def enough_tasks_for_two_pages(session: requests.Session, api: str) -> None:
    count = session.get(api + "tasks").json()["count"]
    for index in range(count, 11):
        session.post(api + "tasks", json={"name": f"filler {index}", "labels": LABELS}).raise_for_status()


def wait_finished(session: requests.Session, api: str, task_id: int) -> list[str]:
    """Polls /status as the CLI does before uploading (it sleeps longer); the states seen."""
    states: list[str] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = session.get(f"{api}tasks/{task_id}/status").json()
        assert {"state", "message"} <= status.keys()
        states.append(status["state"])
        if status["state"] in ("Finished", "Failed"):
            break
        time.sleep(0.1)
    assert states[-1] == "Finished", states
    return states


def poll_until_201(call: Any) -> int:
    """The dump and upload loops: no delay, any non-2xx aborts; returns how many calls it took."""
    for attempt in range(1, 5000):
        answer = call()
        answer.raise_for_status()
        assert answer.status_code in (201, 202), answer.text
        if answer.status_code == 201:
            return attempt
    raise AssertionError("never reached 201")


def test_the_v1_client_sequence(runtime_url: str, tmp_path: Path) -> None:
    api = runtime_url + "/api/v1/"
    session = requests.Session()

    # login: form fields; then only the cookie session and X-CSRFToken
    login = session.post(api + "auth/login", {"username": ADMIN[0], "password": ADMIN[1]})
    login.raise_for_status()
    assert "csrftoken" in login.cookies and "sessionid" in login.cookies
    session.headers["X-CSRFToken"] = login.cookies["csrftoken"]

    # without the header, a write with the same cookies is refused (spec §1.1)
    bare = requests.post(api + "tasks", json={"name": "x", "labels": LABELS}, cookies=session.cookies)
    assert bare.status_code == 403
    assert bare.json() == {"detail": "CSRF Failed: CSRF token missing or incorrect."}

    # create NAME --labels JSON local FILES...
    created = session.post(api + "tasks", json={"name": "V1 Client Cars", "labels": LABELS, "overlap": 0,
                                                "segment_size": 0, "bug_tracker": ""})
    created.raise_for_status()
    task_id = created.json()["id"]
    paths = local_files(tmp_path, 3)
    files = {f"client_files[{i}]": open(path, "rb") for i, path in enumerate(paths)}  # noqa: SIM115
    try:
        attached = session.post(f"{api}tasks/{task_id}/data", data={"image_quality": 50}, files=files)
    finally:
        for handle in files.values():
            handle.close()
    assert attached.status_code == 202, attached.text
    assert wait_finished(session, api, task_id)[-1] == "Finished"

    # ls: the first page, then `next` while it is set
    enough_tasks_for_two_pages(session, api)
    tasks, urls = list_all_tasks(session, api)
    assert len(urls) >= 2 and urls[1] == api + "tasks?page=2"  # the URL the CLI builds itself
    assert len(tasks) == session.get(api + "tasks").json()["count"] and task_id in {t["id"] for t in tasks}
    assert all({"id", "name", "status"} <= t.keys() for t in tasks)

    # frames ID 0 2 --quality original
    for number in (0, 2):
        frame = session.get(f"{api}tasks/{task_id}/data?type=frame&number={number}&quality=original")
        frame.raise_for_status()
        assert Image.open(io.BytesIO(frame.content)).size == (160, 120)

    # some annotations to carry through dump and upload (a cookie write with its CSRF header)
    car = created.json()["labels"][0]["id"]
    box = {"type": "rectangle", "frame": 1, "label_id": car, "group": 0, "occluded": False, "z_order": 0,
           "attributes": [], "points": [10.0, 20.0, 60.0, 70.0]}
    saved = session.put(f"{api}tasks/{task_id}/annotations", json={"version": 0, "tags": [], "shapes": [box],
                                                                    "tracks": []})
    assert saved.status_code == 200, saved.text

    # dump ID FILE: GET the task for its name, loop until 201, then &action=download
    name = session.get(f"{api}tasks/{task_id}").json()["name"]
    dump_url = f"{api}tasks/{task_id}/annotations?format=CVAT for images 1.1&filename={name}"
    assert poll_until_201(lambda: session.get(dump_url)) >= 2
    download = session.get(dump_url + "&action=download")
    assert_no_credentials_reached_s3(download, api)
    assert download.headers["Content-Disposition"] == 'attachment; filename="v1 client cars"'
    xml = ElementTree.fromstring(zipfile.ZipFile(io.BytesIO(download.content)).read("annotations.xml"))
    assert xml.findtext("meta/task/name") == "V1 Client Cars" and len(xml.findall("image/box")) == 1
    dumped = tmp_path / "dump.zip"
    dumped.write_bytes(download.content)

    # upload ID FILE: PUT re-sending the file until 201; the import ran once (version +2)
    upload_url = f"{api}tasks/{task_id}/annotations?format=CVAT 1.1"

    def put_file() -> requests.Response:
        with dumped.open("rb") as handle:
            return session.put(upload_url, files={"annotation_file": handle})

    before = session.get(f"{api}tasks/{task_id}/annotations").json()["version"]
    assert poll_until_201(put_file) >= 2
    after = session.get(f"{api}tasks/{task_id}/annotations").json()
    assert after["version"] == before + 2
    assert [(s["frame"], s["points"]) for s in after["shapes"]] == [(1, box["points"])]

    # delete IDS, then the task is gone; logout with the cookie and its header ends the session
    assert session.delete(f"{api}tasks/{task_id}").status_code == 204
    assert session.delete(f"{api}tasks/{task_id}").status_code == 404
    assert session.post(api + "auth/logout").status_code == 200
    assert session.get(api + "tasks").status_code == 401


def test_the_1_0_client_sequence_with_basic_on_every_call(runtime_url: str, tmp_path: Path) -> None:
    api = runtime_url + "/api/v1/"
    session = requests.Session()
    session.auth = ADMIN  # no login, no cookies, no CSRF: Basic on every request

    created = session.post(api + "tasks", json={"name": "Basic Cars", "labels": LABELS, "bug_tracker": ""})
    created.raise_for_status()
    task_id = created.json()["id"]
    files = {f"client_files[{i}]": path.open("rb") for i, path in enumerate(local_files(tmp_path, 2))}
    try:
        session.post(f"{api}tasks/{task_id}/data", data={"image_quality": 50}, files=files).raise_for_status()
    finally:
        for handle in files.values():
            handle.close()
    wait_finished(session, api, task_id)  # the 1.0 client never polls; the test must before dumping
    assert not session.cookies  # Basic requests open no session

    tasks, _ = list_all_tasks(session, api)
    assert task_id in {t["id"] for t in tasks}
    frame = session.get(f"{api}tasks/{task_id}/data?type=frame&number=1&quality=original")
    assert Image.open(io.BytesIO(frame.content)).size == (160, 120)

    # dump ID FILE --format "CVAT XML 1.1 for images": the 1.0 route, a bare XML file
    name = session.get(f"{api}tasks/{task_id}").json()["name"]
    dump_url = f"{api}tasks/{task_id}/annotations/{name}?format=CVAT XML 1.1 for images"
    started = time.monotonic()
    polls = poll_until_201(lambda: session.get(dump_url))
    assert polls >= 2
    print(f"1.0 dump: {polls} polls without delay in {time.monotonic() - started:.1f} s, none throttled")
    download = session.get(dump_url + "&action=download")
    assert_no_credentials_reached_s3(download, api)  # another port: requests drops Authorization
    assert download.headers["Content-Disposition"] == 'attachment; filename="Basic Cars.xml"'
    assert ElementTree.fromstring(download.content).findtext("meta/task/name") == "Basic Cars"

    # upload ID FILE --format "CVAT XML 1.1"
    def put_file() -> requests.Response:
        return session.put(f"{api}tasks/{task_id}/annotations?format=CVAT XML 1.1",
                           files={"annotation_file": ("dump.xml", download.content)})

    before = session.get(f"{api}tasks/{task_id}/annotations").json()["version"]
    assert poll_until_201(put_file) >= 2
    assert session.get(f"{api}tasks/{task_id}/annotations").json()["version"] == before + 2

    assert session.delete(f"{api}tasks/{task_id}").status_code == 204
    wrong = requests.get(api + "tasks", auth=(ADMIN[0], "not-the-password"))
    assert wrong.status_code == 401 and wrong.json() == {"detail": "Invalid username/password."}

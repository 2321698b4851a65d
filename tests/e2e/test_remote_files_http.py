"""remote_files end to end through the local runtime, sent the way the v1 CLI sends them (form
fields remote_files[i]): a loopback URL is refused by the workflow before any connection, and the
task ends Failed with a message naming the address. Nothing is injected here."""

import socket
from collections.abc import Iterator

import pytest

from tests.e2e.client import Client

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("runtime")]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port on loopback that would accept a connection, to show none is made."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        yield server


def test_a_loopback_url_ends_failed_naming_the_address(admin: Client, listener: socket.socket) -> None:
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/x.jpg"
    task = admin.create_task(name="remote")
    answer = admin.post(f"tasks/{task['id']}/data", data={"image_quality": "70", "remote_files[0]": url})
    assert answer.status_code == 202, answer.text
    assert answer.json()["remote_files"] == [url]
    status = admin.wait_status(task["id"])
    assert status == {"state": "Failed", "message": f"MediaError: {url}: refused, 127.0.0.1 is a loopback address\n"}
    with pytest.raises(BlockingIOError):
        listener.accept()  # the workflow never connected
    shown = admin.get(f"tasks/{task['id']}").json()
    assert shown["size"] == 0 and shown["segments"] == []


def test_a_url_that_can_never_be_downloaded_answers_400(admin: Client) -> None:
    task = admin.create_task(name="remote")
    answer = admin.post(f"tasks/{task['id']}/data", json={"image_quality": 70, "remote_files": ["file:///etc/passwd"]})
    assert answer.status_code == 400
    assert answer.json() == {"remote_files": [
        "Invalid URL: file:///etc/passwd. only http and https URLs can be downloaded, not file"]}

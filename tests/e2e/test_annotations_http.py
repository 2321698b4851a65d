"""Annotations through the local runtime over HTTP, at the size real tasks reach."""

import time
from typing import Any

import pytest

from tests import media_factory
from tests.e2e.client import Client

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("runtime")]


def task_with_frames(client: Client, frames: int) -> dict[str, Any]:
    task = client.create_task(name="annotated", labels=[{"name": "car"}, {"name": "person"}])
    files = {f"client_files[{i}]": (f"{i:03d}.png", media_factory.make_image("PNG", (320, 240), "RGB"))
             for i in range(frames)}
    assert client.post(f"tasks/{task['id']}/data", files=files, data={"image_quality": "50"}).status_code == 202
    assert client.wait_status(task["id"])["state"] == "Finished"
    return client.get(f"tasks/{task['id']}").json()  # type: ignore[no-any-return]


@pytest.mark.slow
def test_twenty_thousand_objects_put_and_read_back_equal(admin: Client) -> None:
    task = task_with_frames(admin, 20)
    car = task["labels"][0]["id"]
    shapes = [{"type": "rectangle", "frame": i % 20, "label_id": car, "group": 0, "source": "manual",
               "occluded": bool(i % 7 == 0), "z_order": i % 3, "attributes": [],
               "points": [i * 0.5, i * 0.25, i * 0.5 + 10.125, i * 0.25 + 20.0625]} for i in range(20_000)]
    started = time.perf_counter()
    saved = admin.put(f"tasks/{task['id']}/annotations", json={"version": 0, "tags": [], "shapes": shapes,
                                                               "tracks": []})
    took = time.perf_counter() - started
    assert saved.status_code == 200, saved.text[:500]
    assert saved.json()["version"] == 1 and len(saved.json()["shapes"]) == 20_000
    read = admin.get(f"tasks/{task['id']}/annotations")
    assert read.status_code == 200 and read.headers["ETag"] == '"1-1"'
    back = read.json()["shapes"]
    assert len(back) == 20_000
    key = ("frame", "points", "occluded", "z_order", "type", "label_id")
    assert sorted(tuple(str(s[k]) for k in key) for s in back) == sorted(tuple(str(s[k]) for k in key) for s in shapes)
    print(f"20,000 rectangles: PUT {took:.1f} s through the local runtime")

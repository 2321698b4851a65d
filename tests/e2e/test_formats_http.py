"""Export and import over HTTP through the local runtime, the way the v1 client does it: a
dump loop until 201 and a download that follows the redirect to S3, an upload loop that
re-sends the file until 201 (and imports it once), with a COCO file and its pycocotools check."""

import io
import json
import zipfile
from typing import Any

import pytest
from pycocotools.coco import COCO

from tests.e2e.client import Client
from tests.e2e.test_annotations_http import task_with_frames

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("runtime")]


def dump(client: Client, task_id: int, format_name: str, filename: str) -> tuple[bytes, str]:
    """The v1 CLI's dump: GET until 201 (no delay), then GET with action=download."""
    url = f"tasks/{task_id}/annotations"
    query = {"format": format_name, "filename": filename}
    for _ in range(2000):
        answer = client.get(url, params=query)
        assert answer.status_code in (201, 202), answer.text
        if answer.status_code == 201:
            break
    downloaded = client.get(url, params={**query, "action": "download"})
    assert downloaded.status_code == 200 and downloaded.history[0].status_code == 302
    assert "Authorization" not in downloaded.request.headers  # another origin: the key stays home
    return downloaded.content, downloaded.headers["Content-Disposition"]


def upload(client: Client, task_id: int, format_name: str, content: bytes) -> int:
    """The v1 CLI's upload: PUT with the file until 201; returns how many PUTs it took."""
    for attempt in range(1, 2000):
        answer = client.put(f"tasks/{task_id}/annotations", params={"format": format_name},
                            files={"annotation_file": ("annotations.zip", content)})
        assert answer.status_code in (201, 202), answer.text
        if answer.status_code == 201:
            return attempt
    raise AssertionError("the import never finished")


def test_coco_dump_and_upload_loops(admin: Client) -> None:
    task = task_with_frames(admin, 3)
    car = task["labels"][0]["id"]
    shapes: list[dict[str, Any]] = [
        {"type": "rectangle", "frame": 0, "label_id": car, "group": 0, "occluded": False, "z_order": 0,
         "attributes": [], "points": [10, 20, 110, 70]},
        {"type": "polygon", "frame": 2, "label_id": car, "group": 0, "occluded": False, "z_order": 0,
         "attributes": [], "points": [0, 0, 40, 0, 40, 30, 0, 30]},
    ]
    assert admin.put(f"tasks/{task['id']}/annotations", json={"version": 0, "tags": [], "shapes": shapes,
                                                              "tracks": []}).status_code == 200
    content, disposition = dump(admin, task["id"], "COCO 1.0", "Cars.ZIP")
    assert disposition == 'attachment; filename="cars.zip"'
    document = json.loads(zipfile.ZipFile(io.BytesIO(content)).read("annotations/instances_default.json"))
    coco = COCO()
    coco.dataset = document
    coco.createIndex()
    boxes = sorted((a["image_id"], a["bbox"], a["area"]) for a in coco.loadAnns(coco.getAnnIds()))
    assert boxes[0] == (1, [10.0, 20.0, 100.0, 50.0], 5000.0)
    assert boxes[1][:2] == (3, [0.0, 0.0, 40.0, 30.0])
    assert boxes[1][2] == coco.annToMask(coco.loadAnns(coco.getAnnIds(imgIds=[3]))[0]).sum()

    before = admin.get(f"tasks/{task['id']}/annotations").json()["version"]
    assert upload(admin, task["id"], "COCO 1.0", content) >= 2
    after = admin.get(f"tasks/{task['id']}/annotations").json()
    assert after["version"] == before + 2  # imported once, however often the file came
    assert sorted((s["frame"], s["type"], s["points"]) for s in after["shapes"]) == [
        (0, "rectangle", [10.0, 20.0, 110.0, 70.0]), (2, "polygon", [0.0, 0.0, 40.0, 0.0, 40.0, 30.0, 0.0, 30.0])]

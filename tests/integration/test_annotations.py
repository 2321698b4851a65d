"""Annotations of tasks and jobs through the real handlers on moto (spec §4, §9)."""

import copy
import threading
from typing import Any

import boto3
import pytest

from shared import users
from tests import media_factory
from tests.integration.events import ApiCaller
from tests.integration.test_creation import attach, new_task, wait_status

LABELS = [
    {"name": "car", "attributes": [
        {"name": "model", "mutable": False, "input_type": "select", "default_value": "bmw", "values": ["bmw", "mazda"]},
        {"name": "parked", "mutable": True, "input_type": "checkbox", "default_value": "false",
         "values": ["false", "true"]},
        {"name": "speed", "mutable": True, "input_type": "number", "default_value": "0", "values": ["0", "200", "1"]},
        {"name": "note", "mutable": False, "input_type": "text", "default_value": "", "values": []}]},
    {"name": "person"},
]


def built_task(api: ApiCaller, frames: int = 10, **fields: Any) -> dict[str, Any]:
    task = new_task(api, labels=LABELS, **fields)
    images = {f"{i:02d}.png": media_factory.make_image("PNG", (64, 48), "RGB") for i in range(frames)}
    attach(api, task["id"], images)
    assert wait_status(api, task["id"])["state"] == "Finished"
    return api.call("GET", f"/api/v1/tasks/{task['id']}").json()  # type: ignore[no-any-return]


def ids(task: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    car, person = task["labels"]
    specs = {a["name"]: a["id"] for a in car["attributes"]}
    return {"car": car["id"], "person": person["id"]}, specs


def sample(task: dict[str, Any], frame: int = 0) -> dict[str, Any]:
    labels, specs = ids(task)
    shape = {"frame": frame, "label_id": labels["car"], "group": 0, "source": "manual", "occluded": False,
             "z_order": 0, "attributes": [{"spec_id": specs["model"], "value": "mazda"}]}
    return {
        "version": 0,
        "tags": [{"frame": frame, "label_id": labels["person"], "group": None, "attributes": []}],
        "shapes": [
            {**copy.deepcopy(shape), "type": "rectangle", "points": [1.5, 2.25, 30.0, 40.125]},
            {**copy.deepcopy(shape), "type": "polygon", "points": [1, 1, 20, 1, 20, 20, 1, 20]},
            {**copy.deepcopy(shape), "type": "polyline", "points": [0, 0, 10, 10, 20, 0]},
            {**copy.deepcopy(shape), "type": "points", "points": [5, 5]},
            {**copy.deepcopy(shape), "type": "cuboid", "points": [float(i) for i in range(16)], "occluded": True,
             "z_order": 3},
        ],
        "tracks": [{
            "frame": frame, "label_id": labels["car"], "group": 1, "source": "auto",
            "attributes": [{"spec_id": specs["model"], "value": "bmw"}],
            "shapes": [
                {"type": "rectangle", "frame": frame, "occluded": False, "outside": False, "z_order": 0,
                 "points": [0, 0, 10, 10], "attributes": [{"spec_id": specs["speed"], "value": "50"}]},
                {"type": "rectangle", "frame": frame + 2, "occluded": True, "outside": True, "z_order": 0,
                 "points": [4, 4, 14, 14], "attributes": []},
            ],
        }],
    }


def without_ids(data: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(data)
    for kind in ("tags", "shapes", "tracks"):
        for obj in stripped[kind]:
            obj.pop("id", None)
            for shape in obj.get("shapes", []):
                shape.pop("id", None)
    stripped.pop("version", None)
    return stripped


def test_put_and_get_every_kind_of_object(api: ApiCaller) -> None:
    task = built_task(api.login())
    job_id = task["segments"][0]["jobs"][0]["id"]
    empty = api.call("GET", f"/api/v1/jobs/{job_id}/annotations")
    assert empty.status == 200 and empty.json() == {"version": 0, "tags": [], "shapes": [], "tracks": []}
    assert empty.headers["etag"] == '"0-0"'
    sent = sample(task)
    saved = api.call("PUT", f"/api/v1/jobs/{job_id}/annotations", json_body=sent)
    assert saved.status == 200, saved.body
    answer = saved.json()
    assert answer["version"] == 1
    assert all(isinstance(o["id"], int) for kind in ("tags", "shapes", "tracks") for o in answer[kind])
    assert all(isinstance(s["id"], int) for s in answer["tracks"][0]["shapes"])
    assert without_ids(answer)["shapes"] == [{**s, "points": [float(p) for p in s["points"]]} for s in sent["shapes"]]

    read = api.call("GET", f"/api/v1/jobs/{job_id}/annotations").json()
    assert read["version"] == 1
    _, specs = ids(task)
    rectangle = read["shapes"][0]
    assert rectangle["points"] == [1.5, 2.25, 30.0, 40.125] and rectangle["type"] == "rectangle"
    # read answers are padded with the label's defaults (spec §9.3)
    assert {a["spec_id"]: a["value"] for a in rectangle["attributes"]} == {
        specs["model"]: "mazda", specs["parked"]: "false", specs["speed"]: "0", specs["note"]: ""}
    assert read["tags"][0]["attributes"] == [] and read["tags"][0]["group"] is None
    track = read["tracks"][0]
    assert track["source"] == "auto" and track["group"] == 1
    assert {a["spec_id"]: a["value"] for a in track["attributes"]} == {specs["model"]: "bmw", specs["note"]: ""}
    first, second = track["shapes"]
    assert {a["spec_id"]: a["value"] for a in first["attributes"]} == {specs["speed"]: "50", specs["parked"]: "false"}
    assert {a["spec_id"]: a["value"] for a in second["attributes"]} == {specs["speed"]: "50", specs["parked"]: "false"}
    assert second["outside"] is True and second["occluded"] is True and second["points"] == [4.0, 4.0, 14.0, 14.0]
    cuboid = next(s for s in read["shapes"] if s["type"] == "cuboid")
    assert cuboid["points"] == [float(i) for i in range(16)] and cuboid["z_order"] == 3

    task_view = api.call("GET", f"/api/v1/tasks/{task['id']}/annotations").json()
    assert task_view["version"] == 1 and len(task_view["shapes"]) == 5 and len(task_view["tracks"]) == 1
    assert api.call("GET", f"/api/v1/tasks/{task['id']}").json()["updated_date"] > task["updated_date"]


def test_patch_create_update_delete_and_versions(api: ApiCaller) -> None:
    task = built_task(api.login())
    job_id = task["segments"][0]["jobs"][0]["id"]
    path = f"/api/v1/jobs/{job_id}/annotations"
    created = api.call("PATCH", path, query={"action": "create"}, json_body=sample(task)).json()
    assert created["version"] == 1
    rectangle = created["shapes"][0]
    moved = {**rectangle, "points": [2, 2, 3, 3]}
    updated = api.call("PATCH", path, query={"action": "update"},
                       json_body={"version": 9, "tags": [], "shapes": [moved], "tracks": []}).json()
    assert updated["version"] == 2 and updated["shapes"][0]["id"] == rectangle["id"]
    read = api.call("GET", path).json()
    assert [s["points"] for s in read["shapes"] if s["id"] == rectangle["id"]] == [[2.0, 2.0, 3.0, 3.0]]
    assert len(read["shapes"]) == 5
    gone = {"version": 0, "tags": [], "shapes": [moved, {**moved, "id": 999999}], "tracks": []}
    echoed = api.call("PATCH", path, query={"action": "delete"}, json_body=gone).json()
    assert echoed["version"] == 3 and echoed["shapes"] == [moved, {**moved, "id": 999999}]
    assert len(api.call("GET", path).json()["shapes"]) == 4
    again = api.call("PATCH", path, query={"action": "create"},
                     json_body={"version": 0, "tags": [], "shapes": [created["shapes"][1]], "tracks": []})
    assert again.status == 400 and "already used" in again.json()
    bad = api.call("PATCH", path, json_body=sample(task))
    assert bad.status == 400 and bad.json() == ["Please specify a correct 'action' for the request"]
    cleared = api.call("DELETE", path)
    assert cleared.status == 204
    assert api.call("GET", path).json() == {"version": 4, "tags": [], "shapes": [], "tracks": []}
    nothing = api.call("PUT", path, json_body={"version": 0, "tags": [], "shapes": [], "tracks": []}).json()
    assert nothing["version"] == 5  # every write counts, even an empty one; refused ones do not


@pytest.mark.parametrize(("change", "message"), [
    (lambda d, lab, sp: d["shapes"][0].update(label_id=99999), "label_id `99999` is invalid"),
    (lambda d, lab, sp: d["shapes"][0]["attributes"].append({"spec_id": 99999, "value": "x"}),
     "spec_id `99999` is invalid"),
    (lambda d, lab, sp: d["tracks"][0]["attributes"].append({"spec_id": sp["speed"], "value": "1"}),
     "spec_id `{speed}` is invalid"),
    (lambda d, lab, sp: d["tracks"][0]["shapes"][0]["attributes"].append({"spec_id": sp["model"], "value": "bmw"}),
     "spec_id `{model}` is invalid"),
    (lambda d, lab, sp: d["shapes"][0]["attributes"].__setitem__(0, {"spec_id": sp["model"], "value": "audi"}),
     "shapes[0]: attribute model (spec_id {model}) value 'audi' is not one of bmw, mazda"),
    (lambda d, lab, sp: d["shapes"][0]["attributes"].append({"spec_id": sp["parked"], "value": "yes"}),
     "shapes[0]: attribute parked (spec_id {parked}) value 'yes' is not true or false"),
    (lambda d, lab, sp: d["shapes"][1]["attributes"].append({"spec_id": sp["speed"], "value": "250"}),
     "shapes[1]: attribute speed (spec_id {speed}) value 250 is outside 0..200"),
    (lambda d, lab, sp: d["shapes"][0].update(frame=50), "shapes[0]: frame 50 is outside job {job} (frames 0..9)"),
    (lambda d, lab, sp: d["shapes"][0].update(points=[1, 2, 3]),
     "shapes[0]: points of a rectangle need exactly 4 numbers, not 3"),
    (lambda d, lab, sp: d["shapes"][1].update(points=[1, 2, 3, 4]),
     "shapes[1]: points of a polygon need an even count of at least 6 numbers, not 4"),
    (lambda d, lab, sp: d["shapes"][4].update(points=[1.0] * 15),
     "shapes[4]: points of a cuboid need exactly 16 numbers, not 15"),
    (lambda d, lab, sp: d["tracks"][0]["shapes"][1].update(frame=12),
     "tracks[0].shapes[1]: frame 12 is outside job {job} (frames 0..9)"),
])
def test_invalid_annotations_change_nothing(api: ApiCaller, change: Any, message: str) -> None:
    task = built_task(api.login())
    job_id = task["segments"][0]["jobs"][0]["id"]
    path = f"/api/v1/jobs/{job_id}/annotations"
    api.call("PUT", path, json_body=sample(task))
    before = api.call("GET", path).json()
    labels, specs = ids(task)
    data = sample(task)
    change(data, labels, specs)
    for method, query in (("PUT", {}), ("PATCH", {"action": "create"})):
        answer = api.call(method, path, query=query, json_body=data)
        assert answer.status == 400
        assert answer.json() == message.format(job=job_id, **specs)
    assert api.call("GET", path).json() == before


def test_field_errors_of_labeled_data(api: ApiCaller) -> None:
    task = built_task(api.login())
    path = f"/api/v1/tasks/{task['id']}/annotations"
    data = sample(task)
    data["shapes"][0]["points"] = []
    del data["tags"][0]["group"]
    data["tracks"][0]["shapes"] = []
    data["shapes"][1]["type"] = "circle"
    answer = api.call("PUT", path, json_body=data)
    assert answer.status == 400
    assert answer.json() == {
        "tags": [{"group": ["This field is required."]}],
        "shapes": [{"points": ["This list may not be empty."]}, {"type": ['"circle" is not a valid choice.']}],
        "tracks": [{"shapes": ["This list may not be empty."]}],
    }
    assert api.call("PUT", path, json_body={"version": 1, "shapes": []}).json() == {
        "tags": ["This field is required."], "tracks": ["This field is required."]}


def test_task_writes_split_into_overlapping_jobs_and_read_merged(api: ApiCaller) -> None:
    task = built_task(api.login(), frames=9, segment_size=4, overlap=1)
    segments = [(s["start_frame"], s["stop_frame"]) for s in task["segments"]]
    assert segments == [(0, 3), (3, 6), (6, 8)]
    jobs = [s["jobs"][0]["id"] for s in task["segments"]]
    labels, _ = ids(task)
    box = {"type": "rectangle", "label_id": labels["car"], "group": 0, "occluded": False, "attributes": []}
    data = {"version": 0, "tags": [], "tracks": [], "shapes": [
        {**box, "frame": frame, "points": [frame, 0, frame + 10, 10]} for frame in range(9)]}
    data["tracks"] = [{"frame": 1, "label_id": labels["car"], "group": 0, "attributes": [], "shapes": [
        {"type": "rectangle", "frame": 1, "occluded": False, "outside": False, "points": [0, 0, 10, 10],
         "attributes": []},
        {"type": "rectangle", "frame": 5, "occluded": False, "outside": False, "points": [40, 0, 50, 10],
         "attributes": []}]}]
    saved = api.call("PUT", f"/api/v1/tasks/{task['id']}/annotations", json_body=data)
    assert saved.status == 200 and saved.json()["version"] == 1
    per_job = [api.call("GET", f"/api/v1/jobs/{j}/annotations").json() for j in jobs]
    assert [sorted(s["frame"] for s in j["shapes"]) for j in per_job] == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8]]
    assert all(j["version"] == 1 for j in per_job)
    # the track is cut at the segment's edge with the interpolated box as a keyframe
    first_track = per_job[0]["tracks"][0]["shapes"]
    assert [(s["frame"], s["points"]) for s in first_track] == [(1, [0.0, 0.0, 10.0, 10.0]),
                                                                (3, [20.0, 0.0, 30.0, 10.0])]
    second_track = per_job[1]["tracks"][0]["shapes"]
    assert [s["frame"] for s in second_track] == [3, 5]
    # its last keyframe is not outside, so the box goes on into the last job (spec §9.5, §10.7)
    assert [(s["frame"], s["points"]) for s in per_job[2]["tracks"][0]["shapes"]] == [(6, [40.0, 0.0, 50.0, 10.0])]
    merged = api.call("GET", f"/api/v1/tasks/{task['id']}/annotations").json()
    assert sorted(s["frame"] for s in merged["shapes"]) == list(range(9))
    assert [s["frame"] for s in merged["tracks"][0]["shapes"]] == [1, 3, 5, 6]

    # a job-level write reaches that job only; the task shows the highest version
    extra = {**box, "frame": 4, "points": [1, 1, 2, 2]}
    api.call("PATCH", f"/api/v1/jobs/{jobs[1]}/annotations", query={"action": "create"},
             json_body={"version": 0, "tags": [], "shapes": [extra], "tracks": []})
    versions = [api.call("GET", f"/api/v1/jobs/{j}/annotations").json()["version"] for j in jobs]
    assert versions == [1, 2, 1]
    assert api.call("GET", f"/api/v1/tasks/{task['id']}/annotations").json()["version"] == 2
    assert api.call("DELETE", f"/api/v1/tasks/{task['id']}/annotations").status == 204
    versions = [api.call("GET", f"/api/v1/jobs/{j}/annotations").json()["version"] for j in jobs]
    assert versions == [2, 3, 2]


def test_if_match_guards_against_lost_updates(api: ApiCaller) -> None:
    task = built_task(api.login())
    path = f"/api/v1/tasks/{task['id']}/annotations"
    etag = api.call("GET", path).headers["etag"]
    first = api.call("PUT", path, json_body=sample(task), headers={"If-Match": etag})
    assert first.status == 200 and first.headers["etag"] != etag
    stale = api.call("PUT", path, json_body=sample(task), headers={"If-Match": etag})
    assert stale.status == 412
    assert stale.json()["detail"].startswith(f"The annotations of task {task['id']} changed since {etag}")
    fresh = api.call("PATCH", path, query={"action": "create"}, json_body=sample(task),
                     headers={"If-Match": first.headers["etag"]})
    assert fresh.status == 200 and fresh.json()["version"] == 2


def test_concurrent_writers_lose_nothing(api: ApiCaller) -> None:
    task = built_task(api.login(), frames=10, segment_size=5, overlap=0)
    labels, _ = ids(task)
    jobs = [s["jobs"][0]["id"] for s in task["segments"]]
    writes_per_thread, errors = 6, []

    def writer(number: int) -> None:
        caller = ApiCaller(api.stack, token=api.token)
        for write in range(writes_per_thread):
            job = jobs[(number + write) % 2]
            frame = 0 if job == jobs[0] else 5
            shape = {"type": "points", "frame": frame, "label_id": labels["person"], "group": 0, "occluded": False,
                     "points": [number, write], "attributes": []}
            target = f"/api/v1/jobs/{job}/annotations" if write % 3 else f"/api/v1/tasks/{task['id']}/annotations"
            answer = caller.call("PATCH", target, query={"action": "create"},
                                 json_body={"version": 0, "tags": [], "shapes": [shape], "tracks": []})
            if answer.status != 200:
                errors.append(answer.body)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    merged = api.call("GET", f"/api/v1/tasks/{task['id']}/annotations").json()
    expected = {(float(n), float(w)) for n in range(4) for w in range(writes_per_thread)}
    stored = [tuple(s["points"]) for s in merged["shapes"]]
    assert expected - set(stored) == set() and len(stored) == len(expected)
    # 24 writes: 8 of them task-level (both jobs), 16 to one job each
    versions = [api.call("GET", f"/api/v1/jobs/{j}/annotations").json()["version"] for j in jobs]
    assert sum(versions) == 16 + 2 * 8


def test_jobs_status_assignee_and_permissions(api: ApiCaller) -> None:
    task = built_task(api.login(), frames=6, segment_size=3)
    first, second = (s["jobs"][0]["id"] for s in task["segments"])
    job = api.call("GET", f"/api/v1/jobs/{first}").json()
    assert job == {"url": f"http://testserver/api/v1/jobs/{first}", "id": first, "assignee": None,
                   "status": "annotation", "start_frame": 0, "stop_frame": 2, "task_id": task["id"]}
    bad = api.call("PATCH", f"/api/v1/jobs/{first}", json_body={"status": "done"})
    assert bad.status == 400 and bad.json() == {"status": ['"done" is not a valid choice.']}
    assert api.call("PATCH", f"/api/v1/jobs/{first}", json_body={"assignee": 99999}).json() == {
        "assignee": ['Invalid pk "99999" - object does not exist.']}
    annotator = users.create_user("anna", "Pass-12345", groups=("annotator",))
    assert api.call("PUT", f"/api/v1/jobs/{first}", json_body={"status": "completed",
                                                              "assignee": annotator.id}).status == 200
    assert api.call("GET", f"/api/v1/tasks/{task['id']}").json()["status"] == "annotation"
    api.call("PATCH", f"/api/v1/jobs/{second}", json_body={"status": "validation"})
    assert api.call("GET", f"/api/v1/tasks/{task['id']}").json()["status"] == "validation"
    # the task has an assignee now, so only the job's assignee (and owner, admin) may annotate
    api.call("PATCH", f"/api/v1/tasks/{task['id']}", json_body={"assignee": users.find_user("admin").id})
    anna = ApiCaller(api.stack).login("anna", "Pass-12345")
    assert anna.call("GET", f"/api/v1/jobs/{first}/annotations").status == 200
    assert anna.call("PATCH", f"/api/v1/jobs/{first}", json_body={"status": "annotation"}).status == 200
    assert anna.call("GET", f"/api/v1/jobs/{second}/annotations").status == 403
    assert anna.call("PUT", f"/api/v1/tasks/{task['id']}/annotations", json_body=sample(task)).status == 403
    assert anna.call("GET", "/api/v1/jobs/999999").status == 404
    assert ApiCaller(api.stack).call("GET", f"/api/v1/jobs/{first}").status == 401
    assert api.call("POST", f"/api/v1/jobs/{first}").status == 405


def test_deleting_a_task_leaves_no_annotation_item(api: ApiCaller) -> None:
    task = built_task(api.login(), frames=8, segment_size=4)
    for _ in range(3):  # replaced generations must be gone too
        api.call("PUT", f"/api/v1/tasks/{task['id']}/annotations", json_body=sample(task))
    table = boto3.resource("dynamodb").Table(_annotations_table())

    def items_of_task() -> list[dict[str, Any]]:
        return [i for i in table.scan()["Items"] if i["partition"].startswith(f"{task['id']}#")]

    assert len(items_of_task()) == 7 + 1  # a tag, five shapes and a track of the first job, and the head
    assert api.call("DELETE", f"/api/v1/tasks/{task['id']}").status == 204
    assert items_of_task() == []


def _annotations_table() -> str:
    from shared.config import settings

    return settings().annotations_table


def _upload(api: ApiCaller, task_id: int, document: bytes) -> str:
    slot = api.call("POST", f"/api/v1/tasks/{task_id}/annotations/uploads")
    assert slot.status == 201, slot.body
    answer = slot.json()
    assert answer["method"] == "PUT" and answer["expires_in"] == 900
    assert f"imports/{task_id}/{answer['upload_id']}/annotations.json" in answer["url"]
    from shared.config import settings

    boto3.client("s3").put_object(Bucket=settings().media_bucket, Body=document,
                                  Key=f"imports/{task_id}/{answer['upload_id']}/annotations.json")
    return str(answer["upload_id"])


@pytest.mark.slow
def test_a_20_mb_document_through_the_upload_route(api: ApiCaller) -> None:
    import json
    import time

    task = built_task(api.login(), frames=4)
    labels, _ = ids(task)
    polygon = [float(v) for i in range(1_000) for v in (i % 64 + 0.123456789, (i * 7) % 48 + 0.987654321)]
    shapes = [{"type": "polygon", "frame": i % 4, "label_id": labels["car"], "group": 0, "occluded": False,
               "attributes": [], "points": polygon} for i in range(800)]
    document = json.dumps({"version": 0, "tags": [], "shapes": shapes, "tracks": []}).encode()
    assert len(document) > 20 * 1024 * 1024
    path = f"/api/v1/tasks/{task['id']}/annotations"
    too_large = api.call("PUT", path, raw=document[: 4 * 1024 * 1024 + 10], content_type="application/json")
    assert too_large.status == 413
    assert "POST /api/v1/tasks/{id}/annotations/uploads" in too_large.json()["detail"]

    upload_id = _upload(api, task["id"], document)
    first = api.call("PUT", path, query={"upload": upload_id})
    assert first.status in (201, 202)
    deadline = time.monotonic() + 120
    while (answer := api.call("PUT", path, query={"upload": upload_id})).status == 202:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert answer.status == 201
    read = api.call("GET", path)
    assert read.status == 302  # larger than a Lambda answer: a presigned S3 copy
    assert "X-Amz-Signature=" in read.headers["location"]
    from shared import annotation_store

    _, objects = annotation_store.read(task["id"], [task["segments"][0]["jobs"][0]["id"]])
    stored = list(objects[task["segments"][0]["jobs"][0]["id"]]["shapes"].values())
    assert len(stored) == 800 and stored[0]["points"] == polygon
    assert api.call("PUT", path, query={"upload": upload_id}).status == 201  # asking again changes nothing


def test_a_refused_document_answers_like_a_request_would(api: ApiCaller) -> None:
    import json
    import time

    task = built_task(api.login(), frames=2)
    data = sample(task)
    data["shapes"][0]["label_id"] = 99999
    upload_id = _upload(api, task["id"], json.dumps(data).encode())
    path = f"/api/v1/tasks/{task['id']}/annotations"
    deadline = time.monotonic() + 60
    while (answer := api.call("PATCH", path, query={"upload": upload_id, "action": "create"})).status == 202:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert answer.status == 400 and answer.json() == "label_id `99999` is invalid"
    assert api.call("GET", path).json()["version"] == 0
    unknown = api.call("PUT", path, query={"upload": "nope"})
    assert unknown.status == 400 and unknown.json() == "upload nope is not an upload of this task"


def test_a_task_without_data_has_empty_annotations_and_takes_none(api: ApiCaller) -> None:
    task = new_task(api.login(), labels=LABELS)
    path = f"/api/v1/tasks/{task['id']}/annotations"
    assert api.call("GET", path).json() == {"version": 0, "tags": [], "shapes": [], "tracks": []}
    refused = api.call("PUT", path, json_body={"version": 0, "tags": [], "shapes": [], "tracks": []})
    assert refused.status == 400
    assert refused.json() == "The task has no frames yet: attach data, and save annotations once it is built"

"""Tasks through the real handlers: create, list, retrieve, update, delete (spec §3, §4.1)."""

from typing import Any

import pytest

from shared import users
from tests.integration.events import ApiCaller

LABELS = [
    {"name": "car", "color": "#ff0000", "attributes": [
        {"name": "parked", "mutable": True, "input_type": "checkbox", "default_value": "false",
         "values": ["false", "true"]},
        {"name": "model", "mutable": False, "input_type": "select", "default_value": "bmw",
         "values": [" bmw ", "mazda"]}]},
    {"name": "person"},
]


@pytest.fixture(scope="module")
def people(stack: Any) -> dict[str, int]:
    made = {}
    for name, groups in (("alice", ("user",)), ("bob", ("user",)), ("olga", ("observer",)), ("nina", ())):
        made[name] = users.create_user(name, "Pass-12345", groups=groups).id
    return made


def create(api: ApiCaller, **fields: Any) -> dict[str, Any]:
    answer = api.call("POST", "/api/v1/tasks", json_body={"name": "cars", "labels": LABELS, **fields})
    assert answer.status == 201, answer.body
    return answer.json()  # type: ignore[no-any-return]


def test_create_answers_the_task_without_data_keys(api: ApiCaller) -> None:
    task = create(api.login(), bug_tracker="http://bt/1", segment_size=100)
    assert task["url"] == f"http://testserver/api/v1/tasks/{task['id']}"
    assert task["mode"] == "" and task["status"] == "annotation" and task["overlap"] is None
    assert task["segment_size"] == 100 and task["z_order"] is False and task["segments"] == []
    assert task["bug_tracker"] == "http://bt/1" and task["project"] is None and task["assignee"] is None
    assert task["owner"] == users.find_user("admin").id  # type: ignore[union-attr]
    for key in ("data", "size", "image_quality", "data_chunk_size", "data_compressed_chunk_type",
                "data_original_chunk_type"):
        assert key not in task
    car, person = task["labels"]
    assert car["name"] == "car" and car["color"] == "#ff0000" and person["name"] == "person"
    assert person["color"].startswith("#") and len(person["color"]) == 7
    assert [a["name"] for a in car["attributes"]] == ["parked", "model"]
    assert car["attributes"][1]["values"] == ["bmw", "mazda"]  # trimmed
    assert person["attributes"] == []
    assert task["created_date"].endswith("Z") and len(task["created_date"]) == 27
    again = api.call("GET", f"/api/v1/tasks/{task['id']}")
    assert again.status == 200 and again.json() == task


@pytest.mark.parametrize(("body", "errors"), [
    ({"labels": LABELS}, {"name": ["This field is required."]}),
    ({"name": "x"}, {"labels": ["This field is required."]}),
    ({"name": "x", "labels": []}, {"labels": ["Label set must not be empty"]}),
    ({"name": "x", "labels": [{"name": "a"}, {"name": "a"}]},
     {"labels": ["All label names must be unique for the task"]}),
    ({"name": "x" * 257, "labels": LABELS}, {"name": ["Ensure this field has no more than 256 characters."]}),
    ({"name": "x", "labels": LABELS, "overlap": -1}, {"overlap": ["Ensure this value is greater than or equal to 0."]}),
    ({"name": "x", "labels": LABELS, "segment_size": "many"}, {"segment_size": ["A valid integer is required."]}),
    ({"name": "x", "labels": LABELS, "owner": 999}, {"owner": ['Invalid pk "999" - object does not exist.']}),
    ({"name": "x", "labels": [{"name": "a", "attributes": [{"name": "b", "mutable": True, "input_type": "circle"}]}]},
     {"labels": [{"attributes": [{"input_type": ['"circle" is not a valid choice.']}]}]}),
])
def test_create_refuses_bad_tasks_naming_the_field(api: ApiCaller, body: dict[str, Any], errors: Any) -> None:
    answer = api.login().call("POST", "/api/v1/tasks", json_body=body)
    assert answer.status == 400
    assert answer.json() == errors


def test_malformed_json_is_a_400(api: ApiCaller) -> None:
    answer = api.login().call("POST", "/api/v1/tasks", raw=b"{not json", content_type="application/json")
    assert answer.status == 400
    assert answer.json()["detail"].startswith("JSON parse error")
    listed = api.call("POST", "/api/v1/tasks", raw=b"[1, 2]", content_type="application/json")
    assert listed.status == 400 and listed.json() == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}


def test_update_merges_labels_and_ignores_read_only_fields(api: ApiCaller) -> None:
    task = create(api.login(), overlap=3, segment_size=10)
    changed = api.call("PATCH", f"/api/v1/tasks/{task['id']}", json_body={
        "name": "renamed", "overlap": 9, "segment_size": 1, "status": "completed",
        "labels": [{"name": "car", "attributes": [{"name": "parked", "mutable": False, "input_type": "radio",
                                                    "values": ["a", "b"]},
                                                   {"name": "speed", "mutable": True, "input_type": "number",
                                                    "values": ["0", "200", "1"]}]},
                   {"name": "bike"}]})
    assert changed.status == 200, changed.body
    after = changed.json()
    assert after["name"] == "renamed" and after["overlap"] == 3 and after["segment_size"] == 10
    assert after["status"] == "annotation" and after["updated_date"] == task["updated_date"]
    assert [label["name"] for label in after["labels"]] == ["car", "person", "bike"]
    car = after["labels"][0]
    assert car["id"] == task["labels"][0]["id"]
    parked = car["attributes"][0]
    assert parked["id"] == task["labels"][0]["attributes"][0]["id"]
    assert (parked["mutable"], parked["input_type"], parked["values"]) == (False, "radio", ["a", "b"])
    assert [a["name"] for a in car["attributes"]] == ["parked", "model", "speed"]
    replaced = api.call("PUT", f"/api/v1/tasks/{task['id']}", json_body={"name": "put"})
    assert replaced.status == 400 and replaced.json() == {"labels": ["This field is required."]}
    assert api.call("PATCH", "/api/v1/tasks/99999", json_body={"name": "x"}).status == 404


def test_permissions_of_owner_other_user_and_observer(api: ApiCaller, people: dict[str, int], stack: Any) -> None:
    alice = ApiCaller(stack).login("alice", "Pass-12345")
    bob = ApiCaller(stack).login("bob", "Pass-12345")
    olga = ApiCaller(stack).login("olga", "Pass-12345")
    nina = ApiCaller(stack).login("nina", "Pass-12345")
    task = create(alice, assignee=people["bob"])
    path = f"/api/v1/tasks/{task['id']}"
    assert task["owner"] == people["alice"]
    assert olga.call("GET", path).status == 200
    assert olga.call("PATCH", path, json_body={"name": "o"}).status == 403
    assert bob.call("PATCH", path, json_body={"name": "by assignee"}).status == 200
    assert bob.call("DELETE", path).status == 403
    assert nina.call("POST", "/api/v1/tasks", json_body={"name": "x", "labels": LABELS}).status == 403
    assert nina.call("GET", path).json() == {"detail": "You do not have permission to perform this action."}
    assert alice.call("DELETE", path).status == 204
    assert alice.call("GET", path).status == 404


def test_list_pages_filters_search_and_ordering(api: ApiCaller, people: dict[str, int], stack: Any) -> None:
    bob = ApiCaller(stack).login("bob", "Pass-12345")
    made = [create(bob, name=f"list-{i:02d} {'apple' if i % 2 else 'pear'}") for i in range(12)]
    ids = [t["id"] for t in made]
    page = bob.call("GET", "/api/v1/tasks", query={"search": "list-", "page_size": "5"}).json()
    assert page["count"] == 12
    assert [t["id"] for t in page["results"]] == sorted(ids, reverse=True)[:5]
    assert page["previous"] is None
    assert page["next"] == "http://testserver/api/v1/tasks?search=list-&page_size=5&page=2"
    last = bob.call("GET", "/api/v1/tasks", query={"search": "list-", "page_size": "5", "page": "3"}).json()
    assert len(last["results"]) == 2 and last["next"] is None
    assert last["previous"] == "http://testserver/api/v1/tasks?search=list-&page_size=5&page=2"
    beyond = bob.call("GET", "/api/v1/tasks", query={"search": "list-", "page": "9"})
    assert beyond.json() == {"detail": "Invalid page."}
    assert bob.call("GET", "/api/v1/tasks", query={"page": "x"}).status == 404
    everything = bob.call("GET", "/api/v1/tasks", query={"search": "list-", "page_size": "all"}).json()
    assert len(everything["results"]) == 12 and everything["next"] is None
    apples = bob.call("GET", "/api/v1/tasks", query={"search": "APPLE bob", "page_size": "all"}).json()
    assert sorted(t["id"] for t in apples["results"]) == sorted(ids[1::2])
    by_name = bob.call("GET", "/api/v1/tasks", query={"name": "pear", "ordering": "name", "page_size": "all"}).json()
    assert [t["name"] for t in by_name["results"]] == sorted(t["name"] for t in made[0::2])
    by_owner = bob.call("GET", "/api/v1/tasks", query={"owner": "bo", "id": str(ids[3])}).json()
    assert [t["id"] for t in by_owner["results"]] == [ids[3]]
    zero = bob.call("GET", "/api/v1/tasks", query={"search": "list-", "page_size": "0"}).json()
    assert len(zero["results"]) == 10  # 0, negative or non-numeric page sizes mean the default
    ordered = bob.call("GET", "/api/v1/tasks", query={"search": "list-", "ordering": "id,bogus"}).json()
    assert [t["id"] for t in ordered["results"]] == sorted(ids)[:10]


def test_list_visibility_of_a_plain_user(api: ApiCaller, people: dict[str, int], stack: Any) -> None:
    alice = ApiCaller(stack).login("alice", "Pass-12345")
    nina = ApiCaller(stack).login("nina", "Pass-12345")
    assigned = create(alice, name="assigned-to-bob", assignee=people["bob"])
    open_task = create(alice, name="unassigned")
    seen = {t["id"] for t in nina.call("GET", "/api/v1/tasks", query={"page_size": "all"}).json()["results"]}
    assert open_task["id"] in seen and assigned["id"] not in seen
    olga = ApiCaller(stack).login("olga", "Pass-12345")
    seen = {t["id"] for t in olga.call("GET", "/api/v1/tasks", query={"page_size": "all"}).json()["results"]}
    assert {open_task["id"], assigned["id"]} <= seen


def test_jobs_of_a_task_without_data_are_empty(api: ApiCaller) -> None:
    task = create(api.login())
    answer = api.call("GET", f"/api/v1/tasks/{task['id']}/jobs")
    assert answer.status == 200 and answer.json() == []

"""The permission matrix of spec §2.2 and §2.3, route by route and role by role, through the
real handlers on moto, with the precedence of spec §0 (401, then 404, then 403, then 400).

The world, built once for the module (all tasks owned by `owner`):
  A  data, two jobs; assignee `assignee`; job 1 assigned to `annotator`, job 2 to nobody
  O  data, one job; no assignee (open: anyone is its job annotator)
  E  no data; assignee `assignee`      N  no data, no assignee
`idle` is an annotator with no job, `other` a plain user. A refusal is 403 with CVAT's text
and nothing of the object; an allowed call that passes the rule and fails validation (400)
shows that the rule let it through without changing anything.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from shared import users
from shared.config import settings
from tests.integration.events import Answer, ApiCaller
from tests.integration.test_annotations import built_task
from tests.integration.test_creation import new_task
from tests.integration.test_export_import import download as fetch
from tests.integration.test_export_import import multipart_file, poll

pytestmark = pytest.mark.xdist_group("permissions")

PASSWORD = "Pass-12345"
GROUPS = {"owner": ("user",), "assignee": ("user",), "annotator": ("annotator",), "idle": ("annotator",),
          "other": ("user",), "observer": ("observer",)}
ROLES = ("owner", "assignee", "annotator", "idle", "other", "observer", "admin", "anonymous")
ANYONE = frozenset(ROLES[:-1])
DENIED = {"detail": "You do not have permission to perform this action."}
NOT_FOUND = {"detail": "Not found."}
ANONYMOUS = {"detail": "Authentication credentials were not provided."}

VIEW_A = frozenset({"owner", "assignee", "annotator", "observer", "admin"})  # task annotators: assignee, job 1's
CHANGE_A = frozenset({"owner", "assignee", "admin"})
JOB1_VIEW = VIEW_A
JOB1_CHANGE = frozenset({"owner", "assignee", "annotator", "admin"})
JOB2_VIEW = frozenset({"owner", "assignee", "observer", "admin"})
JOB2_CHANGE = CHANGE_A
OWNER_ONLY = frozenset({"owner", "admin"})
NO_DATA_VIEW = frozenset({"owner", "observer", "admin"})  # quirk §2.1: a task without jobs has no annotator
EMPTY = {"version": 0, "tags": [], "shapes": [], "tracks": []}
JOB_STATUS = {"status": "annotation"}
BOGUS = {"format": "No such format"}


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # {A} {O} {E} {N}: task ids; {j1} {j2} {jo}: job ids
    allowed: frozenset[str]
    ok: int
    query: dict[str, str] | None = None
    body: Any = None

    def expected(self, role: str) -> int:
        if role == "anonymous":
            return 401
        return self.ok if role in self.allowed else 403

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in (self.query or {}).items())
        return f"{self.method} {self.path}{'?' + query if query else ''}"


READS = [
    Case("GET", "/tasks/{A}", VIEW_A, 200),
    Case("GET", "/tasks/{A}/jobs", VIEW_A, 200),
    Case("GET", "/tasks/{A}/status", VIEW_A, 200),
    Case("GET", "/tasks/{A}/data", VIEW_A, 200, {"type": "preview"}),
    Case("GET", "/tasks/{A}/data", VIEW_A, 200, {"type": "frame", "number": "0"}),
    Case("GET", "/tasks/{A}/data", VIEW_A, 302, {"type": "chunk", "number": "0"}),
    Case("GET", "/tasks/{A}/data", ANYONE, 400),  # no type: the parameter check comes first (§12.22)
    Case("GET", "/tasks/{A}/data/meta", VIEW_A, 200),
    Case("GET", "/tasks/{A}/annotations", VIEW_A, 200),
    Case("GET", "/tasks/{A}/annotations", VIEW_A, 400, BOGUS),  # export
    Case("GET", "/tasks/{A}/dataset", VIEW_A, 400, BOGUS),
    Case("GET", "/tasks/{A}/annotations/dump", VIEW_A, 400, BOGUS),  # the 1.0 dump route
    Case("GET", "/jobs/{j1}", JOB1_VIEW, 200),
    Case("GET", "/jobs/{j2}", JOB2_VIEW, 200),
    Case("GET", "/jobs/{j1}/annotations", JOB1_VIEW, 200),
    Case("GET", "/jobs/{j2}/annotations", JOB2_VIEW, 200),
    Case("GET", "/tasks/{O}", ANYONE, 200),
    Case("GET", "/tasks/{O}/data", ANYONE, 200, {"type": "preview"}),
    Case("GET", "/tasks/{O}/annotations", ANYONE, 200),
    Case("GET", "/jobs/{jo}", ANYONE, 200),
    Case("GET", "/jobs/{jo}/annotations", ANYONE, 200),
    Case("GET", "/tasks/{E}", NO_DATA_VIEW, 200),  # its assignee too gets 403 (quirk §2.1)
    Case("GET", "/tasks/{E}/status", NO_DATA_VIEW, 200),
    Case("GET", "/tasks/{E}/jobs", NO_DATA_VIEW, 200),
    Case("GET", "/tasks/{N}", NO_DATA_VIEW, 200),  # listed for everyone, readable by few (quirk §2.1)
]

WRITES = [
    Case("PATCH", "/tasks/{A}", CHANGE_A, 200, body={"bug_tracker": "http://bt/1"}),
    Case("PUT", "/tasks/{A}", CHANGE_A, 200, body={"name": "assigned", "labels": [{"name": "car"}]}),
    Case("PATCH", "/tasks/{E}", CHANGE_A, 200, body={"bug_tracker": "http://bt/2"}),  # the assignee may (quirk)
    Case("PATCH", "/tasks/{O}", OWNER_ONLY, 200, body={"bug_tracker": "http://bt/3"}),
    Case("PUT", "/tasks/{A}/annotations", CHANGE_A, 200, body=EMPTY),
    Case("PATCH", "/tasks/{A}/annotations", CHANGE_A, 200, {"action": "create"}, EMPTY),
    Case("DELETE", "/tasks/{A}/annotations", CHANGE_A, 204),
    Case("PUT", "/tasks/{A}/annotations", CHANGE_A, 400, BOGUS),  # import
    Case("PUT", "/tasks/{O}/annotations", OWNER_ONLY, 200, body=EMPTY),
    Case("POST", "/tasks/{A}/annotations/uploads", JOB1_CHANGE, 201),
    Case("POST", "/tasks/{O}/annotations/uploads", ANYONE, 201),
    # data: the role and the change rule (deviation from §2.2); 400 as the task has data already
    Case("POST", "/tasks/{A}/data", CHANGE_A, 400, body={"image_quality": 70, "server_files": ["a.jpg"]}),
    Case("POST", "/tasks/{O}/data", OWNER_ONLY, 400, body={"image_quality": 70, "server_files": ["a.jpg"]}),
    Case("POST", "/tasks/{A}/uploads", CHANGE_A, 400, body={"image_quality": 70, "files": [{"name": "a", "size": 1}]}),
    Case("PUT", "/jobs/{j1}", JOB1_CHANGE, 200, body=JOB_STATUS),
    Case("PATCH", "/jobs/{j1}", JOB1_CHANGE, 200, body=JOB_STATUS),
    Case("PUT", "/jobs/{j2}", JOB2_CHANGE, 200, body=JOB_STATUS),
    Case("PATCH", "/jobs/{jo}", ANYONE, 200, body=JOB_STATUS),  # the observer too: a job annotator (§2.3)
    Case("PUT", "/jobs/{j1}/annotations", JOB1_CHANGE, 200, body=EMPTY),
    Case("PATCH", "/jobs/{j1}/annotations", JOB1_CHANGE, 200, {"action": "create"}, EMPTY),
    Case("DELETE", "/jobs/{j1}/annotations", JOB1_CHANGE, 204),
    Case("PUT", "/jobs/{j1}/annotations", JOB1_CHANGE, 400, BOGUS),  # import
    Case("PUT", "/jobs/{j2}/annotations", JOB2_CHANGE, 200, body=EMPTY),
    Case("DELETE", "/jobs/{j2}/annotations", JOB2_CHANGE, 204),
    Case("PUT", "/jobs/{jo}/annotations", ANYONE, 200, body=EMPTY),
]

# every route that addresses one object, for the 404 of a missing id
MISSING = [
    ("GET", "/tasks/{t}", None), ("PUT", "/tasks/{t}", None), ("PATCH", "/tasks/{t}", None),
    ("DELETE", "/tasks/{t}", None), ("GET", "/tasks/{t}/jobs", None), ("GET", "/tasks/{t}/status", None),
    ("GET", "/tasks/{t}/data", {"type": "preview"}), ("GET", "/tasks/{t}/data/meta", None),
    ("POST", "/tasks/{t}/data", None), ("POST", "/tasks/{t}/uploads", None),
    ("GET", "/tasks/{t}/annotations", None), ("PUT", "/tasks/{t}/annotations", None),
    ("PATCH", "/tasks/{t}/annotations", {"action": "create"}), ("DELETE", "/tasks/{t}/annotations", None),
    ("GET", "/tasks/{t}/annotations", BOGUS), ("GET", "/tasks/{t}/dataset", BOGUS),
    ("PUT", "/tasks/{t}/annotations", BOGUS), ("GET", "/tasks/{t}/annotations/dump", BOGUS),
    ("POST", "/tasks/{t}/annotations/uploads", None),
    ("GET", "/jobs/{j}", None), ("PUT", "/jobs/{j}", None), ("PATCH", "/jobs/{j}", None),
    ("GET", "/jobs/{j}/annotations", None), ("PUT", "/jobs/{j}/annotations", None),
    ("PATCH", "/jobs/{j}/annotations", {"action": "create"}), ("DELETE", "/jobs/{j}/annotations", None),
    ("PUT", "/jobs/{j}/annotations", BOGUS),
]


# ---------------------------------------------------------------- the world


@pytest.fixture(scope="module")
def callers(stack: Any) -> dict[str, ApiCaller]:
    made = {role: ApiCaller(stack) for role in ROLES}
    for role, groups in GROUPS.items():
        users.create_user(f"perm_{role}", PASSWORD, groups=groups)
        made[role].login(f"perm_{role}", PASSWORD)
    made["admin"].login()
    return made


@pytest.fixture(scope="module")
def ids(callers: dict[str, ApiCaller]) -> dict[str, int]:
    owner, assignee = callers["owner"], _user_id("assignee")
    a = built_task(owner, frames=4, segment_size=2, assignee=assignee, name="assigned")
    o = built_task(owner, frames=2, name="open")
    j1, j2 = (segment["jobs"][0]["id"] for segment in a["segments"])
    assert owner.call("PATCH", f"/api/v1/jobs/{j1}", json_body={"assignee": _user_id("annotator")}).status == 200
    return {"A": a["id"], "O": o["id"], "E": new_task(owner, assignee=assignee)["id"], "N": new_task(owner)["id"],
            "j1": j1, "j2": j2, "jo": o["segments"][0]["jobs"][0]["id"]}


def _user_id(role: str) -> int:
    user = users.find_user(f"perm_{role}")
    assert user is not None
    return user.id


def call(caller: ApiCaller, method: str, path: str, query: dict[str, str] | None = None, body: Any = None) -> Answer:
    return caller.call(method, f"/api/v1{path}", query=query, json_body=body)


def check(answer: Answer, expected: int, where: str) -> None:
    """The status, and for refusals CVAT's body alone: nothing of the object, no redirect."""
    assert answer.status == expected, f"{where}: {answer.status} {answer.body[:200]!r}"
    shown = {401: ANONYMOUS, 403: DENIED, 404: NOT_FOUND}.get(expected)
    if shown is not None:
        assert answer.json() == shown, where
        assert "location" not in answer.headers, where


def cases(table: list[Case]) -> list[Any]:
    return [pytest.param(case, role, id=f"{case} as {role}") for case in table for role in ROLES]


# ---------------------------------------------------------------- the matrix


@pytest.mark.parametrize(("case", "role"), cases(READS))
def test_reads(case: Case, role: str, callers: dict[str, ApiCaller], ids: dict[str, int]) -> None:
    where = f"{case} as {role}"
    check(call(callers[role], case.method, case.path.format(**ids), case.query, case.body), case.expected(role), where)


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_what_the_role_may_see(role: str, callers: dict[str, ApiCaller], ids: dict[str, int]) -> None:
    expected = {"owner": "AOEN", "assignee": "AOEN", "annotator": "AON", "idle": "ON", "other": "ON",
                "observer": "AOEN", "admin": "AOEN"}
    answer = call(callers[role], "GET", "/tasks", {"page_size": "all"})
    if role == "anonymous":
        check(answer, 401, role)
        return
    assert answer.status == 200
    mine = {ids[name]: name for name in "AOEN"}
    seen = {mine[t["id"]] for t in answer.json()["results"] if t["id"] in mine}
    assert seen == set(expected[role]), role


@pytest.mark.parametrize(("case", "role"), cases(WRITES))
def test_writes(case: Case, role: str, callers: dict[str, ApiCaller], ids: dict[str, int]) -> None:
    where = f"{case} as {role}"
    check(call(callers[role], case.method, case.path.format(**ids), case.query, case.body), case.expected(role), where)


@pytest.mark.parametrize("role", ROLES)
def test_delete_needs_owner_or_admin(role: str, callers: dict[str, ApiCaller], ids: dict[str, int]) -> None:
    task = new_task(callers["owner"], assignee=_user_id("assignee"))
    check(call(callers[role], "DELETE", f"/tasks/{task['id']}"), Case("", "", OWNER_ONLY, 204).expected(role), role)


@pytest.mark.parametrize("role", ROLES)
def test_create_needs_user_or_admin(role: str, callers: dict[str, ApiCaller]) -> None:
    answer = call(callers[role], "POST", "/tasks", body={"name": f"by {role}", "labels": [{"name": "a"}]})
    check(answer, Case("", "", frozenset({"owner", "assignee", "other", "admin"}), 201).expected(role), role)


@pytest.mark.parametrize(("method", "path", "query"), MISSING)
def test_missing_ids_are_404_for_everyone_and_401_anonymous(method: str, path: str, query: dict[str, str] | None,
                                                            callers: dict[str, ApiCaller]) -> None:
    for raw in ("999999", "abc"):
        for role in ROLES:
            answer = call(callers[role], method, path.format(t=raw, j=raw), query)
            check(answer, 401 if role == "anonymous" else 404, f"{method} {path} {raw} as {role}")


def test_data_without_type_is_400_even_for_a_missing_task(callers: dict[str, ApiCaller]) -> None:
    for role in ROLES:
        answer = call(callers[role], "GET", "/tasks/999999/data")
        check(answer, 401 if role == "anonymous" else 400, role)


def test_the_export_and_import_run_for_whom_the_rule_allows(callers: dict[str, ApiCaller],
                                                          ids: dict[str, int]) -> None:
    """The matrix stops at a refused format; here the real protocols, by the weakest roles
    allowed: an observer exports, a job annotator imports into its job."""
    observer, annotator = callers["observer"], callers["annotator"]
    path = f"/api/v1/tasks/{ids['A']}/annotations"
    query = {"format": "CVAT for images 1.1"}
    assert observer.call("GET", path, query=query).status in (201, 202)
    assert poll(observer, "GET", path, query=query).status == 201
    check(callers["idle"].call("GET", path, query={**query, "action": "download"}), 403, "idle download")
    download = observer.call("GET", path, query={**query, "action": "download"})
    assert "X-Amz-Expires=900" in download.headers["location"]
    archive, _ = fetch(download)
    job = f"/api/v1/jobs/{ids['j1']}/annotations"
    form = multipart_file(archive, "annotations.zip")
    check(callers["idle"].call("PUT", job, query={"format": "CVAT 1.1"}, **form), 403, "idle import")
    assert annotator.call("PUT", job, query={"format": "CVAT 1.1"}, **form).status == 202
    assert poll(annotator, "PUT", job, query={"format": "CVAT 1.1"}).status == 201


# ---------------------------------------------------------------- restrictions (template parameters)


@pytest.fixture
def restrictions(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Settings are read once per process: set the variables, then forget the cached ones."""
    settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    settings.cache_clear()


def test_reduce_task_visibility_closes_unassigned_tasks(restrictions: pytest.MonkeyPatch,
                                                        callers: dict[str, ApiCaller], ids: dict[str, int]) -> None:
    restrictions.setenv("REDUCE_TASK_VISIBILITY", "true")
    settings.cache_clear()
    assert settings().reduce_task_visibility
    expected = {"owner": "AOEN", "assignee": "AE", "annotator": "A", "idle": "", "other": "",
                "observer": "AOEN", "admin": "AOEN"}
    mine = {ids[name]: name for name in "AOEN"}
    for role, names in expected.items():
        listed = call(callers[role], "GET", "/tasks", {"page_size": "all"}).json()["results"]
        assert {mine[t["id"]] for t in listed if t["id"] in mine} == set(names), role
    closed = frozenset({"owner", "observer", "admin"})
    for case in (Case("GET", "/tasks/{O}", closed, 200), Case("GET", "/jobs/{jo}", closed, 200),
                 Case("GET", "/jobs/{jo}/annotations", closed, 200),
                 Case("PUT", "/jobs/{jo}/annotations", OWNER_ONLY, 200, body=EMPTY),
                 Case("GET", "/tasks/{A}", VIEW_A, 200), Case("PUT", "/jobs/{j1}", JOB1_CHANGE, 200, body=JOB_STATUS),
                 Case("GET", "/jobs/{j2}", JOB2_VIEW, 200)):
        for role in ROLES:
            answer = call(callers[role], case.method, case.path.format(**ids), case.query, case.body)
            check(answer, case.expected(role), f"{case} as {role}")


def test_task_limit_counts_the_tasks_of_the_would_be_owner(restrictions: pytest.MonkeyPatch,
                                                          callers: dict[str, ApiCaller], stack: Any) -> None:
    limited = users.create_user("perm_limited", PASSWORD, groups=("user",))
    caller = ApiCaller(stack).login("perm_limited", PASSWORD)
    restrictions.setenv("TASK_LIMIT", "2")
    settings.cache_clear()
    task = {"name": "limited", "labels": [{"name": "a"}]}
    for _ in range(2):
        assert call(caller, "POST", "/tasks", body=task).status == 201
    refused = call(caller, "POST", "/tasks", body=task)
    assert refused.status == 400 and refused.json() == ["The user has the maximum number of tasks"]
    # the owner named in the body counts, whoever asks; admins are exempt; the body is checked first
    on_behalf = call(callers["other"], "POST", "/tasks", body={**task, "owner": limited.id})
    assert on_behalf.status == 400 and on_behalf.json() == ["The user has the maximum number of tasks"]
    assert call(callers["admin"], "POST", "/tasks", body={**task, "owner": limited.id}).status == 201
    assert call(caller, "POST", "/tasks", body={"name": "x"}).json() == {"labels": ["This field is required."]}
    check(call(callers["observer"], "POST", "/tasks", body=task), 403, "observer")
    assert call(caller, "POST", "/tasks", body={**task, "owner": _user_id("idle")}).status == 201
    restrictions.delenv("TASK_LIMIT")
    settings.cache_clear()
    assert call(caller, "POST", "/tasks", body=task).status == 201


def test_template_defaults_are_no_limit_and_full_visibility() -> None:
    assert os.environ.get("TASK_LIMIT", "") == "" and os.environ["REDUCE_TASK_VISIBILITY"] == "false"
    assert settings().task_limit is None and settings().reduce_task_visibility is False

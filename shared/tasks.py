"""Tasks: create, list, read, update and delete (spec §3), and their jobs (spec §4.1)."""

import contextlib
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from shared import annotation_store, aws, storage, users
from shared.auth import Principal
from shared.config import settings
from shared.counters import allocate
from shared.errors import NotFound, PermissionDenied, ValidationFailed
from shared.jobs import delete_job_items
from shared.labels import attribute_view, merge_labels, new_labels
from shared.pagination import paginate
from shared.permissions import (
    TaskRelations,
    can_change_task,
    can_create_task,
    can_delete_task,
    can_view_task,
    visible_in_list,
)
from shared.schemas import TaskCreate, TaskReplace, TaskUpdate
from shared.tables import JobItem, TaskItem, utcnow
from shared.validation import validate

Rule = Callable[[Principal, TaskRelations], bool]


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_id(raw: str) -> int:
    """Ids in paths are positive integers; anything else names no object."""
    if not raw.isdigit() or int(raw) < 1:
        raise NotFound()
    return int(raw)


# ---------------------------------------------------------------- reading


def load_task(task_id: int) -> TaskItem:
    try:
        return TaskItem.get(task_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound() from None


def jobs_of(task_id: int) -> list[JobItem]:
    return sorted(JobItem.by_task.query(task_id), key=lambda job: job.job_id)


def relations(task: TaskItem, jobs: list[JobItem]) -> TaskRelations:
    return TaskRelations(_int_or_none(task.owner_id), _int_or_none(task.assignee_id),
                         tuple(_int_or_none(job.assignee_id) for job in jobs))


def task_for(principal: Principal, task_id: int, rule: Rule = can_view_task, *,
             with_jobs: bool = False) -> tuple[TaskItem, list[JobItem]]:
    """The task (and its jobs when asked for): 404 when missing, 403 when the rule refuses the
    caller. Jobs are read only when the rule needs them: rules only grant more with jobs."""
    task = load_task(task_id)
    jobs: list[JobItem] = []
    if with_jobs or not rule(principal, relations(task, jobs)):
        jobs = jobs_of(task_id)
        if not rule(principal, relations(task, jobs)):
            raise PermissionDenied()
    return task, jobs


def task_view(task: TaskItem, jobs: list[JobItem], base_url: str) -> dict[str, Any]:
    view: dict[str, Any] = {
        "url": f"{base_url}/api/v1/tasks/{task.task_id}",
        "id": int(task.task_id),
        "name": task.name,
        "mode": task.mode,
        "owner": _int_or_none(task.owner_id),
        "assignee": _int_or_none(task.assignee_id),
        "bug_tracker": task.bug_tracker,
        "created_date": timestamp(task.created_date),
        "updated_date": timestamp(task.updated_date),
        "overlap": _int_or_none(task.overlap),
        "segment_size": int(task.segment_size),
        "z_order": bool(task.z_order),
        "status": task.status,
        "labels": [
            {**label, "attributes": [attribute_view(a) for a in label["attributes"]]} for label in task.labels
        ],
        "segments": [
            {
                "start_frame": int(job.start_frame),
                "stop_frame": int(job.stop_frame),
                "jobs": [{
                    "url": f"{base_url}/api/v1/jobs/{job.job_id}",
                    "id": int(job.job_id),
                    "assignee": _int_or_none(job.assignee_id),
                    "status": job.status,
                }],
            }
            for job in sorted(jobs, key=lambda j: (j.start_frame, j.job_id))
        ],
        "project": _int_or_none(task.project_id),
    }
    if task.data is not None:
        data = task.data
        view.update({
            "data_chunk_size": data.get("chunk_size"),
            "data_compressed_chunk_type": data["compressed_chunk_type"],
            "data_original_chunk_type": data["original_chunk_type"],
            "size": data["size"],
            "image_quality": data["image_quality"],
            "data": data["id"],
        })
    return view


def jobs_view(jobs: list[JobItem], base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "url": f"{base_url}/api/v1/jobs/{job.job_id}",
            "id": int(job.job_id),
            "assignee": _int_or_none(job.assignee_id),
            "status": job.status,
            "start_frame": int(job.start_frame),
            "stop_frame": int(job.stop_frame),
            "task_id": int(job.task_id),
        }
        for job in jobs
    ]


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


# ---------------------------------------------------------------- listing

_ORDERING = {
    "id": lambda t: t.task_id,
    "name": lambda t: t.name,
    "owner": lambda t: t.owner_id or 0,
    "status": lambda t: t.status,
    "assignee": lambda t: t.assignee_id or 0,
}


def list_tasks(principal: Principal, query: dict[str, str], base_url: str) -> dict[str, Any]:
    tasks = list(TaskItem.by_kind.query("task", scan_index_forward=False))
    my_job_tasks = {int(job.task_id) for job in JobItem.by_assignee.query(principal.user_id)}
    names = users.usernames()
    tasks = [
        t for t in tasks
        if visible_in_list(principal, _list_relations(t, my_job_tasks, principal))
        and _matches(t, query, names)
    ]
    for field in reversed(_ordering_fields(query.get("ordering", ""))):
        descending = field.startswith("-")
        tasks.sort(key=_ORDERING[field.lstrip("-")], reverse=descending)
    page = paginate(tasks, query, f"{base_url}/api/v1/tasks")
    page["results"] = [task_view(t, jobs_of(int(t.task_id)), base_url) for t in page["results"]]
    return page


def _list_relations(task: TaskItem, my_job_tasks: set[int], principal: Principal) -> TaskRelations:
    mine = (principal.user_id,) if int(task.task_id) in my_job_tasks else ()
    return TaskRelations(_int_or_none(task.owner_id), _int_or_none(task.assignee_id), mine)


def _ordering_fields(raw: str) -> list[str]:
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    return [f for f in fields if f.lstrip("-") in _ORDERING]


def _matches(task: TaskItem, query: dict[str, str], names: dict[int, str]) -> bool:
    owner = names.get(int(task.owner_id), "") if task.owner_id is not None else ""
    assignee = names.get(int(task.assignee_id), "") if task.assignee_id is not None else ""
    searchable = {"name": task.name, "owner": owner, "mode": task.mode, "status": task.status}
    if "id" in query and query["id"] != str(task.task_id):
        return False
    if "project_id" in query and query["project_id"] != str(task.project_id):
        return False
    if "project" in query:
        return False  # no task belongs to a project in this service
    for field, value in (*searchable.items(), ("assignee", assignee)):
        if field in query and query[field].lower() not in value.lower():
            return False
    terms = [term for term in re.split(r"[\s,]+", query.get("search", "")) if term]
    return all(any(term.lower() in value.lower() for value in searchable.values()) for term in terms)


# ---------------------------------------------------------------- writing


def create_task(principal: Principal, body: dict[str, Any]) -> TaskItem:
    if not can_create_task(principal):
        raise PermissionDenied()
    request = validate(TaskCreate, body)
    _check_user("owner", request.owner)
    _check_user("assignee", request.assignee)
    _check_project(request.project)
    owner = request.owner if request.owner is not None else principal.user_id
    _check_task_limit(principal, owner)
    now = utcnow()
    task = TaskItem(
        allocate("task"),
        name=request.name,
        owner_id=owner,
        assignee_id=request.assignee,
        bug_tracker=request.bug_tracker,
        created_date=now,
        updated_date=now,
        overlap=request.overlap,
        segment_size=request.segment_size,
        z_order=request.z_order,
        labels=new_labels(request.labels),
    )
    task.save(condition=TaskItem.task_id.does_not_exist())
    return task


def _check_task_limit(principal: Principal, owner: int) -> None:
    """task_limit (spec §2.2): checked after the body, as CVAT does; admins are exempt. Two
    creations at the same moment may both pass: the limit is a quota, not an invariant."""
    limit = settings().task_limit
    if limit is None or principal.is_admin:
        return
    if TaskItem.by_kind.count("task", filter_condition=TaskItem.owner_id == owner) >= limit:
        raise ValidationFailed(["The user has the maximum number of tasks"])


def update_task(principal: Principal, task_id: int, body: dict[str, Any], *, partial: bool) -> TaskItem:
    task, _ = task_for(principal, task_id, can_change_task)
    request = validate(TaskUpdate if partial else TaskReplace, body)
    given = request.model_fields_set
    actions: list[Action] = []
    if request.name is not None:
        actions.append(TaskItem.name.set(request.name))
    if "owner" in given:
        _check_user("owner", request.owner)
        actions.append(TaskItem.owner_id.set(request.owner) if request.owner is not None
                       else TaskItem.owner_id.remove())
    if "assignee" in given:
        _check_user("assignee", request.assignee)
        actions.append(TaskItem.assignee_id.set(request.assignee) if request.assignee is not None
                       else TaskItem.assignee_id.remove())
    if request.bug_tracker is not None:
        actions.append(TaskItem.bug_tracker.set(request.bug_tracker))
    if request.z_order is not None:
        actions.append(TaskItem.z_order.set(request.z_order))
    if "project" in given:
        _check_project(request.project)
    if request.labels is not None:
        actions.append(TaskItem.labels.set(merge_labels(task.labels, request.labels)))
    if actions:
        try:
            task.update(actions=actions, condition=TaskItem.task_id.exists())
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise NotFound() from None
            raise
    return task


def delete_task(principal: Principal, task_id: int) -> None:
    """Deletes the task and everything it has. Its creation, if running, is made stale first
    (its steps then remove what they write); the item goes last, so a failed delete can be
    repeated."""
    task, jobs = task_for(principal, task_id, can_delete_task, with_jobs=True)
    execution = task.execution_name
    if execution is not None:
        task.update(actions=[TaskItem.execution_name.remove()])
        _stop_creation(execution)
    delete_job_items(jobs)
    annotation_store.delete_task(task_id)
    if task.data is not None:
        storage.delete_prefix(storage.data_prefix(int(task.data["id"])))
    for prefix in ("uploads", "exports", "imports"):
        storage.delete_prefix(f"{prefix}/{task_id}/")
    task.delete()


def _stop_creation(execution_name: str) -> None:
    client = aws.stepfunctions()
    arn = execution_arn(execution_name)
    with contextlib.suppress(client.exceptions.ExecutionDoesNotExist, client.exceptions.InvalidArn):
        client.stop_execution(executionArn=arn, error="TaskDeleted", cause="The task was deleted")


def execution_arn(execution_name: str) -> str:
    """Executions are named by us, so their ARN follows from the state machine's."""
    machine = settings().create_task_state_machine_arn
    return machine.replace(":stateMachine:", ":execution:") + f":{execution_name}"


def _check_user(field: str, user_id: int | None) -> None:
    if user_id is not None and users.user_by_id(user_id) is None:
        raise ValidationFailed.field(field, f'Invalid pk "{user_id}" - object does not exist.')


def _check_project(project_id: int | None) -> None:
    if project_id is not None:
        raise ValidationFailed.field("project", f'Invalid pk "{project_id}" - object does not exist.')

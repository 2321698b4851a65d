"""Who may do what with a task or a job (spec §2). Roles are Cognito groups (admin, user,
annotator, observer); only admin and observer grant anything on an object by themselves, every
other permission comes from the caller's relation to the task: owner, assignee, job assignee.

| Action                                                            | Allowed                                   |
|-------------------------------------------------------------------|-------------------------------------------|
| POST /tasks                                                       | admin, user (+ task_limit, in tasks.py)   |
| GET /tasks                                                        | anyone, filtered by `visible_in_list`     |
| GET /tasks/{id}, jobs, status, data, data/meta, annotations,      | admin, observer, owner, task annotator    |
|   exports (annotations?format=, dataset, the 1.0 dump)            |                                           |
| PUT/PATCH /tasks/{id}; PUT/PATCH/DELETE annotations, imports      | admin, owner, assignee                    |
| DELETE /tasks/{id}                                                | admin, owner                              |
| POST /tasks/{id}/data and /uploads                                | admin or user, and the change rule (*)    |
| POST /tasks/{id}/annotations/uploads                              | whoever may change the task or one job    |
| GET /jobs/{id}, its annotations                                   | admin, observer, owner, job annotator     |
| PUT/PATCH /jobs/{id}; PUT/PATCH/DELETE its annotations, imports   | admin, owner, job annotator               |

(*) Deviation from spec §2.2, whose quirk lets any admin or user attach data to any task.

Missing objects answer 404 before any of these rules is asked (spec §0), and a refusal is a
403 without anything of the object in it.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from shared.auth import Principal
from shared.config import settings


@dataclass(frozen=True)
class TaskRelations:
    owner_id: int | None
    assignee_id: int | None
    job_assignee_ids: tuple[int | None, ...]  # one per job; empty before data is processed


def reduced_visibility() -> bool:
    """reduce_task_visibility (spec §2.1) is a deployment setting, read when a rule needs it."""
    return settings().reduce_task_visibility


def is_observer(principal: Principal) -> bool:
    return "observer" in principal.groups


def can_create_task(principal: Principal) -> bool:
    return principal.is_admin or "user" in principal.groups


def is_owner(principal: Principal, task: TaskRelations) -> bool:
    return task.owner_id == principal.user_id


def is_assignee(principal: Principal, task: TaskRelations) -> bool:
    return task.assignee_id == principal.user_id


def is_job_annotator(principal: Principal, task: TaskRelations, job_assignee_id: int | None) -> bool:
    """Spec §2.1 JobAnnotator: a task nobody is assigned to is open to everyone, unless the
    deployment reduces task visibility."""
    open_task = task.assignee_id is None and not reduced_visibility()
    return open_task or is_assignee(principal, task) or job_assignee_id == principal.user_id


def is_task_annotator(principal: Principal, task: TaskRelations) -> bool:
    """Spec §2.1 TaskAnnotator: JobAnnotator of some job. Quirk kept: a task without jobs (no
    data yet) has no annotator, not even its assignee."""
    return any(is_job_annotator(principal, task, job_assignee) for job_assignee in task.job_assignee_ids)


def can_view_task(principal: Principal, task: TaskRelations) -> bool:
    return (
        principal.is_admin
        or is_observer(principal)
        or is_owner(principal, task)
        or is_task_annotator(principal, task)
    )


def can_change_task(principal: Principal, task: TaskRelations) -> bool:
    return principal.is_admin or is_owner(principal, task) or is_assignee(principal, task)


def can_delete_task(principal: Principal, task: TaskRelations) -> bool:
    return principal.is_admin or is_owner(principal, task)


def can_attach_data(principal: Principal, task: TaskRelations) -> bool:
    """The role of spec §2.2 and, as hardening (a deviation the issue asks for), the change
    rule: nobody builds media into someone else's task."""
    return can_create_task(principal) and can_change_task(principal, task)


def can_upload_annotations(principal: Principal, task: TaskRelations) -> bool:
    """An upload slot for a large document: whoever may write the task's annotations or one
    of its jobs' (applying the document checks the rule of its target again)."""
    return can_change_task(principal, task) or any(
        can_change_job(principal, task, job_assignee) for job_assignee in task.job_assignee_ids
    )


def can_view_job(principal: Principal, task: TaskRelations, job_assignee_id: int | None) -> bool:
    return (principal.is_admin or is_observer(principal) or is_owner(principal, task)
            or is_job_annotator(principal, task, job_assignee_id))


def can_change_job(principal: Principal, task: TaskRelations, job_assignee_id: int | None) -> bool:
    return principal.is_admin or is_owner(principal, task) or is_job_annotator(principal, task, job_assignee_id)


def visible_in_list(principal: Principal, task: TaskRelations) -> bool:
    """The list filter of spec §2.2 (never 403: invisible tasks are just left out)."""
    if principal.is_admin or is_observer(principal):
        return True
    return (
        is_owner(principal, task)
        or is_assignee(principal, task)
        or principal.user_id in _ids(task.job_assignee_ids)
        or (task.assignee_id is None and not reduced_visibility())
    )


def _ids(values: Iterable[int | None]) -> set[int]:
    return {v for v in values if v is not None}

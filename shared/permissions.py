"""Who may do what with a task (spec §2). Roles are Cognito groups; objects know their owner
and assignees. The full matrix of roles comes later; these rules are the spec's for tasks."""

from collections.abc import Iterable
from dataclasses import dataclass

from shared.auth import Principal


@dataclass(frozen=True)
class TaskRelations:
    owner_id: int | None
    assignee_id: int | None
    job_assignee_ids: tuple[int | None, ...]  # one per job; empty before data is processed


def is_observer(principal: Principal) -> bool:
    return "observer" in principal.groups


def can_create_task(principal: Principal) -> bool:
    return principal.is_admin or "user" in principal.groups


def is_owner(principal: Principal, task: TaskRelations) -> bool:
    return task.owner_id == principal.user_id


def is_assignee(principal: Principal, task: TaskRelations) -> bool:
    return task.assignee_id == principal.user_id


def is_task_annotator(principal: Principal, task: TaskRelations, reduce_visibility: bool = False) -> bool:
    """Some job of the task is annotatable by the caller (spec §2.1 JobAnnotator)."""
    return any(
        (task.assignee_id is None and not reduce_visibility)
        or is_assignee(principal, task)
        or job_assignee == principal.user_id
        for job_assignee in task.job_assignee_ids
    )


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


def is_job_annotator(principal: Principal, task: TaskRelations, job_assignee_id: int | None,
                     reduce_visibility: bool = False) -> bool:
    """Spec §2.1 JobAnnotator."""
    return ((task.assignee_id is None and not reduce_visibility) or is_assignee(principal, task)
            or job_assignee_id == principal.user_id)


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
        or task.assignee_id is None
    )


def _ids(values: Iterable[int | None]) -> set[int]:
    return {v for v in values if v is not None}

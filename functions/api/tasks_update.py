"""PUT and PATCH /api/v1/tasks/{id}: name, owner, assignee, bug tracker, z_order, and labels,
which are merged by name and never deleted (spec §3.5)."""

from typing import Any

from apigw.app import base_url, body, create_app, lambda_handler, principal
from apigw.docs import answers, request_body
from shared import tasks
from shared.schemas import Task, TaskReplace, TaskUpdate

app = create_app()


@app.put("/api/v1/tasks/<task_id>", responses=answers(200, Task, "The changed task"),
         openapi_extensions=request_body(TaskReplace), tags=["tasks"])
def replace(task_id: str) -> dict[str, Any]:
    return _update(task_id, partial=False)


@app.patch("/api/v1/tasks/<task_id>", responses=answers(200, Task, "The changed task"),
           openapi_extensions=request_body(TaskUpdate), tags=["tasks"])
def update(task_id: str) -> dict[str, Any]:
    return _update(task_id, partial=True)


def _update(task_id: str, *, partial: bool) -> dict[str, Any]:
    identifier = tasks.parse_id(task_id)
    task = tasks.update_task(principal(app), identifier, body(app), partial=partial)
    return tasks.task_view(task, tasks.jobs_of(identifier), base_url(app))


handler = lambda_handler(app)

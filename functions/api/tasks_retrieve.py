"""GET /api/v1/tasks/{id} (spec §3.4)."""

from typing import Any

from apigw.app import base_url, create_app, lambda_handler, principal
from apigw.docs import answers
from shared import tasks
from shared.schemas import Task

app = create_app()


@app.get("/api/v1/tasks/<task_id>", responses=answers(200, Task, "The task", _403={"description": "Not yours"},
                                                      _404={"description": "No such task"}), tags=["tasks"])
def retrieve(task_id: str) -> dict[str, Any]:
    task, jobs = tasks.task_for(principal(app), tasks.parse_id(task_id), with_jobs=True)
    return tasks.task_view(task, jobs, base_url(app))


handler = lambda_handler(app)

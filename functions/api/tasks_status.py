"""GET /api/v1/tasks/{id}/status: Queued, Started (with progress), Finished or Failed (spec §8),
read from the task's CreateTask execution."""

from typing import Any

from apigw.app import create_app, lambda_handler, principal
from apigw.docs import answers
from shared import data, tasks
from shared.schemas import Status

app = create_app()


@app.get("/api/v1/tasks/<task_id>/status", responses=answers(200, Status, "State of task creation"), tags=["data"])
def status(task_id: str) -> dict[str, Any]:
    return data.creation_status(principal(app), tasks.parse_id(task_id))


handler = lambda_handler(app)

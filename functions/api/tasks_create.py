"""POST /api/v1/tasks: a task with labels and attributes, no media yet (spec §3.3).
An `Idempotency-Key` header makes retries return the first answer."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.app import base_url, body, create_app, json_response, lambda_handler, principal
from apigw.docs import answers, request_body
from apigw.idempotency import once_per_key
from shared import tasks
from shared.schemas import Task, TaskCreate

app = create_app()


@app.post("/api/v1/tasks", responses=answers(201, Task, "Created", _400={"description": "Invalid task"}),
          openapi_extensions=request_body(TaskCreate), tags=["tasks"])
def create_task() -> Response[Any]:
    def create() -> dict:
        task = tasks.create_task(principal(app), body(app))
        return tasks.task_view(task, [], base_url(app))

    return json_response(201, once_per_key(app, "create-task", create))


handler = lambda_handler(app)

"""DELETE /api/v1/tasks/{id}: the task, its jobs and every object it has in S3 (spec §3.6)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.app import create_app, lambda_handler, principal
from apigw.docs import answers
from shared import tasks

app = create_app()


@app.delete("/api/v1/tasks/<task_id>", responses=answers(204, None, "Deleted"), tags=["tasks"])
def delete(task_id: str) -> Response[Any]:
    tasks.delete_task(principal(app), tasks.parse_id(task_id))
    return Response(status_code=204, body="")


handler = lambda_handler(app)

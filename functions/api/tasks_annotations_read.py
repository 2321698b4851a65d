"""GET /api/v1/tasks/{id}/annotations: the task's LabeledData (spec §9.5), with an ETag;
a redirect to S3 when it is larger than a Lambda answer may be."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.annotated import respond
from apigw.app import create_app, lambda_handler, principal
from apigw.docs import answers
from shared import annotations, tasks
from shared.schemas import LabeledData

app = create_app()


@app.get("/api/v1/tasks/<task_id>/annotations", tags=["annotations"],
         responses=answers(200, LabeledData, "The annotations", _302={"description": "Too large: from S3"}))
def read(task_id: str) -> Response[Any]:
    scope = annotations.task_scope(principal(app), tasks.parse_id(task_id), change=False)
    return respond(annotations.read(scope), name=f"task-{task_id}")


handler = lambda_handler(app)

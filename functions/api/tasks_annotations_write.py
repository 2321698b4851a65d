"""PUT and PATCH?action=create|update|delete /api/v1/tasks/{id}/annotations (spec §9.5):
all-or-nothing, one version more for every job written; If-Match guards against lost updates.
With ?format=, an import; with ?upload=, a document uploaded to S3."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.annotated import WRITE_DOCS, write
from apigw.app import create_app, lambda_handler, principal
from apigw.docs import request_body
from shared import annotations, tasks
from shared.schemas import LabeledData

app = create_app()


@app.put("/api/v1/tasks/<task_id>/annotations", responses=WRITE_DOCS, openapi_extensions=request_body(LabeledData),
         tags=["annotations"])
def replace(task_id: str) -> Response[Any]:
    return _write(task_id, "PUT")


@app.patch("/api/v1/tasks/<task_id>/annotations", responses=WRITE_DOCS, openapi_extensions=request_body(LabeledData),
           tags=["annotations"])
def change(task_id: str) -> Response[Any]:
    return _write(task_id, "PATCH")


def _write(task_id: str, method: str) -> Response[Any]:
    scope = annotations.task_scope(principal(app), tasks.parse_id(task_id), change=True)
    return write(app, scope, method, name=f"task-{task_id}")


handler = lambda_handler(app)

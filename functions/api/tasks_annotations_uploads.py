"""POST /api/v1/tasks/{id}/annotations/uploads: a presigned S3 PUT for a LabeledData document
too large for a request; PUT or PATCH .../annotations?upload=<upload_id> then applies it
(202 while running, 201 when done)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.app import create_app, json_response, lambda_handler, principal
from apigw.docs import answers
from shared import annotations, tasks
from shared.schemas import DocumentSlot

app = create_app()


@app.post("/api/v1/tasks/<task_id>/annotations/uploads", responses=answers(201, DocumentSlot, "An upload slot"),
          tags=["annotations"])
def announce(task_id: str) -> Response[Any]:
    return json_response(201, annotations.announce_document(principal(app), tasks.parse_id(task_id)))


handler = lambda_handler(app)

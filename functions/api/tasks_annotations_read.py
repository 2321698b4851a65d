"""GET /api/v1/tasks/{id}/annotations: the task's LabeledData (spec §9.5), with an ETag;
a redirect to S3 when it is larger than a Lambda answer may be. With ?format=, an export
(spec §10.1): 202 while it runs, 201 when ready, with &action=download a redirect to the file."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.annotated import outcome, respond
from apigw.app import base_url, create_app, lambda_handler, principal, query
from apigw.docs import answers
from shared import annotations, exports, tasks
from shared.schemas import LabeledData

app = create_app()


@app.get("/api/v1/tasks/<task_id>/annotations", tags=["annotations"],
         responses=answers(200, LabeledData, "The annotations", _302={"description": "Too large, or the export: S3"},
                           _201={"description": "format=: the export is ready"},
                           _202={"description": "format=: the export is running"},
                           _400={"description": "Unknown format or action, or the export failed"},
                           _405={"description": "A format this server cannot write"}))
def read(task_id: str) -> Response[Any]:
    if query(app).get("format"):
        return outcome(exports.export_annotations(principal(app), tasks.parse_id(task_id), query(app), base_url(app)))
    scope = annotations.task_scope(principal(app), tasks.parse_id(task_id), change=False)
    return respond(annotations.read(scope), name=f"task-{task_id}")


handler = lambda_handler(app)

"""GET /api/v1/tasks/{id}/annotations/{filename}?format=<1.0 dumper>[&action=download]: the dump
route of CVAT 1.0 clients (older variants §2.2), an adapter over the export: 202 while it runs,
201 when ready, with action=download a redirect to `<filename>.<xml|json|zip>`."""

from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response

from apigw.annotated import outcome
from apigw.app import base_url, create_app, lambda_handler, principal, query
from apigw.docs import answers
from shared import exports, tasks

app = create_app()


@app.get("/api/v1/tasks/<task_id>/annotations/<filename>", tags=["annotations"],
         responses=answers(201, None, "The dump is ready", _202={"description": "The dump is running"},
                           _302={"description": "action=download: the file, from S3"},
                           _400={"description": "Not a 1.0 dumper name, or a bad action"}))
def dump(task_id: str, filename: str) -> Response[Any]:
    return outcome(exports.legacy_dump(principal(app), tasks.parse_id(task_id), unquote(filename), query(app),
                                       base_url(app)))


handler = lambda_handler(app)

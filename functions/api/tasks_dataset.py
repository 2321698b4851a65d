"""GET /api/v1/tasks/{id}/dataset?format=F[&action=download]: the annotations with the frames
(spec §10.1), also with the 1.0 dataset tags (older variants §2.7): 202 while the export runs,
201 when it is ready, and with action=download a redirect to the file."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.annotated import outcome
from apigw.app import base_url, compat, create_app, lambda_handler, principal, query
from apigw.docs import answers
from shared import exports, tasks

app = create_app()


@app.get("/api/v1/tasks/<task_id>/dataset", tags=["annotations"],
         responses=answers(201, None, "The dataset is ready", _202={"description": "The export is running"},
                           _302={"description": "action=download: the file, from S3"},
                           _400={"description": "Unknown format or action, or the export failed"},
                           _405={"description": "A format this server cannot write"}))
def dataset(task_id: str) -> Response[Any]:
    return outcome(exports.export_dataset(principal(app), tasks.parse_id(task_id), query(app), base_url(app),
                                          compat=compat(app)))


handler = lambda_handler(app)

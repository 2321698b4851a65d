"""POST /api/v1/tasks/{id}/uploads: upload slots for media too large for one API request.

The body holds the data options of POST /data plus `files: [{name, size}]`; the answer holds a
presigned S3 POST per file (the URL and the form fields to send before the file). When the
last file has arrived, the S3 trigger starts building the task; GET /tasks/{id}/status says
Queued until then."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.app import body, create_app, json_response, lambda_handler, principal
from apigw.docs import answers, request_body
from apigw.idempotency import once_per_key
from shared import data, tasks
from shared.schemas import UploadRequest, UploadSlots

app = create_app()


@app.post("/api/v1/tasks/<task_id>/uploads", responses=answers(201, UploadSlots, "Upload slots"),
          openapi_extensions=request_body(UploadRequest, "application/json"), tags=["data"])
def announce(task_id: str) -> Response[Any]:
    identifier = tasks.parse_id(task_id)
    # the body is read after the permission check (spec §0: 403 before 400)
    slots = once_per_key(app, "upload-slots",
                         lambda: data.announce_uploads(principal(app), identifier, lambda: body(app)))
    return json_response(201, slots)


handler = lambda_handler(app)

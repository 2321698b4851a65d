"""Answers of the annotation routes: JSON with an ETag, or a redirect to S3 when the JSON is
larger than a Lambda answer may be."""

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from apigw.app import body, json_response, principal, query, redirect
from apigw.body import UploadedFile
from apigw.docs import answers
from shared import annotations, imports
from shared.exports import Outcome
from shared.schemas import LabeledData

# Lambda answers at most 6 MB; leave room for headers
LARGEST_ANSWER = 5 * 1024 * 1024


def if_match(app: APIGatewayHttpResolver) -> str | None:
    return app.current_event.headers.get("if-match")


def action(app: APIGatewayHttpResolver) -> str | None:
    return (app.current_event.query_string_parameters or {}).get("action")


def respond(answer: annotations.Answer, *, status: int = 200, name: str = "") -> Response[Any]:
    body = json.dumps(answer.data, separators=(",", ":"), ensure_ascii=False)
    if len(body.encode()) > LARGEST_ANSWER:
        return redirect(annotations.offload(name, answer.etag, body.encode()))
    return Response(status_code=status, content_type="application/json", body=body, headers={"ETag": answer.etag})


def outcome(result: Outcome) -> Response[Any]:
    """The export and import protocol: 202 running, 201 ready, 302 to the file, or the failure."""
    if result.location:
        return redirect(result.location)
    if result.body is not None:
        return json_response(result.status, result.body)
    return Response(status_code=result.status, content_type="application/json", body="")


def uploaded_file(fields: dict[str, Any]) -> tuple[str, bytes] | None:
    """The multipart `annotation_file` of an import, if one was sent."""
    sent = fields.get("annotation_file")
    if isinstance(sent, UploadedFile):
        return sent.filename, sent.content
    return None


# responses= of the PUT and PATCH routes of task and job annotations
WRITE_DOCS = answers(200, LabeledData, "The saved objects, with ids, and the new version",
                     _201={"description": "?upload= or ?format=: the document or file is applied"},
                     _202={"description": "?upload= or ?format=: the document or file is being applied"},
                     _405={"description": "format=: a format this server cannot read"},
                     _400={"description": "Invalid annotations"}, _412={"description": "Changed since If-Match"},
                     _413={"description": "Too large: use POST /api/v1/tasks/{id}/annotations/uploads"})


def write(app: APIGatewayHttpResolver, scope: annotations.Scope, method: str, name: str) -> Response[Any]:
    """PUT or PATCH of a task's or a job's annotations: an import (?format=), an uploaded
    document (?upload=), or the LabeledData of the body."""
    if method == "PUT" and query(app).get("format"):
        fields = body(app, too_large=annotations.UPLOAD_HINT)
        return outcome(imports.import_annotations(principal(app), scope, query(app), uploaded_file(fields)))
    patch_action = action(app) if method == "PATCH" else None
    upload_id = query(app).get("upload")
    if upload_id:
        status = annotations.apply_document(scope, upload_id, method, patch_action)
        return Response(status_code=status, body="")
    answer = annotations.write(scope, method, body(app, too_large=annotations.UPLOAD_HINT), action=patch_action,
                               if_match=if_match(app))
    return respond(answer, name=name)

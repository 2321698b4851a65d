"""Answers of the annotation routes: JSON with an ETag, or a redirect to S3 when the JSON is
larger than a Lambda answer may be."""

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from apigw.app import json_response, redirect
from apigw.body import UploadedFile
from shared import annotations
from shared.exports import Outcome

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

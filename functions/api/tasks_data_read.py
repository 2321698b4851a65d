"""GET /api/v1/tasks/{id}/data?type=chunk|frame|preview&number=N&quality=compressed|original
(spec §6). Chunks redirect to S3; frames and previews come in the answer, or by redirect when
larger than 4 MB."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from apigw.app import binary_response, create_app, lambda_handler, principal, query, redirect
from apigw.docs import answers
from shared import frames, tasks

app = create_app()
Text = Annotated[str | None, Query()]


@app.get("/api/v1/tasks/<task_id>/data",
         responses=answers(200, None, "A frame or the preview (image bytes)",
                           _302={"description": "Redirect to a presigned S3 URL of a chunk or a large frame"},
                           _400={"description": "Bad type, number or quality"}),
         # the answer is image bytes, which response validation would try to read as text
         tags=["data"], enable_validation=False)
def read(task_id: str, type: Text = None, number: Text = None, quality: Text = None) -> Response[Any]:
    # without validation Powertools documents the parameters but does not pass them in
    params = query(app)
    request = frames.parse_request(params.get("type"), params.get("number"), params.get("quality"))
    answer = frames.read(principal(app), tasks.parse_id(task_id), request)
    if answer.location is not None:
        return redirect(answer.location)
    assert answer.content is not None
    return binary_response(answer.content, answer.content_type, {"Cache-Control": "private, max-age=3600"})


handler = lambda_handler(app)

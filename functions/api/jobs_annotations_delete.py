"""DELETE /api/v1/jobs/{id}/annotations: every object goes, every job's version goes up."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.annotated import if_match
from apigw.app import create_app, lambda_handler, principal
from apigw.docs import answers
from shared import annotations, tasks

app = create_app()


@app.delete("/api/v1/jobs/<job_id>/annotations", responses=answers(204, None, "Deleted"), tags=["annotations"])
def clear(job_id: str) -> Response[Any]:
    scope = annotations.job_scope(principal(app), tasks.parse_id(job_id), change=True)
    answer = annotations.clear(scope, if_match=if_match(app))
    return Response(status_code=204, body="", headers={"ETag": answer.etag})


handler = lambda_handler(app)

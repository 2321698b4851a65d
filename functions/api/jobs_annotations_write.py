"""PUT and PATCH?action=create|update|delete /api/v1/jobs/{id}/annotations (spec §9.2):
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


@app.put("/api/v1/jobs/<job_id>/annotations", responses=WRITE_DOCS, openapi_extensions=request_body(LabeledData),
         tags=["annotations"])
def replace(job_id: str) -> Response[Any]:
    return _write(job_id, "PUT")


@app.patch("/api/v1/jobs/<job_id>/annotations", responses=WRITE_DOCS, openapi_extensions=request_body(LabeledData),
           tags=["annotations"])
def change(job_id: str) -> Response[Any]:
    return _write(job_id, "PATCH")


def _write(job_id: str, method: str) -> Response[Any]:
    scope = annotations.job_scope(principal(app), tasks.parse_id(job_id), change=True)
    return write(app, scope, method, name=f"job-{job_id}")


handler = lambda_handler(app)

"""PUT and PATCH /api/v1/jobs/{id}: status and assignee (spec §4.2); the task's status follows
its jobs' (§4.3)."""

from typing import Any

from apigw.app import base_url, body, create_app, lambda_handler, principal
from apigw.docs import answers, request_body
from shared import annotations, tasks
from shared.schemas import Job, JobUpdate

app = create_app()


@app.put("/api/v1/jobs/<job_id>", responses=answers(200, Job, "The changed job"),
         openapi_extensions=request_body(JobUpdate), tags=["jobs"])
def replace(job_id: str) -> dict[str, Any]:
    return annotations.update_job(principal(app), tasks.parse_id(job_id), body(app), base_url(app))


@app.patch("/api/v1/jobs/<job_id>", responses=answers(200, Job, "The changed job"),
           openapi_extensions=request_body(JobUpdate), tags=["jobs"])
def update(job_id: str) -> dict[str, Any]:
    return annotations.update_job(principal(app), tasks.parse_id(job_id), body(app), base_url(app))


handler = lambda_handler(app)

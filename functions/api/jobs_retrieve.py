"""GET /api/v1/jobs/{id} (spec §4.2)."""

from typing import Any

from apigw.app import base_url, create_app, lambda_handler, principal
from apigw.docs import answers
from shared import annotations, tasks
from shared.schemas import Job

app = create_app()


@app.get("/api/v1/jobs/<job_id>", responses=answers(200, Job, "The job"), tags=["jobs"])
def retrieve(job_id: str) -> dict[str, Any]:
    return annotations.get_job(principal(app), tasks.parse_id(job_id), base_url(app))


handler = lambda_handler(app)

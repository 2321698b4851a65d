"""GET /api/v1/tasks/{id}/jobs: the task's jobs, not paginated (spec §4.1)."""

from typing import Any

from apigw.app import base_url, create_app, lambda_handler, principal
from apigw.docs import answers
from shared import tasks
from shared.schemas import Job

app = create_app()


@app.get("/api/v1/tasks/<task_id>/jobs", responses=answers(200, list[Job], "The jobs, by id"), tags=["tasks"])
def jobs(task_id: str) -> list[dict[str, Any]]:
    _, task_jobs = tasks.task_for(principal(app), tasks.parse_id(task_id), with_jobs=True)
    return tasks.jobs_view(task_jobs, base_url(app))


handler = lambda_handler(app)

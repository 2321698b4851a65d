"""GET /api/v1/tasks/{id}/data/meta: frame names and sizes (spec §7)."""

from typing import Any

from apigw.app import create_app, lambda_handler, principal
from apigw.docs import answers
from shared import frames, tasks
from shared.schemas import DataMeta

app = create_app()


@app.get("/api/v1/tasks/<task_id>/data/meta", responses=answers(200, DataMeta, "Frames of the task"), tags=["data"])
def meta(task_id: str) -> dict[str, Any]:
    return frames.data_meta(principal(app), tasks.parse_id(task_id))


handler = lambda_handler(app)

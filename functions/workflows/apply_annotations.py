"""ApplyAnnotations: an uploaded LabeledData document becomes one all-or-nothing write."""

from typing import Any

from pydantic import BaseModel

from shared import annotations
from workflows import step


class Apply(BaseModel):
    task_id: int
    job_id: int | None = None
    upload_id: str
    method: str
    action: str | None = None


@step(Apply)
def handler(event: Apply) -> dict[str, Any]:
    # a document the API would refuse is recorded as refused; only crashes fail the execution
    version = annotations.apply_uploaded(event.task_id, event.job_id, event.upload_id, event.method, event.action)
    return {"version": version}

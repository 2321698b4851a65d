"""ApplyAnnotations, on failure: the reason is recorded for the client's next request."""

from typing import Any

from pydantic import BaseModel

from shared import annotations, steps
from workflows import step


class Failed(BaseModel):
    task_id: int
    upload_id: str
    error: steps.StepError


@step(Failed)
def handler(event: Failed) -> dict[str, Any]:
    message = steps.failure_message(event.error.model_dump()).strip()
    annotations.record_upload_failure(event.task_id, event.upload_id, message)
    return {"recorded": True}

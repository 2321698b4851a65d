"""Export, on failure: the reason is recorded for the client's next request."""

from typing import Any

from pydantic import BaseModel

from shared import exports, steps
from workflows import step


class Failed(BaseModel):
    task_id: int
    record: str
    work: str
    error: steps.StepError


@step(Failed)
def handler(event: Failed) -> dict[str, Any]:
    exports.record_failure(event.task_id, event.record, event.work, event.error.model_dump())
    return {"recorded": True}

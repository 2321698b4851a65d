"""Import, on failure: the reason is recorded for the client's next PUT."""

from typing import Any

from pydantic import BaseModel

from shared import imports, steps
from workflows import step


class Failed(BaseModel):
    task_id: int
    record: str
    key: str
    error: steps.StepError


@step(Failed)
def handler(event: Failed) -> dict[str, Any]:
    imports.record_failure(event.task_id, event.record, event.key, event.error.model_dump())
    return {"recorded": True}

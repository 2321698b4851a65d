"""Import, step 2: the parsed objects replace the task's (or job's) in one write."""

from typing import Any

from pydantic import BaseModel

from shared import imports
from workflows import step


class Apply(BaseModel):
    task_id: int
    job_id: int | None = None
    record: str
    parsed: str


@step(Apply)
def handler(event: Apply) -> dict[str, Any]:
    return imports.apply(event.task_id, event.job_id, event.record, event.parsed)

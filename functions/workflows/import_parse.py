"""Import, step 1: the uploaded file in its format becomes LabeledData of the task."""

from typing import Any

from pydantic import BaseModel

from shared import imports
from workflows import step


class Parse(BaseModel):
    task_id: int
    format: str
    key: str
    parsed: str


@step(Parse)
def handler(event: Parse) -> dict[str, Any]:
    return imports.parse(event.task_id, event.format, event.key, event.parsed)

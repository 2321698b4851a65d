"""Export, step 1: the annotation files; for a dataset, the chunks whose frames come next."""

from typing import Any

from pydantic import BaseModel

from shared import exports
from workflows import step


class Collect(BaseModel):
    task_id: int
    kind: str
    format: str
    work: str
    base_url: str = ""


@step(Collect)
def handler(event: Collect) -> dict[str, Any]:
    return exports.collect(event.task_id, event.kind, event.format, event.work, event.base_url)

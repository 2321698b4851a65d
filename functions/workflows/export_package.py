"""Export, step 3: one file from the parts, streamed to S3; the export's record says ready."""

from typing import Any

from pydantic import BaseModel

from shared import exports
from workflows import step


class Package(BaseModel):
    task_id: int
    kind: str
    record: str
    key: str
    work: str
    member: str | None = None


@step(Package)
def handler(event: Package) -> dict[str, Any]:
    return exports.package(event.task_id, event.kind, event.record, event.key, event.work, event.member)

"""CreateTask, step 1: find and check the media, unpack archives, probe video, choose frames,
write the plan to S3 and return the chunk numbers for the Map state."""

from typing import Any

from shared import creation
from workflows import step


@step(creation.Step)
def handler(event: creation.Step) -> dict[str, Any]:
    return creation.prepare(event.task_id, event.data_id, event.execution)

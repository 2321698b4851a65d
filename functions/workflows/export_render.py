"""Export, step 2 (one per chunk, in parallel): a chunk's frames as the format's images."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from shared import exports
from workflows import metrics, step


class Render(BaseModel):
    task_id: int
    format: str
    work: str
    chunk: int


@step(Render)
def handler(event: Render) -> dict[str, Any]:
    result = exports.render_chunk(event.task_id, event.format, event.work, event.chunk)
    metrics.add_metric(name="FramesExported", unit=MetricUnit.Count, value=result["frames"])
    return result

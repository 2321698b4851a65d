"""CreateTask, step 2 (one per chunk, in parallel): the compressed and the original chunk."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from shared import creation
from workflows import metrics, step


@step(creation.ChunkStep)
def handler(event: creation.ChunkStep) -> dict[str, Any]:
    result = creation.build_chunk(event.task_id, event.data_id, event.execution, event.chunk)
    metrics.add_metric(name="FramesBuilt", unit=MetricUnit.Count, value=result["frames"])
    return result

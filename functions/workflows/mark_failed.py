"""CreateTask, on any failure: record the message on the task and remove partial chunks."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from shared import creation
from workflows import metrics, step


@step(creation.FailedStep)
def handler(event: creation.FailedStep) -> dict[str, Any]:
    metrics.add_metric(name="TaskCreationFailures", unit=MetricUnit.Count, value=1)
    return creation.mark_failed(event.task_id, event.data_id, event.execution, event.error.model_dump())

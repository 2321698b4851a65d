"""CreateTask, step 3: the manifest, segments and jobs; the task is ready."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from shared import creation
from workflows import metrics, step


@step(creation.Step)
def handler(event: creation.Step) -> dict[str, Any]:
    result = creation.finalize(event.task_id, event.data_id, event.execution)
    metrics.add_metric(name="TasksCreated", unit=MetricUnit.Count, value=1)
    return result

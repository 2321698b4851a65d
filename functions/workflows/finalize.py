"""CreateTask, step 3: the manifest, segments and jobs; the task is ready."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import creation

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=creation.Step)
def handler(event: creation.Step, context: LambdaContext) -> dict[str, Any]:
    result = creation.finalize(event.task_id, event.data_id, event.execution)
    metrics.add_metric(name="TasksCreated", unit=MetricUnit.Count, value=1)
    return result

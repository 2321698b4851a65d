"""CreateTask, on any failure: record the message on the task and remove partial chunks."""

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
@event_parser(model=creation.FailedStep)
def handler(event: creation.FailedStep, context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="TaskCreationFailures", unit=MetricUnit.Count, value=1)
    return creation.mark_failed(event.task_id, event.data_id, event.execution, event.error.model_dump())

"""CreateTask, step 2 (one per chunk, in parallel): the compressed and the original chunk."""

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
@event_parser(model=creation.ChunkStep)
def handler(event: creation.ChunkStep, context: LambdaContext) -> dict[str, Any]:
    result = creation.build_chunk(event.task_id, event.data_id, event.execution, event.chunk)
    metrics.add_metric(name="FramesBuilt", unit=MetricUnit.Count, value=result["frames"])
    return result

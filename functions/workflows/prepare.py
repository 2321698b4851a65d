"""CreateTask, step 1: find and check the media, unpack archives, probe video, choose frames,
write the plan to S3 and return the chunk numbers for the Map state."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import creation

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=creation.Step)
def handler(event: creation.Step, context: LambdaContext) -> dict[str, Any]:
    return creation.prepare(event.task_id, event.data_id, event.execution)

"""S3 ObjectCreated on uploads/: starts CreateTask once every announced file has arrived."""

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import data

logger = Logger()


@logger.inject_lambda_context
@event_source(data_class=S3Event)
def handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    started = []
    for record in event.records:
        key = unquote_plus(record.s3.get_object.key)
        started.append(data.upload_arrived(key))
    return {"started": sum(1 for s in started if s)}

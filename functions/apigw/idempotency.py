"""Idempotent creation: a request with an `Idempotency-Key` header runs once per caller, action
and key; repeats within an hour get the first answer (Powertools Idempotency on DynamoDB)."""

from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from apigw.app import principal
from shared.config import settings
from shared.errors import RequestInProgress

HEADER = "idempotency-key"


def once_per_key[T](app: APIGatewayHttpResolver, action: str, produce: Callable[[], T]) -> T:
    key = app.current_event.headers.get(HEADER)
    if not key:
        return produce()
    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    config = _config()
    if app.lambda_context is not None:
        config.register_lambda_context(app.lambda_context)

    @idempotent_function(data_keyword_argument="request", persistence_store=_persistence(), config=config)
    def run(request: dict[str, Any]) -> Any:
        return produce()

    request = {"user": principal(app).user_id, "action": action, "path": app.current_event.path, "key": key}
    try:
        return run(request=request)
    except IdempotencyAlreadyInProgressError:
        raise RequestInProgress(f"A request with Idempotency-Key {key!r} is still being processed.") from None


@cache
def _persistence() -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=settings().idempotency_table)


@cache
def _config() -> Any:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(expires_after_seconds=3600)

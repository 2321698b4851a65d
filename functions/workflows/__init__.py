"""The Lambda steps of the state machines (statemachines/*.asl.json)."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

logger = Logger()
tracer = Tracer()
metrics = Metrics()


Handler = Callable[[dict[str, Any], LambdaContext], Any]


def step[M: BaseModel](model: type[M]) -> Callable[[Callable[[M], Any]], Handler]:
    """A state machine step: its input parsed as `model`, with logs, traces and metrics."""

    def wrap(run: Callable[[M], Any]) -> Handler:
        @logger.inject_lambda_context
        @tracer.capture_lambda_handler
        @metrics.log_metrics
        @event_parser(model=model)
        def handler(event: M, context: LambdaContext) -> Any:
            return run(event)

        return handler

    return wrap

"""The stack of template.yaml provisioned in moto's in-process mock, with the handlers called
directly with API Gateway events (tests/integration/events.py builds them)."""

import os
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from local.stack import Stack, apply_environment, install_lambda_seam
from tests.integration.events import ApiCaller

ADMIN = ("admin", "Admin-12345")


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    saved = dict(os.environ)
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        os.environ.pop(key, None)
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                       "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
                       "POWERTOOLS_LOG_LEVEL": "WARNING"})
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        _forget_clients()
        local_stack = Stack("cvat-it")
        local_stack.provision()
        apply_environment(local_stack, None)
        install_lambda_seam(local_stack)
        from shared import users

        users.create_user(*ADMIN, email="admin@example.com", groups=("admin",))
        yield local_stack
        _forget_clients()
    os.environ.clear()
    os.environ.update(saved)


def _forget_clients() -> None:
    from shared import aws, config, tables

    aws.reset()
    config.settings.cache_clear()
    for model in (tables.TaskItem, tables.JobItem, tables.CounterItem, tables.SessionItem, tables.AnnotationItem):
        model._connection = None


@pytest.fixture
def api(stack: Stack) -> ApiCaller:
    return ApiCaller(stack)


def wait_for(check: Any, timeout: float = 60.0) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)

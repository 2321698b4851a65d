"""AWS clients, built once per process on first use and shared by every module.

boto3 reads the endpoint from the standard settings (AWS_ENDPOINT_URL), so the local runtime
and tests point these clients at moto without any special code path.
"""

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)


@cache
def s3() -> Any:
    return boto3.client("s3", config=_CONFIG.merge(Config(signature_version="s3v4")))


@cache
def stepfunctions() -> Any:
    return boto3.client("stepfunctions", config=_CONFIG)


@cache
def cognito() -> Any:
    return boto3.client("cognito-idp", config=_CONFIG)


def reset() -> None:
    """Forget the clients (tests that switch endpoints call this)."""
    for client in (s3, stepfunctions, cognito):
        client.cache_clear()

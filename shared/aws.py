"""AWS clients, built once per process on first use and shared by every module.

boto3 reads the endpoint from the standard settings (AWS_ENDPOINT_URL), so the local runtime
and tests point these clients at moto without any special code path. boto3 itself is imported
on first use: API handlers that answer from DynamoDB alone (through PynamoDB) never load it.
"""

from functools import cache
from typing import Any


def _client(service: str, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    settings = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32, **config)
    return boto3.client(service, config=settings)  # type: ignore[call-overload]


@cache
def s3() -> Any:
    return _client("s3", signature_version="s3v4")


@cache
def stepfunctions() -> Any:
    return _client("stepfunctions")


@cache
def cognito() -> Any:
    return _client("cognito-idp")


def reset() -> None:
    """Forget the clients (tests that switch endpoints call this)."""
    for client in (s3, stepfunctions, cognito):
        client.cache_clear()

"""Server endpoints (spec §11): about, the share folder in S3, client error reports and logs."""

import posixpath
from typing import Any

from aws_lambda_powertools import Logger

from shared import storage
from shared.auth import Principal
from shared.config import settings
from shared.errors import ValidationFailed
from shared.schemas import ClientEvent, ClientException
from shared.validation import validate

logger = Logger(child=True)

DESCRIPTION = (
    "CVAT is a free, online, interactive video and image annotation tool for computer vision. "
    "This server is the CVAT v1 task API running on AWS Lambda, DynamoDB, S3 and Step Functions."
)


def about() -> dict[str, Any]:
    return {"name": "Computer Vision Annotation Tool", "version": settings().server_version,
            "description": DESCRIPTION}


def share_key(path: str) -> str:
    """The S3 key of a share path; raises ValueError for paths that leave the share."""
    relative = path.lstrip("/")
    normal = posixpath.normpath(relative) if relative else ""
    if normal in ("..",) or normal.startswith("../") or normal.startswith("/"):
        raise ValueError(path)
    return settings().share_prefix + ("" if normal in ("", ".") else normal)


def list_share(directory: str) -> list[dict[str, str]]:
    shown = directory.lstrip("/")
    try:
        prefix = share_key(directory)
    except ValueError:
        raise ValidationFailed(f"{shown} is an invalid directory") from None
    if not prefix.endswith("/"):
        prefix += "/"
    folders, files = storage.list_directory(prefix)
    if not folders and not files and prefix != settings().share_prefix:
        raise ValidationFailed(f"{shown} is an invalid directory")
    return [{"name": f, "type": "DIR"} for f in folders] + [{"name": f, "type": "REG"} for f in files]


def log_client_exception(principal: Principal, fields: dict[str, Any]) -> dict[str, Any]:
    report = validate(ClientException, fields)
    logger.info("client exception", extra={"client_report": report.model_dump(), "username": principal.username})
    return report.model_dump(mode="json")


def log_client_events(principal: Principal, events: Any) -> list[dict[str, Any]]:
    if not isinstance(events, list):
        events = [events]
    checked = [validate(ClientEvent, event).model_dump(mode="json") for event in events]
    logger.info("client events", extra={"client_events": checked, "username": principal.username})
    return checked

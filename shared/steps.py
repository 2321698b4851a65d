"""What the state machines' steps share: the error a Catch passes on, and the message a client
is shown for it. Light on purpose: API handlers and failure steps import it without the media
libraries (they run without the FFmpeg layer)."""

import json
from typing import Any

from pydantic import BaseModel


class StepError(BaseModel):
    Error: str = "Error"
    Cause: str | None = None


def failure_message(error: dict[str, Any]) -> str:
    """CVAT's "<ErrorType>: <text>\\n" from a Step Functions error (Error, Cause)."""
    kind = str(error.get("Error") or "Error")
    cause = error.get("Cause") or ""
    try:
        details = json.loads(cause)
    except (TypeError, ValueError):
        details = None
    if isinstance(details, dict) and "errorMessage" in details:
        kind = details.get("errorType") or kind
        text = str(details["errorMessage"])
    else:
        text = str(cause) or "The task could not be created."
    return f"{kind}: {text}\n"


def refusal(error: dict[str, Any]) -> tuple[int, str]:
    """The answer a failed export or import gives: 400 with the format's own message when the
    file or the task could not be read or written in the format (FormatError), else 500 with
    the whole "<ErrorType>: <text>"."""
    message = failure_message(error).strip()
    kind, _, text = message.partition(": ")
    return (400, text) if kind == "FormatError" else (500, message)

"""Typed domain errors. The HTTP layer maps each class to one status code and body shape."""

from typing import Any


class CvatError(Exception):
    """Base of every error the domain raises on purpose."""


class NotAuthenticated(CvatError):
    def __init__(self, detail: str = "Authentication credentials were not provided.") -> None:
        super().__init__(detail)
        self.detail = detail


class PermissionDenied(CvatError):
    def __init__(self, detail: str = "You do not have permission to perform this action.") -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(CvatError):
    def __init__(self, detail: str = "Not found.") -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(CvatError):
    """A 400 answer. `body` is what the client sees, in one of the spec's shapes:
    a field dict ({"name": ["..."]}), a list (["..."]) or a plain string."""

    def __init__(self, body: Any) -> None:
        super().__init__(str(body))
        self.body = body

    @classmethod
    def field(cls, name: str, message: str) -> "ValidationFailed":
        return cls({name: [message]})

    @classmethod
    def non_field(cls, message: str) -> "ValidationFailed":
        return cls({"non_field_errors": [message]})


class PayloadTooLarge(CvatError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class MediaError(CvatError):
    """Media that cannot become a task (corrupt, empty, unsupported). The message is shown to
    people in the task status, so it says what is wrong in plain words."""


class RequestInProgress(CvatError):
    """The same Idempotency-Key is being processed by another request (409)."""


class PreconditionFailed(CvatError):
    """If-Match named a version that is no longer current (412)."""


class FormatDisabled(CvatError):
    """A known format this deployment cannot run (TFRecord needs TensorFlow): 405, no body."""

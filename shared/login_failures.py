"""Failed logins per username: more than LIMIT within WINDOW answer 429 with Retry-After.

Counts live in DynamoDB (the Sessions table, one item per username) so they hold across Lambda
containers. Each password check first reserves an attempt, with a conditional write that is refused
when the window is full, and only then asks Cognito: parallel guesses cannot get past the limit.
A successful check takes its reservation back, so successful logins never count (and never reset
earlier failures). Login form and HTTP Basic share the count: both check the same password.
"""

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pynamodb.exceptions import DeleteError, PutError

from shared.errors import CvatError
from shared.tables import LoginFailuresItem

LIMIT = 10
WINDOW_SECONDS = 15 * 60
_KEY_PREFIX = "login-failures#"
_MAX_USERNAME = 128  # Cognito's limit; keeps the item key short whatever a caller sends
_WRITE_TRIES = 8


class TooManyFailedLogins(CvatError):
    """429: the username is locked until `retry_after` seconds have passed."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(
            f"Request was throttled: more than {LIMIT} failed logins for this username in "
            f"{WINDOW_SECONDS // 60} minutes. Expected available in {self.retry_after} seconds."
        )


def reserve(username: str) -> float:
    """Counts one attempt for the username before its password is checked; returns its stamp, to
    `release` when the password is right. Raises TooManyFailedLogins when the window is full."""
    stamp = time.time()

    def add(attempts: list[float]) -> list[float]:
        recent = _recent(attempts, stamp)
        if len(recent) >= LIMIT:
            raise TooManyFailedLogins(_retry_after(recent, stamp))
        return [*recent, stamp]

    _update(username, add)
    return stamp


def release(username: str, stamp: float) -> None:
    """Takes back the attempt reserved at `stamp`: the password was right."""
    _update(username, lambda attempts: [a for a in _recent(attempts, time.time()) if a != stamp])


def _recent(attempts: list[float], now: float) -> list[float]:
    return sorted(a for a in attempts if a > now - WINDOW_SECONDS)[-LIMIT:]


def _retry_after(recent: list[float], now: float) -> int:
    """Seconds until fewer than LIMIT attempts remain in the window."""
    return math.ceil(recent[-LIMIT] + WINDOW_SECONDS - now)


def _update(username: str, change: Callable[[list[float]], list[float]]) -> None:
    """Read, change, write back on the version read; again when another container wrote first."""
    key = _KEY_PREFIX + username[:_MAX_USERNAME]
    for _ in range(_WRITE_TRIES):
        item = _load(key)
        attempts = change(list(item.attempts))
        try:
            _store(item, attempts)
            return
        except (PutError, DeleteError) as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
    raise TooManyFailedLogins(1)  # the item is being written by many at once: an attack in progress


def _load(key: str) -> LoginFailuresItem:
    try:
        return LoginFailuresItem.get(key, consistent_read=True)
    except LoginFailuresItem.DoesNotExist:
        return LoginFailuresItem(key)


def _store(item: LoginFailuresItem, attempts: list[float]) -> None:
    if attempts:
        item.attempts = attempts
        item.expires = datetime.fromtimestamp(max(attempts) + WINDOW_SECONDS, UTC)
        item.save()
    elif item.version is not None:
        item.delete()

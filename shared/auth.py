"""Login sessions: revocable keys stored (hashed) in DynamoDB with a sliding 14-day expiry.

Cognito checks passwords; its one-hour tokens are too short for the v1 client's sessions, so a
successful login creates our own key. The key is both the `Token` of the API and the value of
the `sessionid` cookie.
"""

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from shared import login_failures, users
from shared.errors import NotAuthenticated, ValidationFailed
from shared.tables import SessionItem, utcnow

SESSION_LIFETIME = timedelta(days=14)
# Extend a session only when it has been used a day after its last extension (fewer writes).
_EXTEND_AFTER = timedelta(days=1)
_CACHE_SECONDS = 60.0
_MAX_USERNAME = 128  # Cognito's limit


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    groups: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.groups


@dataclass(frozen=True)
class Session:
    key: str
    csrf_token: str
    principal: Principal


def login(username: str, password: str) -> Session:
    """A new session for right credentials; 400 with one message whatever was wrong (spec §1.2)."""
    user = _verified_user(username, password)
    if user is None:
        raise ValidationFailed.non_field("Unable to log in with provided credentials.")
    key = secrets.token_hex(20)
    csrf_token = secrets.token_urlsafe(32)
    SessionItem(
        _hash(key), username=user.username, user_id=user.id, csrf_token=csrf_token,
        expires=utcnow() + SESSION_LIFETIME,
    ).save()
    principal = Principal(user.id, user.username, user.groups)
    _cache.put(key, principal)
    return Session(key, csrf_token, principal)


def principal_for_key(key: str) -> Principal:
    """The user a session key belongs to; NotAuthenticated('Invalid token.') otherwise."""
    cached = _cache.get(key)
    if cached is not None:
        return cached
    item = _load_session(key)
    user = users.find_user(item.username)
    if user is None or not user.is_active or user.id != item.user_id:
        raise NotAuthenticated("Invalid token.")
    principal = Principal(user.id, user.username, user.groups)
    _cache.put(key, principal)
    return principal


def csrf_token_for_key(key: str) -> str:
    return str(_load_session(key).csrf_token)


def logout(key: str) -> None:
    _cache.drop(key)
    SessionItem(_hash(key)).delete()


def _load_session(key: str) -> SessionItem:
    try:
        item = SessionItem.get(_hash(key))
    except SessionItem.DoesNotExist:
        raise NotAuthenticated("Invalid token.") from None
    now = utcnow()
    if item.expires is None or item.expires <= now:
        raise NotAuthenticated("Invalid token.")
    if item.expires - now < SESSION_LIFETIME - _EXTEND_AFTER:
        item.update(actions=[SessionItem.expires.set(now + SESSION_LIFETIME)])
    return item


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class _KeyCache:
    """Verified keys for a short while, so polling clients cost no DynamoDB or Cognito calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, key: str) -> Principal | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or time.monotonic() - entry[0] > _CACHE_SECONDS:
                self._entries.pop(key, None)
                return None
            return entry[1]

    def put(self, key: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (time.monotonic(), principal)

    def drop(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = _KeyCache()


def principal_for_password(username: str, password: str, *, authorization: str) -> Principal:
    """HTTP Basic credentials. The 1.0 client sends them on every request and polls without
    delay, so verified ones are cached for a minute by a hash of the whole `authorization` header
    value: polling costs no Cognito call and never meets the failed-login throttle. A wrong
    password is never cached; each one counts as a failed login."""
    cache_key = "basic:" + _hash(authorization)
    cached = _cache.get(cache_key)
    if cached is not None:
        return cached
    user = _verified_user(username, password)
    if user is None:
        raise NotAuthenticated("Invalid username/password.")
    principal = Principal(user.id, user.username, user.groups)
    _cache.put(cache_key, principal)
    return principal


def _verified_user(username: str, password: str) -> users.User | None:
    """The active user these credentials belong to, or None. Every check counts against the
    username's failed-login window until it succeeds (429 once the window is full)."""
    if not username or not password or len(username) > _MAX_USERNAME:
        return None  # Cognito would refuse the call: no such user can exist
    stamp = login_failures.reserve(username)
    user = users.find_user(username) if users.check_password(username, password) else None
    if user is None or not user.is_active:
        return None
    login_failures.release(username, stamp)
    return user


def login_with(fields: dict[str, object]) -> Session:
    """Login from a request body: username and password (email is accepted and unused)."""
    password = fields.get("password")
    if password is None or password == "":
        raise ValidationFailed.field("password", "This field is required.")
    username = fields.get("username")
    if not username:
        raise ValidationFailed.non_field('Must include "username" and "password".')
    return login(str(username), str(password))

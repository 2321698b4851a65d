"""Signed URLs (spec §1.1 scheme 2, §1.5): a link that authenticates one GET of one URL as its
signer for 30 seconds, so a browser can open an image or a download without credentials.

The signature is an HMAC-SHA256 over the user, the time and the URL's path and query (without
`sign`, parameters in sorted order), under a server secret. The secret is made at random the
first time it is needed and kept in the Sessions table (item `signing-secret`, no expiry),
which every API function can already read; deleting that item rotates it (links live 30 s).
"""

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from shared import users
from shared.auth import Principal
from shared.errors import NotAuthenticated, ValidationFailed
from shared.tables import _TableName

QUERY_PARAM = "sign"
MAX_AGE_SECONDS = 30
SIGNED_METHODS = ("GET", "HEAD")
_SECRET_KEY = "signing-secret"  # never a session's key hash (those are 64 hex digits)


class _SecretItem(Model):
    class Meta:
        table_name = _TableName("sessions_table")

    key_hash = UnicodeAttribute(hash_key=True)
    secret = UnicodeAttribute()


def sign(principal: Principal, url: str | None, base_url: str) -> str:
    """POST /auth/signing: `url` (absolute, or relative to the API) with `sign=` appended."""
    if not url:
        raise ValidationFailed(["Please provide `url` parameter"])
    absolute = urljoin(f"{base_url}/api/v1/auth/signing", url)
    parts = urlsplit(absolute)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([p for p in pairs if p[0] != QUERY_PARAM]) if any(k == QUERY_PARAM for k, _ in pairs) \
        else parts.query
    payload = _encode(json.dumps([principal.user_id, principal.username, int(time.time())]).encode())
    signature = f"{payload}.{_mac(payload, parts.path, query)}"
    return parts._replace(query=f"{query}&{QUERY_PARAM}={signature}" if query else f"{QUERY_PARAM}={signature}",
                          fragment="").geturl()


def signature_of(method: str, raw_query: str) -> str | None:
    """The `sign` value of a request that may be authenticated by it (GET only), else None."""
    if method.upper() not in SIGNED_METHODS:
        return None
    values = [v for k, v in parse_qsl(raw_query, keep_blank_values=True) if k == QUERY_PARAM]
    return values[-1] if values else None


def principal_for(signature: str, path: str, raw_query: str) -> Principal:
    """The signer of a valid, fresh signature of this path and query; NotAuthenticated otherwise,
    in CVAT's words."""
    payload, _, mac = signature.partition(".")
    query = urlencode([p for p in parse_qsl(raw_query, keep_blank_values=True) if p[0] != QUERY_PARAM])
    if not payload or not hmac.compare_digest(mac.encode(), _mac(payload, path, query).encode()):
        raise NotAuthenticated("Invalid signature.")
    user_id, username, signed_at = json.loads(_decode(payload))
    if time.time() - signed_at > MAX_AGE_SECONDS:
        raise NotAuthenticated("This URL has expired.")
    user = users.find_user(username)
    if user is None or user.id != user_id or not user.is_active:
        raise NotAuthenticated("User inactive or deleted.")
    return Principal(user.id, user.username, user.groups)


def _mac(payload: str, path: str, query: str) -> str:
    """Binds the payload to the URL; the query in sorted order, so re-encoding it changes nothing."""
    canonical = urlencode(sorted(parse_qsl(query, keep_blank_values=True)))
    message = f"{payload}\n{unquote(path)}\n{canonical}".encode()
    return _encode(hmac.new(_secret.value(), message, hashlib.sha256).digest())


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Secret:
    """The server secret, read once per process (made on first use, by whichever function
    needs it first; a concurrent maker loses the conditional write and reads the winner's)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: bytes | None = None

    def value(self) -> bytes:
        with self._lock:
            if self._value is None:
                self._value = self._load()
            return self._value

    def forget(self) -> None:
        with self._lock:
            self._value = None

    @staticmethod
    def _load() -> bytes:
        try:
            return _SecretItem.get(_SECRET_KEY, consistent_read=True).secret.encode()
        except _SecretItem.DoesNotExist:
            pass
        item = _SecretItem(_SECRET_KEY, secret=secrets.token_urlsafe(48))
        try:
            item.save(condition=_SecretItem.key_hash.does_not_exist())
        except PutError:
            return _SecretItem.get(_SECRET_KEY, consistent_read=True).secret.encode()
        return item.secret.encode()


_secret = _Secret()

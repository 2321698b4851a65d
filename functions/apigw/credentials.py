"""Who is calling: `Authorization: Token|Bearer <key>`, the `sessionid` cookie that login sets
(with CSRF protection), or `Authorization: Basic` (spec §1.1)."""

import base64
import binascii
import hmac
from collections.abc import Mapping

from shared import auth, signing
from shared.errors import NotAuthenticated, PermissionDenied

SESSION_COOKIE = "sessionid"
CSRF_COOKIE = "csrftoken"


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def authenticate(method: str, headers: Mapping[str, str], cookies: list[str]) -> auth.Principal:
    """The caller, trying the schemes in the spec's order: a Token (or Bearer) header, then a live
    session cookie (with CSRF on unsafe methods), then Basic. A bad Token or Basic header is 401
    at once; a dead session cookie is ignored, as Django does, so a request carrying only that
    one is anonymous (401 too)."""
    header = headers.get("authorization", "").strip()
    scheme, _, credential = header.partition(" ")
    scheme = scheme.lower()
    if scheme in ("token", "bearer"):
        if not credential.strip():
            raise NotAuthenticated("Invalid token header. No credentials provided.")
        return auth.principal_for_key(credential.strip())
    session = _session_principal(cookies)
    if session is not None:
        check_csrf(method, headers, cookies)
        return session
    if scheme == "basic":
        username, password = _basic(credential)
        return auth.principal_for_password(username, password, authorization=header)
    raise NotAuthenticated()


def protect_session(method: str, headers: Mapping[str, str], cookies: list[str]) -> None:
    """For anonymous-allowed writes (login, logout): DRF authenticates these views too, so a
    request that a live session cookie would authenticate still needs its CSRF header (spec §1.2)."""
    scheme = headers.get("authorization", "").strip().partition(" ")[0].lower()
    if scheme not in ("token", "bearer") and _session_principal(cookies) is not None:
        check_csrf(method, headers, cookies)


def check_csrf(method: str, headers: Mapping[str, str], cookies: list[str]) -> None:
    """Django's double-submit check for session requests (spec §1.1): an unsafe method needs an
    `X-CSRFToken` header equal to the `csrftoken` cookie. A foreign page can make the browser send
    the cookies but cannot read them to set the header. The HTTPS Referer check is left out: the v1
    client sends no Referer, and the token alone is what stops a forged request."""
    if method.upper() not in UNSAFE_METHODS:
        return
    expected = cookie_value(cookies, CSRF_COOKIE)
    if not expected:
        raise PermissionDenied("CSRF Failed: CSRF cookie not set.")
    given = headers.get("x-csrftoken", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise PermissionDenied("CSRF Failed: CSRF token missing or incorrect.")


def _session_principal(cookies: list[str]) -> auth.Principal | None:
    key = cookie_value(cookies, SESSION_COOKIE)
    if not key:
        return None
    try:
        return auth.principal_for_key(key)
    except NotAuthenticated:
        return None


def signed_principal(method: str, path: str, raw_query: str, headers: Mapping[str, str]) -> auth.Principal | None:
    """Scheme 2 of spec §1.1: `?sign=` from POST /auth/signing authenticates a GET of exactly the
    signed URL (401 when stale or forged). None when there is no signature or a Token header,
    which is tried first; then the other schemes decide."""
    if headers.get("authorization", "").strip().partition(" ")[0].lower() in ("token", "bearer"):
        return None
    signature = signing.signature_of(method, raw_query)
    return None if signature is None else signing.principal_for(signature, path, raw_query)


def session_key(headers: Mapping[str, str], cookies: list[str]) -> str | None:
    """The key a logout should revoke: from the Token header or the session cookie."""
    scheme, _, credential = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() in ("token", "bearer") and credential.strip():
        return credential.strip()
    return cookie_value(cookies, SESSION_COOKIE)


def cookie_value(cookies: list[str], name: str) -> str | None:
    for cookie in cookies:
        for part in cookie.split(";"):
            key, _, value = part.strip().partition("=")
            if key == name and value:
                return value
    return None


def _basic(credential: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(credential.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise NotAuthenticated("Invalid basic header. Credentials not correctly base64 encoded.") from None
    username, separator, password = decoded.partition(":")
    if not separator:
        raise NotAuthenticated("Invalid basic header. Credentials not correctly base64 encoded.")
    return username, password

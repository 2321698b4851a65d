"""Who is calling: `Authorization: Token|Bearer <key>`, `Authorization: Basic`, or the
`sessionid` cookie that login sets (spec §1.1)."""

import base64
import binascii
from collections.abc import Mapping

from shared import auth
from shared.errors import NotAuthenticated

SESSION_COOKIE = "sessionid"
CSRF_COOKIE = "csrftoken"


def authenticate(headers: Mapping[str, str], cookies: list[str]) -> auth.Principal:
    header = headers.get("authorization", "")
    if header:
        scheme, _, credential = header.strip().partition(" ")
        scheme = scheme.lower()
        if scheme in ("token", "bearer"):
            if not credential.strip():
                raise NotAuthenticated("Invalid token header. No credentials provided.")
            return auth.principal_for_key(credential.strip())
        if scheme == "basic":
            return auth.principal_for_password(*_basic(credential))
    key = cookie_value(cookies, SESSION_COOKIE)
    if key:
        return auth.principal_for_key(key)
    raise NotAuthenticated()


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

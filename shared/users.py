"""Users and role groups, kept in the Amazon Cognito user pool.

Cognito holds identities, passwords and groups; CVAT's integer user id is a custom attribute
(`custom:user_id`) given from the "user" counter when the user is created.
"""

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared import aws
from shared.config import settings
from shared.counters import allocate

ROLES = ("admin", "user", "annotator", "observer")
_ID_ATTRIBUTE = "custom:user_id"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    groups: tuple[str, ...] = ()
    is_active: bool = True
    date_joined: datetime | None = None
    last_login: datetime | None = field(default=None, compare=False)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.groups


def create_user(
    username: str,
    password: str,
    *,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    groups: tuple[str, ...] = (),
) -> User:
    pool = settings().user_pool_id
    user_id = allocate("user")
    attributes = [{"Name": _ID_ATTRIBUTE, "Value": str(user_id)}]
    for name, value in (("email", email), ("given_name", first_name), ("family_name", last_name)):
        if value:
            attributes.append({"Name": name, "Value": value})
    client = aws.cognito()
    client.admin_create_user(
        UserPoolId=pool, Username=username, UserAttributes=attributes,
        TemporaryPassword=password, MessageAction="SUPPRESS",
    )
    client.admin_set_user_password(UserPoolId=pool, Username=username, Password=password, Permanent=True)
    for group in groups:
        client.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group)
    _directory.forget()
    return get_user(username)


def check_password(username: str, password: str) -> bool:
    """True when Cognito accepts the password (USER_PASSWORD_AUTH)."""
    client = aws.cognito()
    try:
        client.initiate_auth(
            ClientId=settings().user_pool_client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
    except (client.exceptions.NotAuthorizedException, client.exceptions.UserNotFoundException):
        return False
    except client.exceptions.PasswordResetRequiredException:
        return False
    return True


def get_user(username: str) -> User:
    client = aws.cognito()
    pool = settings().user_pool_id
    found = client.admin_get_user(UserPoolId=pool, Username=username)
    groups = client.admin_list_groups_for_user(UserPoolId=pool, Username=username)["Groups"]
    return _user_from(found["Username"], found["UserAttributes"], found, tuple(g["GroupName"] for g in groups))


def find_user(username: str) -> User | None:
    client = aws.cognito()
    try:
        return get_user(username)
    except client.exceptions.UserNotFoundException:
        return None


def user_by_id(user_id: int) -> User | None:
    """The user with that integer id, from a directory of all users refreshed every minute."""
    return _directory.by_id().get(user_id)


def usernames() -> dict[int, str]:
    return {uid: user.username for uid, user in _directory.by_id().items()}


def _user_from(username: str, attributes: list[dict[str, str]], raw: dict[str, Any],
               groups: tuple[str, ...] = ()) -> User:
    attrs = {a["Name"]: a["Value"] for a in attributes}
    return User(
        id=int(attrs.get(_ID_ATTRIBUTE, "0")),
        username=username,
        email=attrs.get("email", ""),
        first_name=attrs.get("given_name", ""),
        last_name=attrs.get("family_name", ""),
        groups=groups,
        is_active=bool(raw.get("Enabled", True)),
        date_joined=raw.get("UserCreateDate"),
    )


class _Directory:
    """All users by id. Cognito cannot search custom attributes, so ids are resolved from a
    listing of the pool, cached briefly (teams are small: dozens to a few thousand users)."""

    ttl_seconds = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[int, User] = {}
        self._loaded_at = 0.0

    def forget(self) -> None:
        with self._lock:
            self._loaded_at = 0.0

    def by_id(self) -> dict[int, User]:
        with self._lock:
            if time.monotonic() - self._loaded_at > self.ttl_seconds:
                self._users = self._load()
                self._loaded_at = time.monotonic()
            return self._users

    @staticmethod
    def _load() -> dict[int, User]:
        client = aws.cognito()
        users: dict[int, User] = {}
        for page in client.get_paginator("list_users").paginate(UserPoolId=settings().user_pool_id):
            for raw in page["Users"]:
                user = _user_from(raw["Username"], raw.get("Attributes", []), raw)
                users[user.id] = user
        return users


_directory = _Directory()


def user_view(user: User, base_url: str) -> dict[str, Any]:
    """The full user object (spec §1.6)."""
    return {
        "url": f"{base_url}/api/v1/users/{user.id}",
        "id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "groups": list(user.groups),
        "is_staff": user.is_admin,
        "is_superuser": user.is_admin,
        "is_active": user.is_active,
        "last_login": _iso(user.last_login),
        "date_joined": _iso(user.date_joined),
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

"""Users and role groups, kept in the Amazon Cognito user pool.

Cognito holds identities, passwords and groups; CVAT's integer user id is a custom attribute
(`custom:user_id`) given from the "user" counter when the user is created. The role groups are
the pool's groups admin, user, annotator and observer; `is_staff` and `is_superuser` are not
stored: they mean membership of `admin`.
"""

import json
import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from shared import aws
from shared.config import settings
from shared.counters import allocate
from shared.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from shared.pagination import paginate
from shared.schemas import RegisterRequest, UserAgreement, UserUpdate
from shared.tables import JobItem, TaskItem
from shared.validation import drf_errors, validate

if TYPE_CHECKING:
    from shared.auth import Principal

ROLES = ("admin", "user", "annotator", "observer")
_ID_ATTRIBUTE = "custom:user_id"
_ATTRIBUTES = {"email": "email", "first_name": "given_name", "last_name": "family_name"}


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


# ---------------------------------------------------------------- Cognito


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
    try:
        client.admin_set_user_password(UserPoolId=pool, Username=username, Password=password, Permanent=True)
    except client.exceptions.InvalidPasswordException:
        # AdminCreateUser may accept what the policy then refuses: leave no user without a password
        client.admin_delete_user(UserPoolId=pool, Username=username)
        raise
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
    return _user_from(found["Username"], found["UserAttributes"], found, _ordered(g["GroupName"] for g in groups))


def current_user(principal: "Principal") -> User:
    """The caller's own record; a caller deleted since its key was last verified (keys are
    cached for a minute) is no longer signed in."""
    user = find_user(principal.username)
    if user is None:
        raise NotAuthenticated("Invalid token.")
    return user


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


def _ordered(groups: Any) -> tuple[str, ...]:
    """Role groups in the order of ROLES, then any other group of the pool by name."""
    names = set(groups)
    return tuple(r for r in ROLES if r in names) + tuple(sorted(names - set(ROLES)))


def _memberships() -> dict[str, tuple[str, ...]]:
    """Every user's role groups by username: one listing per role, not one call per user."""
    client = aws.cognito()
    found: dict[str, list[str]] = {}
    for role in ROLES:
        pages = client.get_paginator("list_users_in_group").paginate(
            UserPoolId=settings().user_pool_id, GroupName=role)
        for page in pages:
            for raw in page["Users"]:
                found.setdefault(raw["Username"], []).append(role)
    return {name: _ordered(groups) for name, groups in found.items()}


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

    def by_id(self, max_age: float | None = None) -> dict[int, User]:
        with self._lock:
            if time.monotonic() - self._loaded_at > (self.ttl_seconds if max_age is None else max_age):
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
# A user made in another Lambda container is found after a fresh listing, at most this often.
_REFRESH_ON_MISS_SECONDS = 5.0


# ---------------------------------------------------------------- views


def user_view(user: User, base_url: str) -> dict[str, Any]:
    """The full user object (spec §1.6)."""
    return {
        **basic_view(user, base_url),
        "email": user.email,
        "groups": list(user.groups),
        "is_staff": user.is_admin,
        "is_superuser": user.is_admin,
        "is_active": user.is_active,
        "last_login": _iso(user.last_login),
        "date_joined": _iso(user.date_joined),
    }


def basic_view(user: User, base_url: str) -> dict[str, Any]:
    """What any signed-in user may see of another one."""
    return {
        "url": f"{base_url}/api/v1/users/{user.id}",
        "id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }


def view_for(principal: "Principal", user: User, base_url: str) -> dict[str, Any]:
    """Admins see everything of everyone, others everything of themselves only."""
    full = principal.is_admin or principal.user_id == user.id
    return user_view(user, base_url) if full else basic_view(user, base_url)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------- reading


def parse_id(raw: str) -> int:
    """Ids in paths are positive integers; anything else names no user."""
    if not raw.isdigit() or int(raw) < 1:
        raise NotFound()
    return int(raw)


def list_users(principal: "Principal", query: dict[str, str], base_url: str) -> dict[str, Any]:
    """Every user by id, a page at a time (spec §1.6): full objects for admins, basic ones for
    the others. Cognito lists no groups, so admins' pages take one listing per role."""
    everyone = sorted(_directory.by_id().values(), key=lambda u: u.id)
    page = paginate(everyone, query, f"{base_url}/api/v1/users")
    if principal.is_admin:
        groups = _memberships()
        page["results"] = [user_view(replace(u, groups=groups.get(u.username, ())), base_url)
                           for u in page["results"]]
    else:
        page["results"] = [basic_view(u, base_url) for u in page["results"]]
    return page


def load_user(user_id: int) -> User:
    """The user with that id, fresh from Cognito (groups included), or NotFound."""
    listed = _directory.by_id().get(user_id) or _directory.by_id(_REFRESH_ON_MISS_SECONDS).get(user_id)
    user = find_user(listed.username) if listed is not None else None
    if user is None or user.id != user_id:
        raise NotFound()
    return user


# ---------------------------------------------------------------- changing

_BASIC_FIELDS = {"url", "id", "username", "first_name", "last_name"}
_ADMIN_ONLY = {"is_staff", "is_superuser", "groups"}


def update_user(principal: "Principal", user_id: int, body: dict[str, Any]) -> User:
    """PATCH /users/{id}: people change their own basic fields, admins anything of anyone."""
    user = load_user(user_id)
    if not principal.is_admin and principal.user_id != user.id:
        raise PermissionDenied()
    if not principal.is_admin:
        _refuse_unknown_fields(body)
    request = validate(UserUpdate, body)
    _check_username(user, request.username)
    roles = _roles(request.groups) if request.groups is not None else None
    given = request.model_fields_set
    _set_attributes(user, {name: getattr(request, name) or "" for name in _ATTRIBUTES if name in given})
    if request.is_active is not None and request.is_active != user.is_active:
        _set_active(user, request.is_active)
    if roles is not None:
        _set_roles(user, roles)
    _directory.forget()
    return get_user(user.username)


def _refuse_unknown_fields(body: dict[str, Any]) -> None:
    """CVAT's basic user serializer refuses what it does not know, in these words."""
    unknown = set(body) - _BASIC_FIELDS
    if not unknown:
        return
    names = "{" + ", ".join(repr(name) for name in sorted(unknown)) + "}"
    if unknown & _ADMIN_ONLY:
        raise ValidationFailed.non_field(f"You do not have permissions to access some of these fields: {names}")
    raise ValidationFailed.non_field(f"Got unknown fields: {names}")


def _check_username(user: User, wanted: str | None) -> None:
    """Cognito cannot rename a user (the username is the sign-in name and keys its sessions)."""
    if wanted is not None and wanted != user.username:
        raise ValidationFailed.field("username", "A username cannot be changed once the user exists.")


def _roles(groups: list[str]) -> tuple[str, ...]:
    unknown = [name for name in groups if name not in ROLES]
    if unknown:
        raise ValidationFailed.field("groups", f"Object with name={unknown[0]} does not exist.")
    return _ordered(groups)


def _set_attributes(user: User, changes: dict[str, str]) -> None:
    """Names and e-mail; Cognito keeps no empty attributes, so a blank value deletes one."""
    client = aws.cognito()
    pool = settings().user_pool_id
    if given := [{"Name": _ATTRIBUTES[k], "Value": v} for k, v in changes.items() if v]:
        client.admin_update_user_attributes(UserPoolId=pool, Username=user.username, UserAttributes=given)
    if cleared := [_ATTRIBUTES[k] for k, v in changes.items() if not v]:
        client.admin_delete_user_attributes(UserPoolId=pool, Username=user.username, UserAttributeNames=cleared)


def _set_active(user: User, active: bool) -> None:
    """An inactive user cannot sign in (Cognito's disabled user), as in Django."""
    client = aws.cognito()
    switch = client.admin_enable_user if active else client.admin_disable_user
    switch(UserPoolId=settings().user_pool_id, Username=user.username)


def _set_roles(user: User, roles: tuple[str, ...]) -> None:
    """Makes the user's role groups exactly `roles`; other groups of the pool stay."""
    client = aws.cognito()
    pool = settings().user_pool_id
    for role in ROLES:
        if role in roles and role not in user.groups:
            client.admin_add_user_to_group(UserPoolId=pool, Username=user.username, GroupName=role)
        elif role not in roles and role in user.groups:
            client.admin_remove_user_from_group(UserPoolId=pool, Username=user.username, GroupName=role)


def delete_user(principal: "Principal", user_id: int) -> None:
    """DELETE /users/{id}: oneself, or anyone for admins. As in CVAT, tasks and jobs stay and
    lose the reference (owner and assignees become null)."""
    user = load_user(user_id)
    if not principal.is_admin and principal.user_id != user.id:
        raise PermissionDenied()
    aws.cognito().admin_delete_user(UserPoolId=settings().user_pool_id, Username=user.username)
    _directory.forget()
    _forget_references(user.id)


def _forget_references(user_id: int) -> None:
    """Django's SET_NULL: the user's ids leave tasks (owner, assignee) and jobs (assignee)."""
    for task in TaskItem.by_kind.query("task"):
        actions: list[Action] = []
        if task.owner_id is not None and int(task.owner_id) == user_id:
            actions.append(TaskItem.owner_id.remove())
        if task.assignee_id is not None and int(task.assignee_id) == user_id:
            actions.append(TaskItem.assignee_id.remove())
        if actions:
            _update_if_present(task, actions, TaskItem.task_id.exists())
    for job in JobItem.by_assignee.query(user_id):
        _update_if_present(job, [JobItem.assignee_id.remove()], JobItem.job_id.exists())


def _update_if_present(item: TaskItem | JobItem, actions: list[Action], exists: Any) -> None:
    """An update of an item deleted meanwhile would create a stub of it: skip those."""
    try:
        item.update(actions=actions, condition=exists)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


# ---------------------------------------------------------------- registration


def agreements() -> list[dict[str, Any]]:
    """The user agreements of the server's configuration (USER_AGREEMENTS, a JSON list)."""
    return [UserAgreement.model_validate(item).model_dump() for item in json.loads(settings().user_agreements)]


def register(body: dict[str, Any]) -> RegisterRequest:
    """POST /auth/register: a new user in no group (spec §1.4). Returns the accepted request;
    the caller signs the user in with its password."""
    request = _registration(body)
    client = aws.cognito()
    try:
        create_user(request.username, request.password1, email=request.email,
                    first_name=request.first_name, last_name=request.last_name)
    except client.exceptions.UsernameExistsException:
        raise ValidationFailed.field("username", "A user with that username already exists.") from None
    except client.exceptions.InvalidPasswordException:
        raise ValidationFailed.field("password1", _POOL_POLICY) from None
    return request


def registration_view(request: RegisterRequest) -> dict[str, Any]:
    return {
        "username": request.username,
        "email": request.email,
        "first_name": request.first_name,
        "last_name": request.last_name,
        "email_verification_required": False,
    }


def _registration(body: dict[str, Any]) -> RegisterRequest:
    """Field errors all at once (as DRF reports them), then the two object-level checks."""
    errors: dict[str, Any] = {}
    request: RegisterRequest | None = None
    try:
        request = RegisterRequest.model_validate(body)
    except ValidationError as error:  # the checks below still run: every field error at once
        errors = drf_errors(error)
    for name, problems in _field_problems(body).items():
        if problems and name not in errors:
            errors[name] = problems
    if errors or request is None:
        raise ValidationFailed(errors)
    if request.password1 != request.password2:
        raise ValidationFailed.non_field("The two password fields didn't match.")
    _check_agreements(request)
    return request


def _field_problems(body: dict[str, Any]) -> dict[str, list[str]]:
    username, email, password = (body.get(k) for k in ("username", "email", "password1"))
    problems: dict[str, list[str]] = {}
    if isinstance(username, str) and username and find_user(username) is not None:
        problems["username"] = ["A user with that username already exists."]
    if isinstance(email, str) and email and _email_taken(email):
        problems["email"] = ["A user is already registered with this e-mail address."]
    if isinstance(password, str) and password:
        problems["password1"] = password_problems(password, body)
    return problems


def _email_taken(email: str) -> bool:
    escaped = email.replace("\\", "\\\\").replace('"', '\\"')
    found = aws.cognito().list_users(UserPoolId=settings().user_pool_id, Filter=f'email = "{escaped}"', Limit=1)
    return bool(found["Users"])


def _check_agreements(request: RegisterRequest) -> None:
    confirmed = {c.name for c in request.confirmations if c.value}
    for agreement in agreements():
        if agreement["required"] and agreement["name"] not in confirmed:
            raise ValidationFailed.non_field(f"Agreement {agreement['name']} must be accepted")


# ---------------------------------------------------------------- password strength

_MIN_LENGTH = 8
_SIMILAR_TO = (("username", "username"), ("first_name", "first name"), ("last_name", "last name"),
               ("email", "email address"))
_POOL_SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")
_POOL_POLICY = "This password must contain an upper case letter, a lower case letter, a digit and a symbol."
# A short list of the passwords tried first by anyone guessing (Django ships 20,000).
_COMMON_TEXT = """
password password1 password12 password123 password1! passw0rd passw0rd! p@ssw0rd p@ssword p@ssw0rd1
12345678 123456789 1234567890 0123456789 87654321 987654321 11111111 00000000 12341234 11223344
qwerty12 qwerty123 qwerty123! qwertyui qwertyuiop 1q2w3e4r 1q2w3e4r5t 1qaz2wsx zaq12wsx qazwsxedc
abc12345 abcd1234 abcdefgh aa123456 asdfghjk asdfasdf iloveyou iloveyou1 sunshine sunshine1
princess football football1 baseball welcome welcome1 welcome1! welcome123 trustno1 letmein
letmein1 letmein! dragon12 monkey12 master12 superman starwars whatever computer michelle
jennifer corvette mercedes charlie1 freedom1 liverpool chelsea1 pokemon1 blink182 changeme
changeme1 admin123 admin1234 admin123! administrator secret12 test1234 testtest 123qweasd
q1w2e3r4 q1w2e3r4t5 zxcvbnm1 zxcvbnm123 access14 shadow12 michael1 jordan23 hello123 summer2020
"""
_COMMON = frozenset(_COMMON_TEXT.split())


def password_problems(password: str, attributes: dict[str, Any]) -> list[str]:
    """Django's four password validators (CVAT's settings), in its words, plus the rule of the
    Cognito pool's default policy, which would otherwise refuse the password later."""
    problems = []
    if similar := _similar_attribute(password, attributes):
        problems.append(f"The password is too similar to the {similar}.")
    if len(password) < _MIN_LENGTH:
        problems.append(f"This password is too short. It must contain at least {_MIN_LENGTH} characters.")
    if password.lower().strip() in _COMMON:
        problems.append("This password is too common.")
    if password.isdigit():
        problems.append("This password is entirely numeric.")
    if not problems and not _meets_pool_policy(password):
        problems.append(_POOL_POLICY)
    return problems


def _similar_attribute(password: str, attributes: dict[str, Any]) -> str | None:
    for key, name in _SIMILAR_TO:
        value = attributes.get(key)
        if not isinstance(value, str) or not value:
            continue
        for part in [*re.split(r"\W+", value), value]:
            if SequenceMatcher(a=password.lower(), b=part.lower()).quick_ratio() >= 0.7:
                return name
    return None


def _meets_pool_policy(password: str) -> bool:
    return (any(c.isupper() for c in password) and any(c.islower() for c in password)
            and any(c.isdigit() for c in password) and any(c in _POOL_SYMBOLS for c in password))

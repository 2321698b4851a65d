"""Registration, users and their role groups, restrictions and signed URLs (spec §1.4-§1.6, §11,
§12 items 20 and 21), through the real handlers."""

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from shared import auth, config, signing
from tests.integration.events import Answer, ApiCaller

PASSWORD = "Reg-Pass-2468"  # passes Django's validators and Cognito's default password policy
FULL = {"url", "id", "username", "first_name", "last_name", "email", "groups", "is_staff", "is_superuser",
        "is_active", "last_login", "date_joined"}
BASIC = {"url", "id", "username", "first_name", "last_name"}


def _registration(**fields: Any) -> dict[str, Any]:
    username = f"reg{uuid.uuid4().hex[:10]}"
    return {"username": username, "email": f"{username}@example.com", "password1": PASSWORD,
            "password2": PASSWORD, **fields}


def _register(api: ApiCaller, **fields: Any) -> Answer:
    return ApiCaller(api.stack).call("POST", "/api/v1/auth/register", json_body=_registration(**fields))


def _person(api: ApiCaller, *groups: str) -> tuple[ApiCaller, dict[str, Any]]:
    """A registered, signed-in user (with `groups` given by the admin) and its own user object."""
    answer = _register(api)
    assert answer.status == 201, answer.body
    caller = ApiCaller(api.stack).login(answer.json()["username"], PASSWORD)
    me = caller.call("GET", "/api/v1/users/self").json()
    if groups:
        admin = ApiCaller(api.stack).login()
        changed = admin.call("PATCH", f"/api/v1/users/{me['id']}", json_body={"groups": list(groups)})
        assert changed.status == 200, changed.body
        me = changed.json()
        auth._cache.clear()  # as another Lambda container would: the new groups count at once
    return caller, me


@pytest.fixture
def agreements(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("USER_AGREEMENTS", '[{"name": "terms", "displayText": "I accept the terms", '
                                          '"url": "https://example.com/terms", "required": true}, '
                                          '{"name": "news", "displayText": "Send me news"}]')
    config.settings.cache_clear()
    yield
    monkeypatch.undo()
    config.settings.cache_clear()


# ---------------------------------------------------------------- registration


def test_register_signs_in_a_user_without_a_role_who_cannot_create_tasks_until_added_to_user(
        api: ApiCaller) -> None:
    fields = _registration(first_name="Ada", last_name="Lovelace")
    answer = ApiCaller(api.stack).call("POST", "/api/v1/auth/register", json_body=fields)
    assert answer.status == 201
    assert answer.json() == {"username": fields["username"], "email": fields["email"], "first_name": "Ada",
                             "last_name": "Lovelace", "email_verification_required": False}
    cookies = {c.split("=", 1)[0]: c.split(";", 1)[0].split("=", 1)[1] for c in answer.cookies}
    assert set(cookies) == {"sessionid", "csrftoken"}

    session = {"Cookie": f"sessionid={cookies['sessionid']}"}
    by_cookie = ApiCaller(api.stack).call("GET", "/api/v1/users/self", headers=session)
    assert by_cookie.status == 200
    me = by_cookie.json()
    assert set(me) == FULL
    assert (me["username"], me["groups"], me["is_staff"], me["is_superuser"], me["is_active"]) == \
        (fields["username"], [], False, False, True)

    newcomer = ApiCaller(api.stack).login(fields["username"], PASSWORD)
    task = {"name": "first", "labels": [{"name": "car"}]}
    refused = newcomer.call("POST", "/api/v1/tasks", json_body=task)
    assert refused.status == 403
    assert refused.json() == {"detail": "You do not have permission to perform this action."}

    admin = ApiCaller(api.stack).login()
    added = admin.call("PATCH", f"/api/v1/users/{me['id']}", json_body={"groups": ["user"]})
    assert added.status == 200 and added.json()["groups"] == ["user"]
    auth._cache.clear()  # the next request may reach another Lambda container
    created = newcomer.call("POST", "/api/v1/tasks", json_body=task)
    assert created.status == 201 and created.json()["owner"] == me["id"]
    assert admin.call("DELETE", f"/api/v1/tasks/{created.json()['id']}").status == 204


def test_register_validates_fields_in_cvat_words(api: ApiCaller) -> None:
    anonymous = ApiCaller(api.stack)
    empty = anonymous.call("POST", "/api/v1/auth/register", json_body={})
    assert empty.status == 400
    required = ("username", "email", "password1", "password2")
    assert empty.json() == {name: ["This field is required."] for name in required}

    taken = _register(api, username="admin")
    assert taken.status == 400 and taken.json() == {"username": ["A user with that username already exists."]}
    same_email = _register(api, email="admin@example.com")
    assert same_email.json() == {"email": ["A user is already registered with this e-mail address."]}
    bad = _register(api, username="no spaces!", email="nowhere")
    assert bad.json() == {
        "username": ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."],
        "email": ["Enter a valid email address."],
    }
    mismatch = _register(api, password2=PASSWORD + "x")
    assert mismatch.json() == {"non_field_errors": ["The two password fields didn't match."]}


@pytest.mark.parametrize(("password", "messages"), [
    ("Ab-1", ["This password is too short. It must contain at least 8 characters."]),
    ("12345678", ["This password is too common.", "This password is entirely numeric."]),
    ("80240617", ["This password is entirely numeric."]),
    ("Passw0rd!", ["This password is too common."]),
    ("lowercase-only-words", ["This password must contain an upper case letter, a lower case letter, a digit "
                              "and a symbol."]),
])
def test_register_refuses_weak_passwords(api: ApiCaller, password: str, messages: list[str]) -> None:
    answer = _register(api, password1=password, password2=password)
    assert answer.status == 400
    assert answer.json() == {"password1": messages}


def test_register_refuses_a_password_like_the_username(api: ApiCaller) -> None:
    fields = _registration()
    password = fields["username"].capitalize() + "!"
    answer = ApiCaller(api.stack).call("POST", "/api/v1/auth/register",
                                       json_body={**fields, "password1": password, "password2": password})
    assert answer.status == 400
    assert answer.json() == {"password1": ["The password is too similar to the username."]}


def test_register_needs_every_required_agreement(api: ApiCaller, agreements: None) -> None:
    """Spec §12 item 21."""
    listed = ApiCaller(api.stack).call("GET", "/api/v1/restrictions/user-agreements")
    assert listed.status == 200
    assert listed.json() == [
        {"name": "terms", "displayText": "I accept the terms", "url": "https://example.com/terms",
         "required": True, "value": False},
        {"name": "news", "displayText": "Send me news", "url": "", "required": False, "value": False},
    ]
    for confirmations in ([], [{"name": "terms", "value": False}], [{"name": "news", "value": True}]):
        refused = _register(api, confirmations=confirmations)
        assert refused.status == 400
        assert refused.json() == {"non_field_errors": ["Agreement terms must be accepted"]}
    accepted = _register(api, confirmations=[{"name": "terms", "value": True}])
    assert accepted.status == 201


def test_restrictions_are_open_to_anonymous_callers(api: ApiCaller) -> None:
    anonymous = ApiCaller(api.stack)
    agreements = anonymous.call("GET", "/api/v1/restrictions/user-agreements")
    assert agreements.status == 200 and agreements.json() == []
    terms = anonymous.call("GET", "/api/v1/restrictions/terms-of-use")
    assert terms.status == 200 and terms.headers["content-type"].startswith("text/html")
    assert b"<h1>Terms of use</h1>" in terms.body
    assert anonymous.call("POST", "/api/v1/restrictions/terms-of-use").status == 405


# ---------------------------------------------------------------- reading users


def test_users_list_is_paginated_full_for_admins_and_basic_for_others(api: ApiCaller) -> None:
    caller, me = _person(api, "annotator")
    assert ApiCaller(api.stack).call("GET", "/api/v1/users").status == 401

    admin_page = ApiCaller(api.stack).login().call("GET", "/api/v1/users", query={"page_size": "all"}).json()
    assert set(admin_page) == {"count", "next", "previous", "results"}
    assert admin_page["count"] == len(admin_page["results"]) >= 2
    assert all(set(user) == FULL for user in admin_page["results"])
    ids = [user["id"] for user in admin_page["results"]]
    assert ids == sorted(ids)
    mine = next(user for user in admin_page["results"] if user["id"] == me["id"])
    assert mine["groups"] == ["annotator"] and mine["url"] == f"http://testserver/api/v1/users/{me['id']}"
    admin = next(user for user in admin_page["results"] if user["username"] == "admin")
    assert admin["groups"] == ["admin"] and admin["is_staff"] is True and admin["email"] == "admin@example.com"

    first = caller.call("GET", "/api/v1/users", query={"page_size": "1"}).json()
    assert first["count"] == admin_page["count"] and len(first["results"]) == 1
    assert set(first["results"][0]) == BASIC
    assert first["previous"] is None and first["next"] == "http://testserver/api/v1/users?page_size=1&page=2"
    second = caller.call("GET", "/api/v1/users", query={"page_size": "1", "page": "2"}).json()
    assert second["previous"] == "http://testserver/api/v1/users?page_size=1"
    missing = caller.call("GET", "/api/v1/users", query={"page": "999"})
    assert missing.status == 404 and missing.json() == {"detail": "Invalid page."}


def test_a_user_reads_itself_in_full_and_others_basic(api: ApiCaller) -> None:
    """Spec §12 item 20: non-staff reading others get no email, groups, flags or dates."""
    caller, me = _person(api, "user")
    _, other = _person(api)
    own = caller.call("GET", f"/api/v1/users/{me['id']}")
    assert own.status == 200 and own.json() == me
    theirs = caller.call("GET", f"/api/v1/users/{other['id']}")
    assert theirs.status == 200
    assert theirs.json() == {key: other[key] for key in BASIC}
    by_admin = ApiCaller(api.stack).login().call("GET", f"/api/v1/users/{other['id']}")
    assert by_admin.json() == other
    for missing in ("999999", "0", "self-ish"):
        answer = caller.call("GET", f"/api/v1/users/{missing}")
        assert answer.status == 404 and answer.json() == {"detail": "Not found."}
    assert ApiCaller(api.stack).call("GET", f"/api/v1/users/{me['id']}").status == 401


# ---------------------------------------------------------------- changing users


def test_a_user_changes_its_own_names_and_nothing_else(api: ApiCaller) -> None:
    """Spec §12 item 20."""
    caller, me = _person(api, "user")
    _, other = _person(api)
    names = {"first_name": "Grace", "last_name": "Hopper"}
    renamed = caller.call("PATCH", f"/api/v1/users/{me['id']}", json_body=names)
    assert renamed.status == 200
    assert renamed.json() == {**{key: me[key] for key in BASIC}, **names}
    assert caller.call("GET", "/api/v1/users/self").json()["first_name"] == "Grace"

    for field, value, message in (
        ("is_staff", True, "You do not have permissions to access some of these fields: {'is_staff'}"),
        ("is_superuser", True, "You do not have permissions to access some of these fields: {'is_superuser'}"),
        ("groups", ["admin"], "You do not have permissions to access some of these fields: {'groups'}"),
        ("is_active", False, "Got unknown fields: {'is_active'}"),
        ("email", "x@example.com", "Got unknown fields: {'email'}"),
    ):
        refused = caller.call("PATCH", f"/api/v1/users/{me['id']}", json_body={field: value})
        assert refused.status == 400, field
        assert refused.json() == {"non_field_errors": [message]}
    both = caller.call("PATCH", f"/api/v1/users/{me['id']}", json_body={"groups": ["admin"], "is_active": False})
    assert both.json() == {"non_field_errors": [
        "You do not have permissions to access some of these fields: {'groups', 'is_active'}"]}
    assert caller.call("GET", "/api/v1/users/self").json()["groups"] == ["user"]

    rename = caller.call("PATCH", f"/api/v1/users/{me['id']}", json_body={"username": "someone-else"})
    assert rename.status == 400
    assert rename.json() == {"username": ["A username cannot be changed once the user exists."]}
    others = caller.call("PATCH", f"/api/v1/users/{other['id']}", json_body={"first_name": "Mallory"})
    assert others.status == 403
    assert others.json() == {"detail": "You do not have permission to perform this action."}
    put = caller.call("PUT", f"/api/v1/users/{me['id']}", json_body={"first_name": "X"})
    assert put.status == 405 and put.json() == {"detail": 'Method "PUT" not allowed.'}


def test_admins_change_anyones_groups_with_role_names(api: ApiCaller) -> None:
    _, person = _person(api, "annotator")
    admin = ApiCaller(api.stack).login()
    url = f"/api/v1/users/{person['id']}"
    changed = admin.call("PATCH", url, json_body={"groups": ["observer", "user"], "email": "new@example.com",
                                                  "first_name": "Alan", "is_staff": True})
    assert changed.status == 200
    assert set(changed.json()) == FULL
    assert changed.json()["groups"] == ["user", "observer"]
    assert changed.json()["email"] == "new@example.com" and changed.json()["first_name"] == "Alan"
    assert changed.json()["is_staff"] is False  # follows the admin group, not writable
    unknown = admin.call("PATCH", url, json_body={"groups": ["user", "boss"]})
    assert unknown.status == 400 and unknown.json() == {"groups": ["Object with name=boss does not exist."]}
    not_a_list = admin.call("PATCH", url, json_body={"groups": "user"})
    assert not_a_list.status == 400 and "groups" in not_a_list.json()
    cleared = admin.call("PATCH", url, json_body={"groups": [], "first_name": ""})
    assert cleared.json()["groups"] == [] and cleared.json()["first_name"] == ""

    disabled = admin.call("PATCH", url, json_body={"is_active": False})
    assert disabled.json()["is_active"] is False
    auth._cache.clear()
    login = ApiCaller(api.stack).call("POST", "/api/v1/auth/login",
                                      json_body={"username": person["username"], "password": PASSWORD})
    assert login.status == 400
    assert admin.call("PATCH", url, json_body={"is_active": True}).json()["is_active"] is True


# ---------------------------------------------------------------- deleting users


def test_deleting_users_keeps_their_tasks_without_owner(api: ApiCaller) -> None:
    """Spec §12 item 20: DELETE self 204, non-admin DELETE of another 403."""
    owner, me = _person(api, "user")
    _, other = _person(api)
    admin = ApiCaller(api.stack).login()
    task = owner.call("POST", "/api/v1/tasks", json_body={"name": "kept", "labels": [{"name": "car"}]}).json()
    assert admin.call("PATCH", f"/api/v1/tasks/{task['id']}", json_body={"assignee": me["id"]}).status == 200

    refused = owner.call("DELETE", f"/api/v1/users/{other['id']}")
    assert refused.status == 403
    assert owner.call("DELETE", "/api/v1/users/999999").status == 404
    assert owner.call("DELETE", f"/api/v1/users/{me['id']}").status == 204
    assert admin.call("GET", f"/api/v1/users/{me['id']}").status == 404
    # the deleted user's key may still be cached a minute; its own record is gone: 401, not 500
    gone = owner.call("GET", "/api/v1/users/self")
    assert (gone.status, gone.json()) == (401, {"detail": "Invalid token."})
    login = ApiCaller(api.stack).call("POST", "/api/v1/auth/login",
                                      json_body={"username": me["username"], "password": PASSWORD})
    assert login.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}

    kept = admin.call("GET", f"/api/v1/tasks/{task['id']}")
    assert kept.status == 200
    assert (kept.json()["owner"], kept.json()["assignee"]) == (None, None)
    assert admin.call("DELETE", f"/api/v1/users/{other['id']}").status == 204
    assert admin.call("DELETE", f"/api/v1/tasks/{task['id']}").status == 204


# ---------------------------------------------------------------- signed URLs


def _get_signed(api: ApiCaller, url: str, method: str = "GET") -> Answer:
    parts = urlsplit(url)
    return ApiCaller(api.stack).call(method, parts.path, query=dict(parse_qsl(parts.query, keep_blank_values=True)))


def test_a_signed_url_authenticates_a_get_of_exactly_that_url(api: ApiCaller) -> None:
    caller, me = _person(api)
    answer = caller.call("POST", "/api/v1/auth/signing", json_body={"url": "/api/v1/users?page_size=1"})
    assert answer.status == 200
    signed = answer.json()
    assert isinstance(signed, str) and signed.startswith("http://testserver/api/v1/users?page_size=1&sign=")

    opened = _get_signed(api, signed)
    assert opened.status == 200 and opened.json()["count"] >= 1
    self_url = caller.call("POST", "/api/v1/auth/signing", json_body={"url": "/api/v1/users/self"}).json()
    assert _get_signed(api, self_url).json()["username"] == me["username"]

    other_query = _get_signed(api, signed.replace("page_size=1", "page_size=2"))
    assert other_query.status == 401 and other_query.json() == {"detail": "Invalid signature."}
    other_path = _get_signed(api, signed.replace("/api/v1/users?", f"/api/v1/users/{me['id']}?"))
    assert other_path.status == 401 and other_path.json() == {"detail": "Invalid signature."}
    forged = _get_signed(api, signed[:-2] + ("AA" if not signed.endswith("AA") else "BB"))
    assert forged.json() == {"detail": "Invalid signature."}
    patch = _get_signed(api, self_url.replace("/self?", f"/{me['id']}?"), method="PATCH")
    assert patch.status == 401 and patch.json() == {"detail": "Authentication credentials were not provided."}


def test_signed_urls_expire_and_die_with_their_user(api: ApiCaller, monkeypatch: pytest.MonkeyPatch) -> None:
    caller, me = _person(api)
    signed = caller.call("POST", "/api/v1/auth/signing", json_body={"url": "/api/v1/users/self"}).json()
    with monkeypatch.context() as patched:
        patched.setattr(signing, "MAX_AGE_SECONDS", -1)
        expired = _get_signed(api, signed)
    assert expired.status == 401 and expired.json() == {"detail": "This URL has expired."}
    assert caller.call("DELETE", f"/api/v1/users/{me['id']}").status == 204
    gone = _get_signed(api, signed)
    assert gone.status == 401 and gone.json() == {"detail": "User inactive or deleted."}


def test_signing_needs_a_url_and_credentials(api: ApiCaller) -> None:
    admin = ApiCaller(api.stack).login()
    for body in ({}, {"url": ""}):
        missing = admin.call("POST", "/api/v1/auth/signing", json_body=body)
        assert missing.status == 400 and missing.json() == ["Please provide `url` parameter"]
    absolute = admin.call("POST", "/api/v1/auth/signing", json_body={"url": "http://testserver/api/v1/tasks?sign=old"})
    assert absolute.json().startswith("http://testserver/api/v1/tasks?sign=") and "old" not in absolute.json()
    assert ApiCaller(api.stack).call("POST", "/api/v1/auth/signing", json_body={"url": "/api/v1/tasks"}).status == 401


def test_user_routes_need_credentials_even_for_missing_users(api: ApiCaller) -> None:
    """Spec §12 item 1."""
    anonymous = ApiCaller(api.stack)
    for method, path in (("GET", "/api/v1/users"), ("GET", "/api/v1/users/1"), ("PATCH", "/api/v1/users/999999"),
                         ("DELETE", "/api/v1/users/999999"), ("POST", "/api/v1/auth/signing")):
        answer = anonymous.call(method, path, json_body={})
        assert answer.status == 401, (method, path)
        assert answer.json() == {"detail": "Authentication credentials were not provided."}

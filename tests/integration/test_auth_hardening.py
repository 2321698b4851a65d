"""CSRF for cookie sessions, key expiry and revocation, the failed-login throttle and the Basic
credential cache (spec §1.1-§1.3; older variants §4), through the real handlers."""

import base64
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from shared import auth, login_failures, users
from shared.tables import LoginFailuresItem, SessionItem, utcnow
from tests.integration.events import Answer, ApiCaller

PASSWORD = "Pass-12345"
CSRF_BAD = {"detail": "CSRF Failed: CSRF token missing or incorrect."}
TASK = {"name": "csrf", "labels": [{"name": "car"}]}


@pytest.fixture
def username(stack: Any) -> str:
    """A fresh user for each test, so failed logins of one test never lock another's user."""
    name = f"u{uuid.uuid4().hex[:10]}"
    users.create_user(name, PASSWORD, groups=("user",))
    return name


@pytest.fixture(autouse=True)
def _cold_caches() -> Iterator[None]:
    auth._cache.clear()
    yield
    auth._cache.clear()


def login(api: ApiCaller, username: str, password: str = PASSWORD) -> Answer:
    return api.call("POST", "/api/v1/auth/login", data={"username": username, "password": password},
                    content_type="application/x-www-form-urlencoded")


def cookie_session(api: ApiCaller, username: str) -> tuple[str, str]:
    """(sessionid, csrftoken) from a form login, as the v1 client gets them."""
    answer = login(api, username)
    assert answer.status == 200
    cookies = dict(c.split(";", 1)[0].split("=", 1) for c in answer.cookies)
    return cookies["sessionid"], cookies["csrftoken"]


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


# ---------------------------------------------------------------- CSRF (spec §1.1)


def test_cookie_sessions_need_the_csrf_header_on_every_unsafe_method(api: ApiCaller, username: str) -> None:
    key, csrf = cookie_session(api, username)
    cookie = {"Cookie": f"sessionid={key}; csrftoken={csrf}"}
    with_header = {**cookie, "X-CSRFToken": csrf}
    task = api.call("POST", "/api/v1/tasks", json_body=TASK, headers=with_header)
    assert task.status == 201, task.body
    path = f"/api/v1/tasks/{task.json()['id']}"
    for method, target, body in (("POST", "/api/v1/tasks", TASK), ("PUT", path, {"name": "x"}),
                                 ("PATCH", path, {"name": "y"}), ("DELETE", path, None)):
        refused = api.call(method, target, json_body=body, headers=cookie)
        assert refused.status == 403 and refused.json() == CSRF_BAD, method
        wrong = api.call(method, target, json_body=body, headers={**cookie, "X-CSRFToken": csrf[:-1] + "x"})
        assert wrong.status == 403 and wrong.json() == CSRF_BAD, method
    assert api.call("GET", path, headers=cookie).status == 200  # safe methods need no header
    assert api.call("PATCH", path, json_body={"name": "y"}, headers=with_header).status == 200
    assert api.call("PUT", path, json_body={"name": "x", "labels": [{"name": "truck"}]},
                    headers=with_header).status == 200
    assert api.call("DELETE", path, headers=with_header).status == 204


def test_a_session_without_the_csrf_cookie_is_told_so(api: ApiCaller, username: str) -> None:
    key, csrf = cookie_session(api, username)
    answer = api.call("POST", "/api/v1/tasks", json_body=TASK,
                      headers={"Cookie": f"sessionid={key}", "X-CSRFToken": csrf})
    assert answer.status == 403 and answer.json() == {"detail": "CSRF Failed: CSRF cookie not set."}


def test_token_bearer_and_basic_requests_are_exempt(api: ApiCaller, username: str) -> None:
    key = login(api, username).json()["key"]
    for headers in ({"Authorization": f"Token {key}"}, {"Authorization": f"Bearer {key}"}, basic(username, PASSWORD)):
        created = api.call("POST", "/api/v1/tasks", json_body=TASK, headers=headers)
        assert created.status == 201, headers
        assert api.call("DELETE", f"/api/v1/tasks/{created.json()['id']}", headers=headers).status == 204
    # a Token header wins over a session cookie (tried first), so no CSRF either
    both = api.call("POST", "/api/v1/tasks", json_body=TASK,
                    headers={"Authorization": f"Token {key}", "Cookie": f"sessionid={key}"})
    assert both.status == 201
    token = {"Authorization": f"Token {key}"}
    assert api.call("DELETE", f"/api/v1/tasks/{both.json()['id']}", headers=token).status == 204


def test_a_live_session_cookie_is_tried_before_basic(api: ApiCaller, username: str) -> None:
    """Spec §1.1's order: a browser holding both a session and cached Basic credentials is still
    protected; a dead cookie is skipped and Basic authenticates."""
    key, csrf = cookie_session(api, username)
    both = {**basic(username, PASSWORD), "Cookie": f"sessionid={key}; csrftoken={csrf}"}
    assert api.call("POST", "/api/v1/tasks", json_body=TASK, headers=both).json() == CSRF_BAD
    dead = {**basic(username, PASSWORD), "Cookie": "sessionid=0123456789abcdef0123456789abcdef01234567"}
    created = api.call("POST", "/api/v1/tasks", json_body=TASK, headers=dead)
    assert created.status == 201
    assert api.call("DELETE", f"/api/v1/tasks/{created.json()['id']}", headers=dead).status == 204


def test_login_and_logout_check_csrf_only_for_a_live_session(api: ApiCaller, username: str) -> None:
    key, csrf = cookie_session(api, username)
    cookie = {"Cookie": f"sessionid={key}; csrftoken={csrf}"}
    form = {"username": username, "password": PASSWORD}
    relogin = api.call("POST", "/api/v1/auth/login", data=form, headers=cookie,
                       content_type="application/x-www-form-urlencoded")
    assert relogin.status == 403 and relogin.json() == CSRF_BAD  # spec §1.2
    assert api.call("POST", "/api/v1/auth/logout", headers=cookie).json() == CSRF_BAD
    assert api.call("GET", "/api/v1/users/self", headers=cookie).status == 200  # still logged in
    out = api.call("POST", "/api/v1/auth/logout", headers={**cookie, "X-CSRFToken": csrf})
    assert out.status == 200 and out.json() == {"detail": "Successfully logged out."}
    # the cookie is dead now: the same requests are anonymous and need no header
    assert api.call("POST", "/api/v1/auth/logout", headers=cookie).status == 200
    again = api.call("POST", "/api/v1/auth/login", data=form, headers=cookie,
                     content_type="application/x-www-form-urlencoded")
    assert again.status == 200


# ---------------------------------------------------------------- keys: expiry and revocation


def test_an_expired_key_is_refused_like_an_unknown_one(api: ApiCaller, username: str) -> None:
    key, _ = cookie_session(api, username)
    SessionItem.get(auth._hash(key)).update(actions=[SessionItem.expires.set(utcnow() - timedelta(seconds=1))])
    auth._cache.clear()
    expired = api.call("GET", "/api/v1/users/self", headers={"Authorization": f"Token {key}"})
    unknown = api.call("GET", "/api/v1/users/self", headers={"Authorization": "Token " + "0" * 40})
    assert expired.status == unknown.status == 401
    assert expired.json() == unknown.json() == {"detail": "Invalid token."}
    by_cookie = api.call("GET", "/api/v1/users/self", headers={"Cookie": f"sessionid={key}"})
    assert by_cookie.status == 401 and by_cookie.json() == {"detail": "Authentication credentials were not provided."}


def test_logout_revokes_the_key_for_token_and_cookie_alike(api: ApiCaller, username: str) -> None:
    key, csrf = cookie_session(api, username)
    token = {"Authorization": f"Token {key}"}
    assert api.call("GET", "/api/v1/tasks", headers=token).status == 200
    assert api.call("POST", "/api/v1/auth/logout", headers=token).status == 200
    auth._cache.clear()  # as in a Lambda container that never saw the logout
    assert api.call("GET", "/api/v1/tasks", headers=token).json() == {"detail": "Invalid token."}
    assert api.call("GET", "/api/v1/tasks", headers={"Cookie": f"sessionid={key}; csrftoken={csrf}"}).status == 401
    with pytest.raises(SessionItem.DoesNotExist):
        SessionItem.get(auth._hash(key))


def test_expiry_slides_forward_when_a_key_is_used(api: ApiCaller, username: str) -> None:
    key, _ = cookie_session(api, username)
    item = SessionItem.get(auth._hash(key))
    assert abs((item.expires - utcnow()) - auth.SESSION_LIFETIME) < timedelta(minutes=1)
    item.update(actions=[SessionItem.expires.set(utcnow() + timedelta(days=3))])
    auth._cache.clear()
    assert api.call("GET", "/api/v1/users/self", headers={"Authorization": f"Token {key}"}).status == 200
    moved = SessionItem.get(auth._hash(key)).expires
    assert abs((moved - utcnow()) - auth.SESSION_LIFETIME) < timedelta(minutes=1)
    # used again within a day of the last extension: no write
    recent = utcnow() + auth.SESSION_LIFETIME - timedelta(hours=1)
    SessionItem.get(auth._hash(key)).update(actions=[SessionItem.expires.set(recent)])
    auth._cache.clear()
    assert api.call("GET", "/api/v1/users/self", headers={"Authorization": f"Token {key}"}).status == 200
    assert abs(SessionItem.get(auth._hash(key)).expires - recent) < timedelta(seconds=1)


def test_wrong_basic_credentials_do_not_say_which_part_was_wrong(api: ApiCaller, username: str) -> None:
    wrong_password = api.call("GET", "/api/v1/tasks", headers=basic(username, "Wrong-12345"))
    no_such_user = api.call("GET", "/api/v1/tasks", headers=basic(f"x{username}", PASSWORD))
    assert wrong_password.status == no_such_user.status == 401
    assert wrong_password.json() == no_such_user.json() == {"detail": "Invalid username/password."}
    bad_login = login(api, username, "Wrong-12345")
    assert bad_login.status == 400
    assert bad_login.json() == login(api, f"x{username}").json() == {
        "non_field_errors": ["Unable to log in with provided credentials."]}
    assert login(api, "x" * 200).json() == bad_login.json()  # longer than Cognito allows: no 500


# ---------------------------------------------------------------- the failed-login throttle


def attempts(username: str) -> list[float]:
    try:
        return list(LoginFailuresItem.get(f"login-failures#{username}").attempts)
    except LoginFailuresItem.DoesNotExist:
        return []


def assert_throttled(answer: Answer) -> None:
    assert answer.status == 429, answer.body
    retry_after = int(answer.headers["retry-after"])
    assert 0 < retry_after <= login_failures.WINDOW_SECONDS
    assert answer.json()["detail"].startswith("Request was throttled: more than 10 failed logins")
    assert f"Expected available in {retry_after} seconds." in answer.json()["detail"]


def test_the_eleventh_failed_login_in_15_minutes_is_throttled(api: ApiCaller, username: str) -> None:
    for _ in range(10):
        assert login(api, username, "Wrong-12345").status == 400
    assert_throttled(login(api, username, "Wrong-12345"))
    assert_throttled(login(api, username))  # the right password waits too: no oracle for guessing
    assert len(attempts(username)) == 10  # refused attempts are not counted
    assert login(api, "admin", "Admin-12345").status == 200  # per username


def test_successful_logins_neither_count_nor_reset(api: ApiCaller, username: str) -> None:
    for _ in range(5):
        assert login(api, username, "Wrong-12345").status == 400
    assert login(api, username).status == 200
    assert len(attempts(username)) == 5
    for _ in range(5):
        assert login(api, username, "Wrong-12345").status == 400
    assert_throttled(login(api, username, "Wrong-12345"))


def test_the_window_frees_as_failures_age(api: ApiCaller, username: str) -> None:
    for _ in range(10):
        login(api, username, "Wrong-12345")
    answer = login(api, username)
    assert_throttled(answer)
    item = LoginFailuresItem.get(f"login-failures#{username}")
    oldest = min(item.attempts)
    assert abs(int(answer.headers["retry-after"]) - (oldest + login_failures.WINDOW_SECONDS - time.time())) <= 2
    item.attempts = [oldest - login_failures.WINDOW_SECONDS, *sorted(item.attempts)[1:]]  # the first one aged out
    item.save()
    assert login(api, username).status == 200
    assert login(api, username, "Wrong-12345").status == 400  # room for one more failure, not more
    assert_throttled(login(api, username, "Wrong-12345"))
    assert len(attempts(username)) == 10 and min(attempts(username)) > oldest  # the aged attempt is gone


def test_basic_failures_count_and_are_throttled_too(api: ApiCaller, username: str) -> None:
    for _ in range(10):
        assert api.call("GET", "/api/v1/tasks", headers=basic(username, "Wrong-12345")).status == 401
    assert_throttled(api.call("GET", "/api/v1/tasks", headers=basic(username, "Wrong-12345")))
    assert_throttled(api.call("GET", "/api/v1/tasks", headers=basic(username, PASSWORD)))
    assert_throttled(login(api, username))


def test_parallel_guesses_cannot_pass_the_limit(stack: Any) -> None:
    name = f"p{uuid.uuid4().hex[:10]}"
    outcomes: list[str] = []

    def guess() -> None:
        try:
            login_failures.reserve(name)
            outcomes.append("counted")
        except login_failures.TooManyFailedLogins:
            outcomes.append("throttled")

    threads = [threading.Thread(target=guess) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("counted") <= login_failures.LIMIT and len(outcomes) == 16
    assert len(attempts(name)) == outcomes.count("counted")


# ---------------------------------------------------------------- the Basic cache


@pytest.fixture
def cognito_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts password checks that reach Cognito."""
    calls: list[str] = []
    real = users.check_password

    def counting(username: str, password: str) -> bool:
        calls.append(username)
        return real(username, password)

    monkeypatch.setattr(users, "check_password", counting)
    return calls


def test_verified_basic_credentials_are_cached(api: ApiCaller, username: str, cognito_checks: list[str]) -> None:
    good = basic(username, PASSWORD)
    for _ in range(20):  # a 1.0 client polling without delay
        assert api.call("GET", "/api/v1/tasks", headers=good).status == 200
    assert cognito_checks == [username]
    assert attempts(username) == []  # a success takes its reservation back


def test_wrong_basic_credentials_are_never_cached(api: ApiCaller, username: str, cognito_checks: list[str]) -> None:
    for _ in range(3):
        assert api.call("GET", "/api/v1/tasks", headers=basic(username, "Wrong-12345")).status == 401
    assert cognito_checks == [username] * 3
    assert len(attempts(username)) == 3
    assert api.call("GET", "/api/v1/tasks", headers=basic(username, PASSWORD)).status == 200


def test_cached_basic_credentials_never_meet_the_throttle(api: ApiCaller, username: str,
                                                           cognito_checks: list[str]) -> None:
    good = basic(username, PASSWORD)
    assert api.call("GET", "/api/v1/tasks", headers=good).status == 200
    for _ in range(10):
        login(api, username, "Wrong-12345")
    assert_throttled(login(api, username))
    for _ in range(5):
        assert api.call("GET", "/api/v1/tasks", headers=good).status == 200
    assert len(attempts(username)) == 10 and cognito_checks.count(username) == 11

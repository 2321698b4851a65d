"""Login, sessions and authentication of every route (spec §1), through the real handlers."""

import base64

from tests.integration.events import ApiCaller


def test_login_with_form_fields_sets_the_cookies_the_v1_client_needs(api: ApiCaller) -> None:
    answer = api.call("POST", "/api/v1/auth/login", data={"username": "admin", "password": "Admin-12345"},
                      content_type="application/x-www-form-urlencoded")
    assert answer.status == 200
    key = answer.json()["key"]
    assert len(key) == 40 and all(c in "0123456789abcdef" for c in key)
    cookies = {c.split("=", 1)[0]: c for c in answer.cookies}
    assert cookies["sessionid"].startswith(f"sessionid={key};")
    assert "Path=/" in cookies["sessionid"] and "HttpOnly" in cookies["sessionid"]
    assert "Secure" not in cookies["sessionid"]  # plain HTTP locally: a Secure cookie would never come back
    assert cookies["csrftoken"].startswith("csrftoken=") and "Path=/" in cookies["csrftoken"]


def test_login_with_json_and_bad_credentials(api: ApiCaller) -> None:
    ok = api.call("POST", "/api/v1/auth/login", json_body={"username": "admin", "password": "Admin-12345"})
    assert ok.status == 200
    wrong = api.call("POST", "/api/v1/auth/login", json_body={"username": "admin", "password": "nope"})
    assert wrong.status == 400
    assert wrong.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}
    nobody = api.call("POST", "/api/v1/auth/login", json_body={"username": "ghost", "password": "Xx-123456"})
    assert nobody.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}
    missing = api.call("POST", "/api/v1/auth/login", json_body={"username": "admin"})
    assert missing.status == 400 and missing.json() == {"password": ["This field is required."]}
    no_user = api.call("POST", "/api/v1/auth/login", json_body={"password": "x"})
    assert no_user.json() == {"non_field_errors": ['Must include "username" and "password".']}


def test_token_bearer_cookie_and_basic_authenticate(api: ApiCaller) -> None:
    key = api.login().token
    api.token = None
    for headers in ({"Authorization": f"Token {key}"}, {"Authorization": f"Bearer {key}"},
                    {"Cookie": f"sessionid={key}"},
                    {"Authorization": "Basic " + base64.b64encode(b"admin:Admin-12345").decode()}):
        answer = api.call("GET", "/api/v1/users/self", headers=headers)
        assert answer.status == 200, headers
        assert answer.json()["username"] == "admin"
        assert answer.json()["groups"] == ["admin"] and answer.json()["is_superuser"] is True


def test_anonymous_and_wrong_credentials_get_401(api: ApiCaller) -> None:
    for path in ("/api/v1/users/self", "/api/v1/tasks", "/api/v1/tasks/999", "/api/v1/server/about",
                 "/api/v1/tasks/1/status", "/api/v1/tasks/1/data/meta", "/api/v1/server/share"):
        answer = api.call("GET", path)
        assert answer.status == 401, path
        assert answer.json() == {"detail": "Authentication credentials were not provided."}
        assert answer.headers["www-authenticate"] == "Token"
    bad = api.call("GET", "/api/v1/tasks", headers={"Authorization": "Token 0123456789abcdef0123456789abcdef01234567"})
    assert bad.status == 401 and bad.json() == {"detail": "Invalid token."}
    basic = api.call("GET", "/api/v1/tasks",
                     headers={"Authorization": "Basic " + base64.b64encode(b"admin:wrong").decode()})
    assert basic.status == 401 and basic.json() == {"detail": "Invalid username/password."}


def test_logout_revokes_the_key(api: ApiCaller) -> None:
    key = api.login().token
    assert api.call("GET", "/api/v1/users/self").status == 200
    out = api.call("POST", "/api/v1/auth/logout")
    assert out.status == 200 and out.json() == {"detail": "Successfully logged out."}
    from shared import auth

    auth._cache.clear()  # another Lambda container never saw the key
    again = api.call("GET", "/api/v1/users/self", headers={"Authorization": f"Token {key}"})
    assert again.status == 401 and again.json() == {"detail": "Invalid token."}
    anonymous = ApiCaller(api.stack).call("POST", "/api/v1/auth/logout")
    assert anonymous.status == 200


def test_sessions_expire(api: ApiCaller) -> None:
    from datetime import timedelta

    from shared import auth
    from shared.tables import SessionItem, utcnow

    key = api.login().token
    assert key is not None
    item = SessionItem.get(auth._hash(key))
    item.update(actions=[SessionItem.expires.set(utcnow() - timedelta(seconds=1))])
    auth._cache.clear()
    assert api.call("GET", "/api/v1/users/self").status == 401


def test_unrouted_methods_answer_405_and_unknown_paths_404(api: ApiCaller) -> None:
    api.login()
    answer = api.call("PUT", "/api/v1/auth/login")
    assert answer.status == 405 and answer.json() == {"detail": 'Method "PUT" not allowed.'}
    assert api.call("GET", "/api/v1/auth/logout").json() == {"detail": 'Method "GET" not allowed.'}
    assert api.call("DELETE", "/api/v1/tasks").status == 405
    assert api.call("POST", "/api/v1/tasks/1/status").status == 405
    missing = api.call("GET", "/api/v1/nothing/here")
    assert missing.status == 404 and missing.json() == {"detail": "Not found."}
    assert api.call("GET", "/api/v1/tasks/").status == 404  # no trailing slashes (spec §0)
    # without credentials: 401 before 405, except on the anonymous paths (as DRF answers)
    anonymous = ApiCaller(api.stack)
    assert anonymous.call("DELETE", "/api/v1/tasks").status == 401
    assert anonymous.call("POST", "/api/v1/jobs/1").status == 401
    assert anonymous.call("PUT", "/api/v1/auth/login").status == 405
    assert anonymous.call("GET", "/api/v1/nothing/here").status == 404

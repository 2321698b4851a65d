"""POST /api/v1/auth/login: a session key, and the sessionid and csrftoken cookies (spec §1.2)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from apigw.app import body, create_app, is_https, json_response, lambda_handler
from apigw.credentials import CSRF_COOKIE, SESSION_COOKIE
from apigw.docs import answers, request_body
from shared import auth
from shared.schemas import LoginAnswer, LoginRequest

app = create_app(public=True)
_YEAR = 365 * 24 * 3600


@app.post("/api/v1/auth/login",
          responses=answers(200, LoginAnswer, "Logged in", _400={"description": "Bad credentials"}),
          openapi_extensions=request_body(LoginRequest), tags=["auth"])
def login() -> Response[Any]:
    session = auth.login_with(body(app))
    secure = is_https(app)
    cookies = [
        Cookie(SESSION_COOKIE, session.key, path="/", secure=secure, http_only=True,
               max_age=int(auth.SESSION_LIFETIME.total_seconds()), same_site=SameSite.LAX_MODE),
        Cookie(CSRF_COOKIE, session.csrf_token, path="/", secure=secure, max_age=_YEAR,
               same_site=SameSite.LAX_MODE),
    ]
    return json_response(200, {"key": session.key}, cookies=cookies)


handler = lambda_handler(app)

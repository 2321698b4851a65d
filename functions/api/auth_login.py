"""POST /api/v1/auth/login: a session key, and the sessionid and csrftoken cookies (spec §1.2)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.app import body, create_app, json_response, lambda_handler, session_cookies
from apigw.credentials import protect_session
from apigw.docs import answers, request_body
from shared import auth
from shared.schemas import LoginAnswer, LoginRequest

app = create_app(public=True)


@app.post("/api/v1/auth/login",
          responses=answers(200, LoginAnswer, "Logged in", _400={"description": "Bad credentials"},
                            _429={"description": "More than 10 failed logins for this username in 15 minutes"}),
          openapi_extensions=request_body(LoginRequest), tags=["auth"])
def login() -> Response[Any]:
    event = app.current_event
    protect_session(event.http_method, event.headers, event.cookies or [])
    session = auth.login_with(body(app))
    return json_response(200, {"key": session.key}, cookies=session_cookies(app, session))


handler = lambda_handler(app)

"""POST /api/v1/auth/logout: revokes the caller's session key (spec §1.3). Anonymous callers get 200 too;
a live session cookie without its X-CSRFToken header gets 403, as DRF's session authentication does."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie

from apigw.app import create_app, json_response, lambda_handler
from apigw.credentials import CSRF_COOKIE, SESSION_COOKIE, protect_session, session_key
from apigw.docs import answers
from shared import auth

app = create_app(public=True)


@app.post("/api/v1/auth/logout", responses=answers(200, None, "Logged out (also when not logged in)"), tags=["auth"])
def logout() -> Response[Any]:
    event = app.current_event
    protect_session(event.http_method, event.headers, event.cookies or [])
    key = session_key(event.headers, event.cookies or [])
    if key:
        auth.logout(key)
    expired = [Cookie(name, "", path="/", max_age=0) for name in (SESSION_COOKIE, CSRF_COOKIE)]
    return json_response(200, {"detail": "Successfully logged out."}, cookies=expired)


handler = lambda_handler(app)

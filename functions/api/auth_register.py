"""POST /api/v1/auth/register: a new user, in no role group until an admin adds one, signed in
at once with the session cookies login sets (spec §1.4)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.app import body, create_app, json_response, lambda_handler, session_cookies
from apigw.credentials import protect_session
from apigw.docs import answers, request_body
from shared import auth, users
from shared.schemas import RegisterAnswer, RegisterRequest

app = create_app(public=True)


@app.post("/api/v1/auth/register",
          responses=answers(201, RegisterAnswer, "Registered and signed in",
                            _400={"description": "Invalid fields, or a required agreement not accepted"}),
          openapi_extensions=request_body(RegisterRequest), tags=["auth"])
def register() -> Response[Any]:
    event = app.current_event
    protect_session(event.http_method, event.headers, event.cookies or [])  # as DRF does for a live session
    registration = users.register(body(app))
    session = auth.login(registration.username, registration.password1)
    return json_response(201, users.registration_view(registration), cookies=session_cookies(app, session))


handler = lambda_handler(app)

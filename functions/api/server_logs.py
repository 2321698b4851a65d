"""POST /api/v1/server/logs: a list of client events, logged (spec §11)."""

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.app import create_app, json_response, lambda_handler, principal, raw_body
from apigw.docs import answers
from shared import server
from shared.errors import ValidationFailed
from shared.schemas import ClientEvent

app = create_app()


@app.post("/api/v1/server/logs", responses=answers(201, list[ClientEvent], "Logged"), tags=["server"])
def client_logs() -> Response[Any]:
    try:
        events = json.loads(raw_body(app) or b"[]")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValidationFailed({"detail": f"JSON parse error - {error}"}) from None
    return json_response(201, server.log_client_events(principal(app), events))


handler = lambda_handler(app)

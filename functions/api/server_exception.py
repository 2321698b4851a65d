"""POST /api/v1/server/exception: a client's error report, logged (spec §11)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.app import body, create_app, json_response, lambda_handler, principal
from apigw.docs import answers, request_body
from shared import server
from shared.schemas import ClientException

app = create_app()


@app.post("/api/v1/server/exception", responses=answers(201, ClientException, "Logged"),
          openapi_extensions=request_body(ClientException), tags=["server"])
def client_exception() -> Response[Any]:
    return json_response(201, server.log_client_exception(principal(app), body(app)))


handler = lambda_handler(app)

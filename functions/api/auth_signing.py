"""POST /api/v1/auth/signing: a link to one URL that authenticates a GET as the caller for 30
seconds, for browsers opening images and downloads (spec §1.5)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.app import base_url, body, create_app, json_response, lambda_handler, principal
from apigw.docs import answers, request_body
from shared import signing
from shared.schemas import SigningRequest

app = create_app()


@app.post("/api/v1/auth/signing",
          responses=answers(200, str, "The URL with `sign=`", _400={"description": "No `url`"}),
          openapi_extensions=request_body(SigningRequest), tags=["auth"])
def sign() -> Response[Any]:
    url = body(app).get("url")
    return json_response(200, signing.sign(principal(app), str(url) if url else None, base_url(app)))


handler = lambda_handler(app)

"""GET /api/swagger (Swagger UI) and /api/swagger.json: the OpenAPI document, generated from the
pydantic models of every API function's resolver (Powertools OpenAPIMerge). Anonymous."""

import json
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBase

from apigw.app import lambda_handler

app = APIGatewayHttpResolver()
_HERE = Path(__file__).resolve().parent


@app.get("/api/swagger.json", include_in_schema=False)
def document() -> Response[Any]:
    return Response(200, "application/json", openapi_json())


@app.get("/api/swagger", include_in_schema=False)
def swagger_ui() -> Response[Any]:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    html = generate_swagger_html(
        openapi_json().replace("</", "<\\/"),
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "", None, False,
    )
    return Response(200, "text/html", html)


@cache
def openapi_json() -> str:
    return json.dumps(openapi_document(), indent=1)


def openapi_document() -> dict[str, Any]:
    merge = OpenAPIMerge(
        title="CVAT v1 task API",
        version="1.2",
        description="The /api/v1 task API of CVAT 1.2 on API Gateway, Lambda, DynamoDB, S3 and Step Functions.",
        security_schemes={
            "token": APIKey.model_validate({
                "name": "Authorization", "in": APIKeyIn.header,
                "description": "`Token <key>` or `Bearer <key>`, the key from /api/v1/auth/login"}),
            "session": APIKey.model_validate({"name": "sessionid", "in": APIKeyIn.cookie,
                                              "description": "The cookie login sets"}),
            "basic": HTTPBase(scheme="basic"),
        },
        security=[{"token": []}, {"session": []}, {"basic": []}],
        on_conflict="first",
    )
    for path in sorted(_HERE.glob("*.py")):
        if path.stem not in ("__init__", "api_docs", "fallback"):
            merge.add_file(path)
    return _register_request_schemas(json.loads(merge.get_openapi_json_schema()))


def _register_request_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """Request bodies documented through openapi_extensions carry their schemas along
    (x-cvat-schemas); they belong in components. Invalid requests answer 400 in CVAT's
    shapes, never Powertools' 422."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                schemas.update(operation.pop("x-cvat-schemas", {}))
                operation.get("responses", {}).pop("422", None)
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    return document


handler = lambda_handler(app)

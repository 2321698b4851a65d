"""OpenAPI response documentation for routes whose handlers shape their own responses."""

from typing import Any

from pydantic import BaseModel


def answers(status: int, model: type[BaseModel] | Any | None, description: str,
            **more: dict[str, Any]) -> dict[int, Any]:
    """`responses=` for a route: the main answer's model, plus the error answers every route has."""
    documented: dict[int, Any] = {
        status: {"description": description,
                 **({"content": {"application/json": {"model": model}}} if model is not None else {})},
        401: {"description": "No or invalid credentials"},
    }
    for code, spec in more.items():
        documented[int(code.lstrip("_"))] = spec
    return documented


def request_body(model: type[BaseModel], *media_types: str) -> dict[str, Any]:
    """`openapi_extensions=` documenting a request body that the handler parses itself (CVAT
    accepts JSON, form and multipart bodies alike). The referenced schemas are registered by
    api_docs when it builds the document."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    definitions[model.__name__] = schema
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    types = media_types or ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")
    return {
        "requestBody": {"required": True, "content": {t: {"schema": ref} for t in types}},
        "x-cvat-schemas": definitions,
    }

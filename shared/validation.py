"""Validation of request data with pydantic, reported in the shapes of CVAT v1 (Django REST
framework): `{"field": ["message"]}`, nested lists mirroring the input, `non_field_errors`."""

from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from shared.errors import ValidationFailed


def validate[M: BaseModel](model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ValidationFailed(drf_errors(error)) from None


def drf_errors(error: ValidationError) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for detail in error.errors():
        location = [part for part in detail["loc"] if part != "__root__"]
        # pydantic names a tagged/union branch in the location; DRF does not
        location = [part for part in location if not (isinstance(part, str) and part.startswith("function-"))]
        _insert(tree, location or ["non_field_errors"], drf_message(detail))
    return tree


def drf_message(detail: ErrorDetails) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    given = detail.get("input")
    messages = {
        "missing": "This field is required.",
        "string_too_long": f"Ensure this field has no more than {ctx.get('max_length')} characters.",
        "string_too_short": "This field may not be blank.",
        "too_short": "This list may not be empty." if ctx.get("min_length") == 1
        else f"Ensure this field has at least {ctx.get('min_length')} elements.",
        "greater_than_equal": f"Ensure this value is greater than or equal to {ctx.get('ge')}.",
        "less_than_equal": f"Ensure this value is less than or equal to {ctx.get('le')}.",
        "greater_than": f"Ensure this value is greater than {ctx.get('gt')}.",
        "int_parsing": "A valid integer is required.",
        "int_type": "A valid integer is required.",
        "int_from_float": "A valid integer is required.",
        "float_parsing": "A valid number is required.",
        "float_type": "A valid number is required.",
        "bool_parsing": "Must be a valid boolean.",
        "bool_type": "Must be a valid boolean.",
        "string_type": "Not a valid string.",
        "list_type": f'Expected a list of items but got type "{type(given).__name__}".',
        "dict_type": f"Invalid data. Expected a dictionary, but got {type(given).__name__}.",
        "model_type": f"Invalid data. Expected a dictionary, but got {type(given).__name__}.",
        "literal_error": f'"{given}" is not a valid choice.',
        "enum": f'"{given}" is not a valid choice.',
        "extra_forbidden": "Unknown field.",
    }
    if kind == "value_error":
        return str(ctx.get("error", detail["msg"]))
    return messages.get(kind, detail["msg"])


def _insert(tree: Any, location: list[Any], message: str) -> None:
    key, rest = location[0], location[1:]
    if isinstance(key, int):
        # tree is a list mirroring the input list; untouched items stay {}
        while len(tree) <= key:
            tree.append({})
        if not rest:
            tree[key] = [message]
            return
        child = tree[key]
        if not isinstance(child, (dict, list)) or (isinstance(child, dict) and isinstance(rest[0], int)):
            child = [] if isinstance(rest[0], int) else {}
            tree[key] = child
        _insert(child, rest, message)
        return
    if not rest:
        existing = tree.setdefault(str(key), [])
        if isinstance(existing, list) and all(isinstance(m, str) for m in existing):
            existing.append(message)
        return
    child = tree.get(str(key))
    if child is None or (isinstance(child, list) and child and all(isinstance(m, str) for m in child)):
        child = [] if isinstance(rest[0], int) else {}
        tree[str(key)] = child
    _insert(child, rest, message)

"""Request bodies in CVAT's three encodings, and the gateway's routing of template.yaml."""

import json

import pytest

from apigw.body import UploadedFile, parse_body
from apigw.credentials import cookie_value
from local.gateway import Gateway
from local.stack import Route, Stack
from shared.errors import PayloadTooLarge, ValidationFailed


def test_form_bodies_fold_indexed_keys_into_lists_in_index_order() -> None:
    body = b"server_files%5B2%5D=c.jpg&server_files%5B0%5D=a.jpg&image_quality=70&server_files=x&server_files=y"
    parsed = parse_body("application/x-www-form-urlencoded", body, limit=1000)
    assert parsed == {"server_files": ["a.jpg", "c.jpg"], "image_quality": "70"}


def test_multipart_bodies_carry_files_and_fields() -> None:
    boundary = "XyZ"
    parts = [
        ('Content-Disposition: form-data; name="image_quality"', b"75"),
        ('Content-Disposition: form-data; name="client_files[1]"; filename="b.png"\r\nContent-Type: image/png',
         b"\x89PNG\r\n\x00\xff"),
        ("Content-Disposition: form-data; name=\"client_files[0]\"; filename*=UTF-8''%C3%A9t%C3%A9.jpg",
         b"\xff\xd8\xff"),
    ]
    body = b"".join(f"--{boundary}\r\n{head}\r\n\r\n".encode() + content + b"\r\n" for head, content in parts)
    body += f"--{boundary}--\r\n".encode()
    parsed = parse_body(f"multipart/form-data; boundary={boundary}", body, limit=10_000)
    assert parsed["image_quality"] == "75"
    first, second = parsed["client_files"]
    assert first == UploadedFile("été.jpg", b"\xff\xd8\xff", "application/octet-stream")
    assert second.filename == "b.png" and second.content == b"\x89PNG\r\n\x00\xff"


def test_json_bodies_and_their_errors() -> None:
    assert parse_body("application/json", json.dumps({"a": [1]}).encode(), limit=100) == {"a": [1]}
    assert parse_body("", b"", limit=100) == {}
    with pytest.raises(ValidationFailed) as bad:
        parse_body("application/json", b"{", limit=100)
    assert bad.value.body["detail"].startswith("JSON parse error - Expecting property name")
    with pytest.raises(PayloadTooLarge) as large:
        parse_body("application/json", b"x" * 101, limit=100)
    assert "101 bytes" in large.value.detail and "/uploads" in large.value.detail


def test_cookie_values() -> None:
    assert cookie_value(["csrftoken=abc", "sessionid=k1"], "sessionid") == "k1"
    assert cookie_value(["a=1; sessionid=k2"], "sessionid") == "k2"
    assert cookie_value(["sessionid="], "sessionid") is None


def test_template_routes_every_action_to_its_own_function() -> None:
    stack = Stack()
    routes = _routes(stack)
    seen = {(r.method, r.path): r.function for r in routes if r.method != "ANY"}
    assert seen[("GET", "/api/v1/tasks")] == "TasksListFunction"
    assert seen[("POST", "/api/v1/tasks")] == "TasksCreateFunction"
    assert seen[("GET", "/api/v1/tasks/{id}/data")] == "TasksDataReadFunction"
    assert seen[("POST", "/api/v1/tasks/{id}/data")] == "TasksDataAttachFunction"
    functions = {f for (method, _), f in seen.items()}
    assert len(functions) >= 19


def _routes(stack: Stack) -> list[Route]:
    routes = []
    for name, resource in stack.template["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                routes.append(Route(event["Properties"]["Method"].upper(), event["Properties"]["Path"], name))
    return routes


def test_gateway_prefers_exact_methods_then_literal_paths_then_any() -> None:
    stack = Stack()
    gateway = Gateway.__new__(Gateway)
    from local.gateway import _compile

    gateway.routes = [_compile(r) for r in _routes(stack)]
    assert gateway.match("GET", "/api/v1/tasks/7")[0].route.function == "TasksRetrieveFunction"  # type: ignore[index]
    found = gateway.match("GET", "/api/v1/tasks/7/data/meta")
    assert found is not None and found[0].route.function == "TasksDataMetaFunction" and found[1] == {"id": "7"}
    assert gateway.match("POST", "/api/v1/tasks/7/status")[0].route_key == "ANY /api/v1/tasks/{id}/status"  # type: ignore[index]
    assert gateway.match("GET", "/nowhere")[0].route_key == "ANY /{proxy+}"  # type: ignore[index]


def test_moto_lists_its_modules_once() -> None:
    from moto import backends

    from local.runtime import _cache_moto_module_list

    _cache_moto_module_list()
    first = backends.list_of_moto_modules()
    assert "s3" in first and "dynamodb" in first and "stepfunctions" in first
    assert backends.list_of_moto_modules() is first

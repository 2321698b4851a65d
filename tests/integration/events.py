"""Builds API Gateway payload 2.0 events the way the gateway does, and calls the handler that
template.yaml routes them to."""

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.test import EnvironBuilder

from local.gateway import Gateway
from local.stack import Stack


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ApiCaller:
    """Calls handlers with real events (through the local gateway's event builder)."""

    stack: Stack
    token: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.gateway = Gateway(self.stack)

    def login(self, username: str = "admin", password: str = "Admin-12345") -> "ApiCaller":
        answer = self.call("POST", "/api/v1/auth/login", json_body={"username": username, "password": password})
        assert answer.status == 200, answer.body
        self.token = answer.json()["key"]
        return self

    def call(self, method: str, path: str, *, query: dict[str, Any] | None = None, json_body: Any = None,
             data: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None,
             content_type: str | None = None) -> Answer:
        all_headers = {**self.headers, **(headers or {})}
        if self.token and "Authorization" not in all_headers:
            all_headers["Authorization"] = f"Token {self.token}"
        builder = EnvironBuilder(
            method=method, path=path, query_string=urlencode(query or {}, doseq=True), headers=all_headers,
            json=json_body, data=raw if raw is not None else data, content_type=content_type,
            base_url="http://testserver",
        )
        request = builder.get_request()
        response = self.gateway.handle(request)
        return Answer(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            cookies=response.headers.getlist("Set-Cookie"),
            body=response.get_data(),
        )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()

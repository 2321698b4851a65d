"""API Gateway (HTTP API, payload format 2.0) in front of the in-process handlers.

Each request becomes the event API Gateway would send to the function that template.yaml routes
it to; the handler's answer becomes the HTTP response. Route priority, CORS preflight and the
payload limits follow API Gateway's documented behaviour.
"""

import base64
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from local.stack import Route, Stack

log = logging.getLogger("local.gateway")

LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024
_TEXT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/", "application/xml")


@dataclass(frozen=True)
class _CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    literal_segments: int
    greedy: bool

    @property
    def route_key(self) -> str:
        return f"{self.route.method} {self.route.path}"


def _compile(route: Route) -> _CompiledRoute:
    regex = ""
    literal = 0
    greedy = False
    for segment in route.path.strip("/").split("/"):
        if segment.endswith("+}"):
            regex += f"/(?P<{segment[1:-2]}>.+)"
            greedy = True
        elif segment.startswith("{"):
            regex += f"/(?P<{segment[1:-1]}>[^/]+)"
        else:
            regex += "/" + re.escape(segment)
            literal += 1
    return _CompiledRoute(route, re.compile(f"^{regex}$"), literal, greedy)


class Gateway:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.routes = [_compile(route) for route in stack.routes]
        cors = next(iter(_http_apis(stack))).get("CorsConfiguration", {})
        self.cors = stack_resolve(stack, cors)
        # named stages (the 1.0 compatibility entry point) answer under /<stage name>/...
        self.stages = {str(p["StageName"]): dict(p.get("StageVariables") or {}) for p in _stages(stack)}

    def stage_of(self, path: str) -> tuple[str, str, dict[str, str]]:
        """(stage name, path without the stage, stage variables) of a request path."""
        for name, variables in self.stages.items():
            if path.startswith(f"/{name}/"):
                return name, path[len(name) + 1:], variables
        return "$default", path, {}

    def match(self, method: str, path: str) -> tuple[_CompiledRoute, dict[str, str]] | None:
        candidates = []
        for compiled in self.routes:
            found = compiled.pattern.match(path)
            if found and compiled.route.method in (method, "ANY"):
                rank = (compiled.greedy, -compiled.literal_segments, compiled.route.method == "ANY")
                candidates.append((rank, compiled, found.groupdict()))
        if not candidates:
            return None
        _, compiled, params = min(candidates, key=lambda c: c[0])
        return compiled, params

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS" and origin and request.headers.get("Access-Control-Request-Method"):
            return self._preflight(origin)
        matched = self.match(request.method, self.stage_of(request.path)[1])
        response = _json(404, {"message": "Not Found"}) if matched is None else self._invoke(request, *matched)
        if origin:
            self._cors_headers(response, origin)
        return response

    def _invoke(self, request: Request, compiled: _CompiledRoute, params: dict[str, str]) -> Response:
        event = self.event(request, compiled, params)
        if len(json.dumps(event)) > LAMBDA_PAYLOAD_LIMIT:
            return _json(413, {"message": "Request Entity Too Large"})
        try:
            result = self.stack.invoke(compiled.route.function, event)
        except Exception:
            log.exception("%s failed", compiled.route.function)
            return _json(500, {"message": "Internal Server Error"})
        if len(json.dumps(result)) > LAMBDA_PAYLOAD_LIMIT:
            log.error("%s answered more than Lambda's 6 MB", compiled.route.function)
            return _json(502, {"message": "Internal Server Error"})
        return _response(result)

    def event(self, request: Request, compiled: _CompiledRoute, params: dict[str, str]) -> dict[str, Any]:
        body = request.get_data()
        content_type = request.headers.get("Content-Type", "")
        textual = not content_type or content_type.startswith(_TEXT_TYPES)
        headers: dict[str, str] = {}
        for key, value in request.headers.items():
            if key.lower() == "cookie":
                continue
            headers[key.lower()] = f"{headers[key.lower()]},{value}" if key.lower() in headers else value
        headers.setdefault("x-forwarded-proto", request.scheme)
        query: dict[str, str] = {}
        for key, value in parse_qsl(request.query_string.decode(), keep_blank_values=True):
            query[key] = f"{query[key]},{value}" if key in query else value
        cookies = [c.strip() for c in request.headers.get("Cookie", "").split(";") if c.strip()]
        now = time.time()
        stage, _, variables = self.stage_of(request.path)
        return {
            "version": "2.0",
            "routeKey": compiled.route_key,
            "rawPath": request.path,
            "rawQueryString": request.query_string.decode(),
            "cookies": cookies or None,
            "headers": headers,
            "queryStringParameters": query or None,
            "pathParameters": params or None,
            "requestContext": {
                "accountId": self.stack.context.account_id,
                "apiId": "local",
                "domainName": request.host,
                "domainPrefix": request.host.split(".")[0],
                "http": {
                    "method": request.method,
                    "path": request.path,
                    "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                    "sourceIp": request.remote_addr or "127.0.0.1",
                    "userAgent": request.headers.get("User-Agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": compiled.route_key,
                "stage": stage,
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
            },
            "body": (body.decode("utf-8", "replace") if textual else base64.b64encode(body).decode()) if body else None,
            "isBase64Encoded": bool(body) and not textual,
            "stageVariables": variables or None,
        }

    def _preflight(self, origin: str) -> Response:
        response = Response(status=204)
        self._cors_headers(response, origin)
        response.headers["Access-Control-Allow-Methods"] = ",".join(self.cors.get("AllowMethods", ["*"]))
        response.headers["Access-Control-Allow-Headers"] = ",".join(self.cors.get("AllowHeaders", ["*"]))
        response.headers["Access-Control-Max-Age"] = str(self.cors.get("MaxAge", 0))
        return response

    def _cors_headers(self, response: Response, origin: str) -> None:
        allowed = self.cors.get("AllowOrigins", [])
        if "*" in allowed or origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
            if self.cors.get("ExposeHeaders"):
                response.headers["Access-Control-Expose-Headers"] = ",".join(self.cors["ExposeHeaders"])


def _http_apis(stack: Stack) -> list[dict[str, Any]]:
    return [r.get("Properties", {}) for r in stack.template["Resources"].values()
            if r["Type"] == "AWS::Serverless::HttpApi"]


def _stages(stack: Stack) -> list[dict[str, Any]]:
    return [r.get("Properties", {}) for r in stack.template["Resources"].values()
            if r["Type"] == "AWS::ApiGatewayV2::Stage"]


def stack_resolve(stack: Stack, value: Any) -> Any:
    from local.template import resolve

    return resolve(value, stack.context)


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _response(result: Any) -> Response:
    if not isinstance(result, dict) or "statusCode" not in result:
        # payload 2.0: a bare value is a 200 JSON answer
        return _json(200, result)
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(data, status=int(result["statusCode"]))
    response.headers.pop("Content-Type", None)
    for key, value in (result.get("headers") or {}).items():
        response.headers[key] = str(value)
    for key, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(key, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response

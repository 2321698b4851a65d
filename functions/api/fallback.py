"""Every method a path does not route answers 405 and every unknown path 404, in CVAT's words
(spec §0). API Gateway sends here what no other route matches. As in CVAT, a caller without
credentials hears 401 before 405 on every path but the anonymous ones."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from apigw import credentials
from apigw.app import detail, lambda_handler
from shared.errors import NotAuthenticated, PermissionDenied

app = APIGatewayHttpResolver(strip_prefixes=["/legacy"])
ANONYMOUS = ("/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/auth/register", "/api/v1/restrictions/")


@app.not_found
def fallback(_: Exception) -> Response[Any]:
    event = app.current_event
    if event.raw_event.get("routeKey", "").endswith("/{proxy+}"):
        return detail(404, "Not found.")
    path = event.path.removeprefix("/legacy")
    if not path.startswith(ANONYMOUS):
        try:
            credentials.authenticate(event.request_context.http.method, event.headers, event.cookies or [])
        except NotAuthenticated as refused:
            return detail(401, refused.detail, {"WWW-Authenticate": "Token"})
        except PermissionDenied as refused:
            return detail(403, refused.detail)
    return detail(405, f'Method "{event.request_context.http.method}" not allowed.')


handler = lambda_handler(app)

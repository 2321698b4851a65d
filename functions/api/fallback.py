"""Every method a path does not route answers 405 and every unknown path 404, in CVAT's words
(spec §0). API Gateway sends here what no other route matches."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from apigw.app import detail, lambda_handler

app = APIGatewayHttpResolver()


@app.not_found
def fallback(_: Exception) -> Response[Any]:
    event = app.current_event
    if event.raw_event.get("routeKey", "").endswith("/{proxy+}"):
        return detail(404, "Not found.")
    return detail(405, f'Method "{event.request_context.http.method}" not allowed.')


handler = lambda_handler(app)

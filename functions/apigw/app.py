"""The resolver every API function uses: Powertools' HTTP API resolver with validation (for the
OpenAPI document), the shared authentication middleware, and one mapping of domain errors to
CVAT's status codes and bodies."""

import base64
import json
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext

from apigw import credentials
from apigw.body import MEDIA_UPLOADS, parse_body
from shared import auth
from shared.annotation_store import WriteConflict
from shared.auth import Principal
from shared.config import settings
from shared.errors import (
    FormatDisabled,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    PreconditionFailed,
    RequestInProgress,
    ValidationFailed,
)
from shared.login_failures import TooManyFailedLogins

logger = Logger()
metrics = Metrics()
warnings.filterwarnings("ignore", message="No application metrics to publish")

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def create_app(*, public: bool = False) -> APIGatewayHttpResolver:
    """A resolver for one action. Unless `public`, callers must authenticate first."""
    # the 1.0 compatibility stage (template.yaml, LegacyStage) puts its name before the path
    app = APIGatewayHttpResolver(enable_validation=True, strip_prefixes=["/legacy"])
    _map_errors(app)
    if not public:
        app.use(middlewares=[_authenticate])
    return app


def lambda_handler(app: APIGatewayHttpResolver) -> Handler:
    # No Powertools Tracer here: the X-Ray SDK adds 200-400 ms to every cold start of the API.
    # Lambda's active tracing (template.yaml) still traces each invocation; the workflow steps,
    # where the time goes, record subsegments with Tracer.
    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return handler


# ---------------------------------------------------------------- request helpers


def principal(app: APIGatewayHttpResolver) -> Principal:
    return app.context["principal"]


def base_url(app: APIGatewayHttpResolver) -> str:
    """scheme://host of the request, for the absolute `url` fields (spec §0)."""
    headers = app.current_event.headers
    host = headers.get("host") or app.current_event.request_context.domain_name
    scheme = headers.get("x-forwarded-proto", "https")
    return f"{scheme}://{host}"


def is_https(app: APIGatewayHttpResolver) -> bool:
    return base_url(app).startswith("https://")


_YEAR = 365 * 24 * 3600


def session_cookies(app: APIGatewayHttpResolver, session: auth.Session) -> list[Cookie]:
    """The sessionid and csrftoken cookies of a login (spec §1.2, §1.7): the v1 client keeps
    only these and sends the csrftoken back as X-CSRFToken."""
    secure = is_https(app)
    return [
        Cookie(credentials.SESSION_COOKIE, session.key, path="/", secure=secure, http_only=True,
               max_age=int(auth.SESSION_LIFETIME.total_seconds()), same_site=SameSite.LAX_MODE),
        Cookie(credentials.CSRF_COOKIE, session.csrf_token, path="/", secure=secure, max_age=_YEAR,
               same_site=SameSite.LAX_MODE),
    ]


def query(app: APIGatewayHttpResolver) -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


def compat(app: APIGatewayHttpResolver) -> str:
    """The client family an entry point serves: "1.0-beta" on the 1.0 compatibility stage
    (older variants §3), "" on the default one."""
    return str((app.current_event.stage_variables or {}).get("compat", ""))


def body(app: APIGatewayHttpResolver, *, too_large: str = MEDIA_UPLOADS) -> dict[str, Any]:
    return parse_body(
        app.current_event.headers.get("content-type", ""),
        raw_body(app),
        limit=settings().max_request_body,
        too_large=too_large,
    )


def raw_body(app: APIGatewayHttpResolver) -> bytes:
    event = app.current_event
    if event.body is None:
        return b""
    if event.is_base64_encoded:
        return base64.b64decode(event.body)
    return event.body.encode()


# ---------------------------------------------------------------- responses


def json_response(status: int, content: Any, *, headers: dict[str, str] | None = None,
                  cookies: list[Cookie] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(content, ensure_ascii=False),
        headers=headers,
        cookies=cookies,
    )


def binary_response(content: bytes, content_type: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=200, content_type=content_type, body=content, headers=headers)


def redirect(location: str) -> Response:
    return Response(status_code=302, content_type="application/json", body="", headers={"Location": location})


def detail(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"detail": message}, headers=headers)


# ---------------------------------------------------------------- middleware and errors


def _authenticate(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    event = app.current_event
    signed = credentials.signed_principal(event.http_method, event.path, event.raw_query_string, event.headers)
    app.append_context(
        principal=signed or credentials.authenticate(event.http_method, event.headers, event.cookies or []))
    return next_middleware(app)


def _map_errors(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(NotAuthenticated)
    def _401(error: NotAuthenticated) -> Response:
        return detail(401, error.detail, {"WWW-Authenticate": "Token"})

    @app.exception_handler(TooManyFailedLogins)
    def _429(error: TooManyFailedLogins) -> Response:
        return detail(429, str(error), {"Retry-After": str(error.retry_after)})

    @app.exception_handler(PermissionDenied)
    def _403(error: PermissionDenied) -> Response:
        return detail(403, error.detail)

    @app.exception_handler(NotFound)
    def _404(error: NotFound) -> Response:
        return detail(404, error.detail)

    @app.exception_handler(ValidationFailed)
    def _400(error: ValidationFailed) -> Response:
        return json_response(400, error.body)

    @app.exception_handler(PayloadTooLarge)
    def _413(error: PayloadTooLarge) -> Response:
        return detail(413, error.detail)

    @app.exception_handler(RequestInProgress)
    def _409(error: RequestInProgress) -> Response:
        return detail(409, str(error))

    @app.exception_handler(FormatDisabled)
    def _405(error: FormatDisabled) -> Response:
        return Response(status_code=405, content_type="application/json", body="")

    @app.exception_handler(PreconditionFailed)
    def _412(error: PreconditionFailed) -> Response:
        return detail(412, str(error))

    @app.exception_handler(WriteConflict)
    def _409_busy(error: WriteConflict) -> Response:
        return detail(409, str(error))

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response:
        fields: dict[str, list[str]] = {}
        for item in error.errors():
            name = str(item["loc"][-1]) if item.get("loc") else "non_field_errors"
            fields.setdefault(name, []).append(str(item.get("msg", "Invalid value.")))
        return json_response(400, fields)

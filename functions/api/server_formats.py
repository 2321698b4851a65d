"""GET /api/v1/server/annotation/formats (spec §10.3) and GET /api/v1/server/dataset/formats
(older variants §2.6). On the 1.0 compatibility entry point (stage variable compat=1.0-beta)
the annotation formats are the 1.0 array of format records (§2.5, §3)."""

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.app import compat, create_app, json_response, lambda_handler
from apigw.docs import answers
from shared import formats

app = create_app()


@app.get("/api/v1/server/annotation/formats", tags=["server"],
         responses=answers(200, None, "Importers and exporters (the 1.0 array on the compatibility entry point)"))
def annotation_formats() -> Response[Any]:
    if compat(app) == "1.0-beta":
        return json_response(200, formats.legacy_formats_view())
    return json_response(200, formats.formats_view())


@app.get("/api/v1/server/dataset/formats", tags=["server"],
         responses=answers(200, None, "The 1.0 dataset tags, as a JSON string holding JSON"))
def dataset_formats() -> Response[Any]:
    return json_response(200, json.dumps(formats.dataset_formats_view(), separators=(",", ":")))


handler = lambda_handler(app)

"""GET /api/v1/restrictions/terms-of-use: the terms of use, an HTML page (spec §11). Anonymous.
CVAT ships a placeholder page too: the operators of a deployment state their own terms."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.app import create_app, lambda_handler
from apigw.docs import answers

app = create_app(public=True)

TERMS_OF_USE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Terms of use</title></head>
<body>
<h1>Terms of use</h1>
<p>This server runs the Computer Vision Annotation Tool (CVAT) task API. The people who operate it
decide who may use it, what may be stored in it and for how long; ask them for their terms before
you upload data that is not yours.</p>
<p>The software is provided "as is", without warranty of any kind.</p>
</body>
</html>
"""


@app.get("/api/v1/restrictions/terms-of-use", responses=answers(200, None, "An HTML page"), tags=["restrictions"])
def terms_of_use() -> Response[Any]:
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=TERMS_OF_USE)


handler = lambda_handler(app)

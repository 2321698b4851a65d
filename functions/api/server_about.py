"""GET /api/v1/server/about (spec §11)."""

from typing import Any

from apigw.app import create_app, lambda_handler
from apigw.docs import answers
from shared import server
from shared.schemas import About

app = create_app()


@app.get("/api/v1/server/about", responses=answers(200, About, "The server"), tags=["server"])
def about() -> dict[str, Any]:
    return server.about()


handler = lambda_handler(app)

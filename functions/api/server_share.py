"""GET /api/v1/server/share?directory=/sub/dir: one folder of the share (spec §11)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from apigw.app import create_app, lambda_handler
from apigw.docs import answers
from shared import server
from shared.schemas import ShareEntry

app = create_app()


@app.get("/api/v1/server/share", responses=answers(200, list[ShareEntry], "Folders and files"), tags=["server"])
def share(directory: Annotated[str, Query()] = "/") -> list[dict[str, Any]]:
    return server.list_share(directory)


handler = lambda_handler(app)

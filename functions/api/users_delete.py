"""DELETE /api/v1/users/{id}: oneself, or anyone for admins; their tasks and jobs stay, with
owner and assignee null (spec §1.6)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.app import create_app, lambda_handler, principal
from apigw.docs import answers
from shared import users

app = create_app()


@app.delete("/api/v1/users/<user_id>", responses=answers(204, None, "Deleted"), tags=["users"])
def delete(user_id: str) -> Response[Any]:
    users.delete_user(principal(app), users.parse_id(user_id))
    return Response(status_code=204, body="")


handler = lambda_handler(app)

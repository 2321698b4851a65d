"""GET /api/v1/users: every user, a page at a time; full objects for admins, the basic ones
for everybody else (spec §1.6)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from apigw.app import base_url, create_app, lambda_handler, principal, query
from apigw.docs import answers
from shared import users
from shared.schemas import UserPage

app = create_app()
Text = Annotated[str | None, Query()]


@app.get("/api/v1/users", responses=answers(200, UserPage, "A page of users"), tags=["users"])
def list_users(page: Text = None, page_size: Text = None) -> dict[str, Any]:
    return users.list_users(principal(app), query(app), base_url(app))


handler = lambda_handler(app)

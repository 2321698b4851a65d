"""GET /api/v1/users/{id}: the full object for admins and for oneself, the basic one otherwise
(spec §1.6)."""

from typing import Any

from apigw.app import base_url, create_app, lambda_handler, principal
from apigw.docs import answers
from shared import users
from shared.schemas import UserBasic, UserFull

app = create_app()


@app.get("/api/v1/users/<user_id>", responses=answers(200, UserFull | UserBasic, "The user"), tags=["users"])
def retrieve(user_id: str) -> dict[str, Any]:
    user = users.load_user(users.parse_id(user_id))
    return users.view_for(principal(app), user, base_url(app))


handler = lambda_handler(app)

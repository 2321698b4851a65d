"""GET /api/v1/users/self: the caller's full user object (spec §1.6)."""

from typing import Any

from apigw.app import base_url, create_app, lambda_handler, principal
from apigw.docs import answers
from shared import users
from shared.schemas import UserFull

app = create_app()


@app.get("/api/v1/users/self", responses=answers(200, UserFull, "The caller"), tags=["users"])
def users_self() -> dict[str, Any]:
    return users.user_view(users.current_user(principal(app)), base_url(app))


handler = lambda_handler(app)

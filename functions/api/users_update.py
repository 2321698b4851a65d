"""PATCH /api/v1/users/{id}: one's own names, or (admins) anyone's names, e-mail, activity and
role groups (spec §1.6). There is no PUT."""

from typing import Any

from apigw.app import base_url, body, create_app, lambda_handler, principal
from apigw.docs import answers, request_body
from shared import users
from shared.schemas import UserBasic, UserFull, UserUpdate

app = create_app()


@app.patch("/api/v1/users/<user_id>",
           responses=answers(200, UserFull | UserBasic, "The changed user (basic unless the caller is an admin)"),
           openapi_extensions=request_body(UserUpdate), tags=["users"])
def update(user_id: str) -> dict[str, Any]:
    caller = principal(app)
    user = users.update_user(caller, users.parse_id(user_id), body(app))
    # CVAT answers non-admins with the serializer they may write: the basic one
    view = users.user_view if caller.is_admin else users.basic_view
    return view(user, base_url(app))


handler = lambda_handler(app)

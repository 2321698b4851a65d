"""GET /api/v1/restrictions/user-agreements: what registration asks people to accept, from the
UserAgreements parameter of the stack (spec §11). Anonymous."""

from typing import Any

from apigw.app import create_app, lambda_handler
from apigw.docs import answers
from shared import users
from shared.schemas import UserAgreement

app = create_app(public=True)


@app.get("/api/v1/restrictions/user-agreements",
         responses=answers(200, list[UserAgreement], "The agreements"), tags=["restrictions"])
def user_agreements() -> list[dict[str, Any]]:
    return users.agreements()


handler = lambda_handler(app)

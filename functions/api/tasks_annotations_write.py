"""PUT and PATCH?action=create|update|delete /api/v1/tasks/{id}/annotations (spec §9.5):
all-or-nothing, one version more for every job written; If-Match guards against lost updates."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.annotated import action, if_match, outcome, respond, uploaded_file
from apigw.app import body, create_app, lambda_handler, principal, query
from apigw.docs import answers, request_body
from shared import annotations, imports, tasks
from shared.schemas import LabeledData

app = create_app()
_DOCS = answers(200, LabeledData, "The saved objects, with ids, and the new version",
                _201={"description": "?upload= or ?format=: the document or file is applied"},
                _202={"description": "?upload= or ?format=: the document or file is being applied"},
                _405={"description": "format=: a format this server cannot read"},
                _400={"description": "Invalid annotations"}, _412={"description": "Changed since If-Match"},
                _413={"description": "Too large: use POST /api/v1/tasks/{id}/annotations/uploads"})


@app.put("/api/v1/tasks/<task_id>/annotations", responses=_DOCS, openapi_extensions=request_body(LabeledData),
         tags=["annotations"])
def replace(task_id: str) -> Response[Any]:
    return _write(task_id, "PUT")


@app.patch("/api/v1/tasks/<task_id>/annotations", responses=_DOCS, openapi_extensions=request_body(LabeledData),
           tags=["annotations"])
def change(task_id: str) -> Response[Any]:
    return _write(task_id, "PATCH")


def _write(task_id: str, method: str) -> Response[Any]:
    scope = annotations.task_scope(principal(app), tasks.parse_id(task_id), change=True)
    if method == "PUT" and query(app).get("format"):
        fields = body(app, too_large=annotations.UPLOAD_HINT)
        return outcome(imports.import_annotations(principal(app), scope, query(app), uploaded_file(fields)))
    patch_action = action(app) if method == "PATCH" else None
    upload_id = query(app).get("upload")
    if upload_id:
        status = annotations.apply_document(scope, upload_id, method, patch_action)
        return Response(status_code=status, body="")
    answer = annotations.write(scope, method, body(app, too_large=annotations.UPLOAD_HINT), action=patch_action,
                               if_match=if_match(app))
    return respond(answer, name=f"task-{task_id}")


handler = lambda_handler(app)

"""POST /api/v1/tasks/{id}/data: attach media and start building the task (spec §5.1).

Multipart with client_files[i], or form/JSON with server_files; answers 202 with the data
record. Media too large for one request goes through POST /tasks/{id}/uploads instead."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from apigw.app import body, create_app, json_response, lambda_handler, principal
from apigw.body import UploadedFile
from apigw.docs import answers, request_body
from apigw.idempotency import once_per_key
from shared import data, tasks
from shared.errors import ValidationFailed
from shared.schemas import DataRecord, DataRequest

app = create_app()


@app.post("/api/v1/tasks/<task_id>/data",
          responses=answers(202, DataRecord, "Accepted: the task is being built", _400={"description": "Bad options"}),
          openapi_extensions=request_body(DataRequest), tags=["data"])
def attach(task_id: str) -> Response[Any]:
    identifier = tasks.parse_id(task_id)

    def read() -> tuple[dict, list[data.ClientFile]]:
        fields = body(app)
        return fields, _client_files(fields)

    def run() -> dict:
        return data.attach_data(principal(app), identifier, read)

    return json_response(202, once_per_key(app, "attach-data", run))


def _client_files(fields: dict) -> list[data.ClientFile]:
    sent = fields.pop("client_files", [])
    sent = sent if isinstance(sent, list) else [sent]
    if not all(isinstance(item, UploadedFile) for item in sent):
        raise ValidationFailed.field("client_files", "The submitted data was not a file. Check the encoding type "
                                     "on the form (multipart/form-data).")
    return [data.ClientFile(item.filename, item.content) for item in sent]


handler = lambda_handler(app)

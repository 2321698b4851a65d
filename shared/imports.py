"""Import of annotation files (spec §10.2; older variants §2.4), run by the Import state machine
(statemachines/import.asl.json): PUT .../annotations?format=F with `annotation_file` answers
202 while the file is parsed and applied and 201 once it is; a client that repeats the PUT
until 201 imports the file once, because a running or finished import of the same user and
object answers from its record and ignores the file sent again.

Deviation from spec §10.2, which answers 500: a file that cannot be imported answers 400 with
the parser's message. The import replaces the annotations in one write counted as two versions
(clear, then create): a failed import changes nothing.
"""

import io
import json
import posixpath
import uuid
from datetime import datetime
from typing import Any

from shared import annotation_store as store
from shared import annotations, aws, formats, storage
from shared.annotations import Scope
from shared.auth import Principal
from shared.config import settings
from shared.errors import FormatDisabled, ValidationFailed
from shared.exports import EXPIRY, Outcome, task_meta
from shared.formats.files import ImportFile
from shared.formats.model import FormatError, ImportContext, frames_of
from shared.frames import load_manifest
from shared.steps import refusal
from shared.tables import utcnow
from shared.tasks import jobs_of, load_task

NO_FILE = {"annotation_file": ["No file was submitted."]}
LEGACY_UNKNOWN = ["Please specify a correct 'format' parameter for the upload request"]


def import_annotations(principal: Principal, scope: Scope, query: dict[str, str],
                       file: tuple[str, bytes] | None) -> Outcome:
    """PUT /tasks/{id}/annotations?format=F or /jobs/{id}/annotations?format=F."""
    task_id = int(scope.task.task_id)
    name = query.get("format", "")
    legacy = _is_legacy_loader(name)
    if not legacy:
        _check_importer(name)
    path = f"jobs/{int(scope.job.job_id)}" if scope.job else f"tasks/{task_id}"
    record_name = f"import#{principal.username}#{path}"
    record = store.load_record(task_id, record_name)
    if record is not None and utcnow() - datetime.fromisoformat(record["requested"]) > EXPIRY:
        record = None
    if record is None:
        key = _stored_file(task_id, query.get("upload"), file)
        loader = formats.legacy_loader(name) if legacy else None
        if legacy and loader is None:
            raise ValidationFailed(LEGACY_UNKNOWN)
        _start(scope, record_name, loader.target if loader else name, key)
        return Outcome(202)
    if record["state"] == "running":
        return Outcome(202)
    store.delete_record(task_id, record_name)
    if record["state"] == "done":
        return Outcome(201)
    return Outcome(int(record.get("status", 400)), body=record["message"])


def _is_legacy_loader(name: str) -> bool:
    return any(loader.name == name for _, _, loaders in formats.LEGACY_RECORDS for loader in loaders)


def _check_importer(name: str) -> None:
    importer = formats.importer(name)
    if importer is None:
        raise ValidationFailed([f"Unknown input format '{name}'"])
    if not importer.enabled:
        raise FormatDisabled(name)


def _stored_file(task_id: int, upload_id: str | None, file: tuple[str, bytes] | None) -> str:
    """Where the file to import is: sent with the request, or PUT earlier to an upload slot."""
    if upload_id:
        key = annotations.document_key(task_id, upload_id)
        if not storage.exists(key):
            raise ValidationFailed(f"upload {upload_id}: the file has not arrived; PUT it to the slot's URL first")
        return key
    if file is None:
        raise ValidationFailed(NO_FILE)
    filename, content = file
    safe = posixpath.basename(filename.replace("\\", "/")) or "annotations"
    key = f"imports/{task_id}/{uuid.uuid4().hex}/{safe}"
    storage.put(key, content)
    return key


def _start(scope: Scope, record_name: str, importer: str, key: str) -> None:
    task_id = int(scope.task.task_id)
    now = utcnow()
    execution = f"import-{task_id}-{uuid.uuid4().hex}"
    store.save_record(task_id, record_name, {"state": "running", "requested": now.isoformat(), "key": key},
                      expires=now + EXPIRY)
    payload = {"task_id": task_id, "job_id": int(scope.job.job_id) if scope.job else None, "format": importer,
               "key": key, "record": record_name, "parsed": key.rsplit("/", 1)[0] + "/parsed.json"}
    aws.stepfunctions().start_execution(stateMachineArn=settings().import_state_machine_arn, name=execution,
                                        input=json.dumps(payload))


# ---------------------------------------------------------------- the state machine's steps


def parse(task_id: int, format_name: str, key: str, parsed: str) -> dict[str, int]:
    """Import, step 1: the file becomes LabeledData (relative frames, the task's ids), stored
    next to it; a file the format cannot read fails with FormatError naming what is wrong."""
    importer = formats.importer(format_name)
    if importer is None or not importer.enabled:
        raise FormatError(f"Unknown input format '{format_name}'")
    context = import_context(task_id)
    with io.BufferedReader(storage.S3Reader(key), 1 << 20) as stream:
        importer.load().parse(ImportFile(stream, posixpath.basename(key)), context)
    document = context.labeled_data()
    storage.put(parsed, json.dumps(document).encode(), "application/json")
    return {kind: len(document[kind]) for kind in ("tags", "shapes", "tracks")}


def import_context(task_id: int) -> ImportContext:
    task = load_task(task_id)
    if not task.data or task.stage != "done":
        raise FormatError("The task has no frames yet: attach data, and import annotations once it is built")
    manifest = load_manifest(int(task.data["id"]))
    meta = task_meta(task, jobs_of(task_id), manifest, "")
    return ImportContext(task.labels, frames_of(meta, manifest["frames"], manifest["kind"] == "video"), meta)


def apply(task_id: int, job_id: int | None, record_name: str, parsed: str) -> dict[str, int]:
    """Import, step 2: one all-or-nothing write (version +2); the record says it is done."""
    task = load_task(task_id)
    jobs = jobs_of(task_id)
    job = next((j for j in jobs if int(j.job_id) == job_id), None) if job_id is not None else None
    document = json.loads(storage.get(parsed))
    try:
        version = annotations.import_document(Scope(task, jobs, job), document)
    except ValidationFailed as refused:
        raise FormatError(_text(refused.body)) from None
    record = store.load_record(task_id, record_name)
    if record is not None:
        store.save_record(task_id, record_name, {**record, "state": "done", "version": version},
                          expires=datetime.fromisoformat(record["requested"]) + EXPIRY)
    storage.delete_prefix(parsed.rsplit("/", 1)[0] + "/")
    return {"version": version}


def _text(body: Any) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        return "; ".join(_text(item) for item in body)
    if isinstance(body, dict):
        return "; ".join(f"{key}: {_text(value)}" for key, value in body.items())
    return str(body)


def record_failure(task_id: int, record_name: str, key: str, error: dict[str, Any]) -> None:
    """Import, on failure: the reason for the client's next PUT (400 for a file the format or
    the task refuses, 500 for anything else); the uploaded file goes."""
    record = store.load_record(task_id, record_name)
    if record is not None:
        status, text = refusal(error)
        store.save_record(task_id, record_name, {**record, "state": "failed", "status": status, "message": text},
                          expires=datetime.fromisoformat(record["requested"]) + EXPIRY)
    folder = key.rsplit("/", 1)[0] + "/"
    storage.delete_prefix(folder)

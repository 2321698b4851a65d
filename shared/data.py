"""Attaching media to a task (spec §5.1): the data record, client uploads, upload slots for
large media, and the start of the CreateTask workflow once every announced file is in S3."""

import contextlib
import json
import posixpath
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from pynamodb.exceptions import UpdateError

from shared import aws, storage
from shared.auth import Principal
from shared.config import settings
from shared.counters import allocate
from shared.errors import NotFound, ValidationFailed
from shared.permissions import can_change_task
from shared.schemas import DataRequest, UploadRequest
from shared.tables import TaskItem
from shared.tasks import execution_arn, load_task, task_for
from shared.validation import validate


class Stage(StrEnum):
    QUEUED = "queued"
    COPYING = "copying"
    EXTRACTING = "extracting"
    CHUNKS = "chunks"
    SAVING = "saving"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Sources:
    """What a data record is made from; kept in S3 beside the chunks (data/{id}/sources.json)."""

    client_files: list[str]  # names in the order sent (the "predefined" order)
    server_files: list[str]
    remote_files: list[str]
    uploads: list[dict[str, Any]]  # [{"name", "size"}] of files to arrive under uploads/


@dataclass(frozen=True)
class ClientFile:
    name: str
    content: bytes


def attach_data(principal: Principal, task_id: int, fields: dict[str, Any],
                files: list[ClientFile]) -> dict[str, Any]:
    """POST /tasks/{id}/data: stores small client files in S3 and starts CreateTask."""
    task, _ = task_for(principal, task_id, can_change_task)
    _check_attachable(task)
    request = validate(DataRequest, fields)
    _refuse_remote(request)
    names = _unique_names([f.name for f in files], "client_files")
    upload_id = uuid.uuid4().hex
    record = _record(request, allocate("data"))
    sources = Sources(names, request.server_files, request.remote_files,
                      [{"name": n, "size": len(f.content)} for n, f in zip(names, files, strict=True)])
    _store_record(task, record, upload_id, sources)
    prefix = storage.upload_prefix(task_id, upload_id)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda nf: storage.put(prefix + nf[0], nf[1].content), zip(names, files, strict=True)))
    start_if_complete(task_id, upload_id)
    return _answer(record, sources)


def announce_uploads(principal: Principal, task_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """POST /tasks/{id}/uploads: the data options plus the files to come; answers one
    presigned PUT URL per file. CreateTask starts when the last file has arrived."""
    task, _ = task_for(principal, task_id, can_change_task)
    _check_attachable(task)
    request = validate(UploadRequest, fields)
    _refuse_remote(request)
    names = _unique_names([f.name for f in request.files], "files")
    upload_id = uuid.uuid4().hex
    record = _record(request, allocate("data"))
    sources = Sources(names, request.server_files, request.remote_files,
                      [{"name": n, "size": f.size} for n, f in zip(names, request.files, strict=True)])
    _store_record(task, record, upload_id, sources)
    prefix = storage.upload_prefix(task_id, upload_id)
    return {
        "upload_id": upload_id,
        "expires_in": storage.PRESIGN_SECONDS,
        "files": [
            {"name": f["name"], "url": storage.presigned_put(prefix + f["name"], f["size"]), "method": "PUT",
             "headers": {"Content-Length": str(f["size"])}}
            for f in sources.uploads
        ],
        "data": _answer(record, sources),
    }


def upload_arrived(key: str) -> bool:
    """The S3 trigger: a file arrived under uploads/{task_id}/{upload_id}/. Arrivals are
    counted, and the uploads are listed only once the count reaches the announced number
    (notifications come at least once, so a count may run ahead; the listing decides)."""
    parts = key.split("/", 3)
    if len(parts) < 4 or parts[0] != "uploads" or not parts[1].isdigit():
        return False
    task_id, upload_id = int(parts[1]), parts[2]
    counter = TaskItem(task_id)
    try:
        counter.update(actions=[TaskItem.uploads_arrived.add(1)], condition=TaskItem.upload_id == upload_id)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False  # a task deleted since, or an upload it no longer waits for
        raise
    if (counter.uploads_arrived or 0) < (counter.uploads_expected or 0):
        return False
    return start_if_complete(task_id, upload_id)


def start_if_complete(task_id: int, upload_id: str) -> bool:
    """Starts CreateTask when every announced file is in S3. Safe to call many times and
    concurrently: the execution name is claimed once with a conditional write."""
    try:
        task = load_task(task_id)
    except NotFound:
        return False
    if task.upload_id != upload_id or task.execution_name or task.data is None:
        return False
    missing, wrong = _arrivals(task_id, upload_id, load_sources(int(task.data["id"])).uploads)
    if missing:
        return False
    if wrong:
        _fail_upload(task, upload_id, wrong)
        return False
    name = f"task-{task_id}-{upload_id}"
    try:
        task.update(
            actions=[TaskItem.execution_name.set(name)],
            condition=(TaskItem.upload_id == upload_id) & TaskItem.execution_name.does_not_exist(),
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    payload = {"task_id": task_id, "data_id": int(task.data["id"]), "execution": name}
    client = aws.stepfunctions()
    try:
        client.start_execution(
            stateMachineArn=settings().create_task_state_machine_arn, name=name, input=json.dumps(payload),
        )
    except client.exceptions.ExecutionAlreadyExists:
        pass
    except Exception:
        task.update(actions=[TaskItem.execution_name.remove()])
        raise
    return True


def _arrivals(task_id: int, upload_id: str, expected: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The announced files not yet in S3, and those that arrived with another size."""
    prefix = storage.upload_prefix(task_id, upload_id)
    arrived = {o["Key"][len(prefix):]: int(o["Size"]) for o in storage.list_objects(prefix)}
    missing = [f["name"] for f in expected if f["name"] not in arrived]
    wrong = [f"{f['name']} arrived with {arrived[f['name']]} bytes, {f['size']} were announced"
             for f in expected if f["name"] in arrived and arrived[f["name"]] != f["size"]]
    return missing, wrong


def _fail_upload(task: TaskItem, upload_id: str, problems: list[str]) -> None:
    """S3 refuses a presigned PUT of another length than signed; this catches what slipped by."""
    message = "UploadError: " + "; ".join(problems) + "\n"
    with contextlib.suppress(UpdateError):
        task.update(actions=[TaskItem.stage.set(Stage.FAILED.value), TaskItem.error.set(message)],
                    condition=(TaskItem.upload_id == upload_id) & TaskItem.execution_name.does_not_exist())


def _check_attachable(task: TaskItem) -> None:
    if task.data is not None and task.stage != Stage.FAILED:
        raise ValidationFailed.non_field(
            "This task already has data. Adding more data is not implemented: create a new task."
        )


def _refuse_remote(request: DataRequest) -> None:
    if request.remote_files:
        raise ValidationFailed.field(
            "remote_files", "remote_files are not supported yet: send client_files, use an upload "
            "slot (POST /api/v1/tasks/{id}/uploads) or server_files from the share.",
        )


def _unique_names(names: list[str], field: str) -> list[str]:
    cleaned = [_clean_path(name, field) for name in names]
    if len(set(cleaned)) != len(cleaned):
        duplicate = next(n for n in cleaned if cleaned.count(n) > 1)
        raise ValidationFailed.field(field, f"File names must be unique: {duplicate} is sent twice.")
    return cleaned


def _clean_path(name: str, field: str) -> str:
    path = name.replace("\\", "/").lstrip("/")
    normal = posixpath.normpath(path)
    if not path or normal in (".", "..") or normal.startswith("../") or "\0" in path:
        raise ValidationFailed.field(field, f"Bad file name: {name!r}")
    return normal


def _record(request: DataRequest, data_id: int) -> dict[str, Any]:
    return {
        "id": data_id,
        "chunk_size": request.chunk_size,
        "size": 0,
        "image_quality": request.image_quality,
        "start_frame": request.start_frame,
        "stop_frame": request.stop_frame,
        "frame_filter": request.frame_filter,
        "step": request.step,
        "compressed_chunk_type": "imageset",
        "original_chunk_type": "imageset",
        "use_zip_chunks": request.use_zip_chunks,
        "use_cache": request.use_cache,
        "sorting_method": request.sorting_method,
    }


def _store_record(task: TaskItem, record: dict[str, Any], upload_id: str, sources: "Sources") -> None:
    """The file lists go to S3 first (they are unbounded, a DynamoDB item is not), then the
    record to the task, on condition that the task has no data or its creation failed."""
    storage.put(_sources_key(int(record["id"])), json.dumps(asdict(sources)).encode(), "application/json")
    try:
        task.update(
            actions=[
                TaskItem.data.set(record),
                TaskItem.upload_id.set(upload_id),
                TaskItem.uploads_expected.set(len(sources.uploads)),
                TaskItem.uploads_arrived.set(0),
                TaskItem.execution_name.remove(),
                TaskItem.stage.set(Stage.QUEUED.value),
                TaskItem.error.remove(),
                TaskItem.chunks_total.remove(),
                TaskItem.chunks_done.remove(),
            ],
            condition=TaskItem.data.does_not_exist() | (TaskItem.stage == Stage.FAILED.value),
        )
    except UpdateError as error:
        storage.delete_prefix(storage.data_prefix(int(record["id"])))
        if error.cause_response_code == "ConditionalCheckFailedException":
            _check_attachable(load_task(int(task.task_id)))
        raise


def load_sources(data_id: int) -> "Sources":
    return Sources(**json.loads(storage.get(_sources_key(data_id))))


def _sources_key(data_id: int) -> str:
    return storage.data_prefix(data_id) + "sources.json"


def _answer(record: dict[str, Any], sources: "Sources") -> dict[str, Any]:
    """The data record as the 202 answer shows it (spec §5.1; use_* are echoed as false)."""
    return {
        "chunk_size": record["chunk_size"],
        "size": record["size"],
        "image_quality": record["image_quality"],
        "start_frame": record["start_frame"],
        "stop_frame": record["stop_frame"] or 0,
        "frame_filter": record["frame_filter"],
        "compressed_chunk_type": record["compressed_chunk_type"],
        "original_chunk_type": record["original_chunk_type"],
        "client_files": sources.client_files,
        "server_files": sources.server_files,
        "remote_files": sources.remote_files,
        "use_zip_chunks": False,
        "use_cache": False,
    }


# ---------------------------------------------------------------- status


def creation_status(principal: Principal, task_id: int) -> dict[str, str]:
    """GET /tasks/{id}/status (spec §8), read from the task and its CreateTask execution."""
    task, _ = task_for(principal, task_id)
    if task.error:
        return {"state": "Failed", "message": task.error}
    if task.data is None or task.stage == Stage.DONE:
        return {"state": "Finished", "message": ""}
    if not task.execution_name:
        return {"state": "Queued", "message": ""}
    client = aws.stepfunctions()
    try:
        execution = client.describe_execution(executionArn=execution_arn(task.execution_name))
    except client.exceptions.ExecutionDoesNotExist:
        return {"state": "Queued", "message": ""}
    state = execution["status"]
    if state == "RUNNING":
        return {"state": "Started", "message": progress_message(task)}
    if state == "SUCCEEDED":
        return {"state": "Finished", "message": ""}
    recorded = load_task(task_id).error  # MarkFailed may have written it since the first read
    if recorded:
        return {"state": "Failed", "message": recorded}
    error = execution.get("error", "Error")
    cause = execution.get("cause", "The task could not be created.")
    return {"state": "Failed", "message": f"{error}: {cause}\n"}


def progress_message(task: TaskItem) -> str:
    stage = task.stage
    if stage == Stage.COPYING:
        return "Data are being copied from share.."
    if stage == Stage.EXTRACTING:
        return "Media files are being extracted..."
    if stage == Stage.CHUNKS:
        total = int(task.chunks_total or 0)
        done = int(task.chunks_done or 0)
        percent = int(100 * done / total) if total else 0
        return f"Images are being compressed {percent}%"
    if stage == Stage.SAVING:
        return "Task is being saved in database"
    return ""

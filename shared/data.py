"""Attaching media to a task (spec §5.1): the data record, client uploads, upload slots for
large media, and the start of the CreateTask workflow once every announced file is in S3."""

import contextlib
import json
import posixpath
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from pynamodb.exceptions import UpdateError

from shared import aws, remote, storage
from shared.auth import Principal
from shared.config import settings
from shared.counters import allocate
from shared.errors import NotFound, ValidationFailed
from shared.permissions import can_attach_data
from shared.schemas import DataRequest, UploadRequest
from shared.tables import TaskItem
from shared.tasks import execution_arn, load_task, task_for
from shared.validation import validate


class Stage(StrEnum):
    QUEUED = "queued"
    DOWNLOADING = "downloading"  # remote_files; chunks_total/chunks_done count the URLs
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


def attach_data(principal: Principal, task_id: int,
                read: Callable[[], tuple[dict[str, Any], list[ClientFile]]]) -> dict[str, Any]:
    """POST /tasks/{id}/data: stores small client files in S3 and starts CreateTask. The body
    is read only after the permission check, so a refusal comes before any body error (§0)."""
    task, _ = task_for(principal, task_id, can_attach_data)
    _check_attachable(task)
    fields, files = read()
    request = validate(DataRequest, fields)
    _check_remote(request.remote_files)
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


def announce_uploads(principal: Principal, task_id: int, read: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """POST /tasks/{id}/uploads: the data options plus the files to come; answers one
    presigned POST per file, which S3 accepts for that key and the announced size only.
    CreateTask starts when the last file has arrived."""
    task, _ = task_for(principal, task_id, can_attach_data)
    _check_attachable(task)
    request = validate(UploadRequest, read())
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
        "files": [_slot(f["name"], storage.presigned_post(prefix + f["name"], f["size"])) for f in sources.uploads],
        "data": _answer(record, sources),
    }


def _slot(name: str, post: dict[str, Any]) -> dict[str, Any]:
    """One file's slot: a multipart/form-data POST of `fields`, then the file as `file`."""
    return {"name": name, "url": post["url"], "method": "POST", "fields": post["fields"]}


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
    """S3 refuses an upload of another length than the slot's policy allows; this catches what
    slipped by (moto does not check policies, and objects may be written by other means)."""
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
    """Upload slots are for files the client sends; URLs are posted to /data instead."""
    if request.remote_files:
        raise ValidationFailed.field(
            "remote_files", "remote_files are downloaded by the server: post them to "
            "/api/v1/tasks/{id}/data, without upload slots.",
        )


def _check_remote(urls: list[str]) -> None:
    """Only URLs that could ever be downloaded are accepted; where their hosts point is checked
    by the workflow when it downloads them (spec §5.2 step 1, shared/remote.py)."""
    for url in urls:
        problem = remote.url_problem(url)
        if problem is not None:
            raise ValidationFailed.field("remote_files", f"Invalid URL: {url}. {problem}")


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
    if stage == Stage.DOWNLOADING:
        return _download_message(task)
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


def _download_message(task: TaskItem) -> str:
    """"<url> is being downloaded.." (spec §5.2): chunks_done counts the URLs downloaded so far.
    Empty once the sources are gone (MarkFailed is recording a failure)."""
    client = aws.s3()
    try:
        urls = load_sources(int(task.data["id"])).remote_files if task.data else []
    except client.exceptions.NoSuchKey:
        return ""
    index = int(task.chunks_done or 0)
    return f"{urls[index]} is being downloaded.." if index < len(urls) else ""

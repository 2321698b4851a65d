"""Export of annotations and datasets (spec §10.1; older variants §2.2, §2.7), run by the Export
state machine (statemachines/export.asl.json) and collected by polling: 202 while it runs, 201
when the file is ready, and with action=download a redirect to the file in S3.

One record per export (task + kind + format, shared by all users; a 1.0 dump per user +
dumper + file name) sits with the task's annotations, expires after 10 hours, and is stale once
the task changed after it was asked for. Results are cached per task state: an export asked
for again before the task changes is served from S3 without running again.
"""

import contextlib
import hashlib
import io
import json
import posixpath
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import annotation_store as store
from shared import aws, formats, storage, users
from shared.annotations import Scope, labeled_data, merge_jobs, task_scope
from shared.auth import Principal
from shared.config import settings
from shared.errors import FormatDisabled, ValidationFailed
from shared.formats.files import Archive
from shared.formats.model import ExportContext, TaskMeta, frame_step, frames_of
from shared.frames import chunk_key, load_manifest
from shared.steps import refusal
from shared.tables import JobItem, TaskItem, utcnow
from shared.tasks import jobs_of, load_task

EXPIRY = timedelta(hours=10)
KINDS = ("annotations", "dataset")


@dataclass(frozen=True)
class Outcome:
    status: int  # 202 running, 201 ready, 302 download, 400/500 failed
    location: str | None = None
    body: Any = None


@dataclass(frozen=True)
class Job:
    """One export as the client addresses it."""

    task: TaskItem
    kind: str
    format: str  # a 1.2 exporter
    record: str
    attachment: str
    base_url: str
    member: str | None = None  # 1.0 dumps of one file: that member of the archive
    legacy: bool = False  # 1.0 dump state table (addendum §2.2)


# ---------------------------------------------------------------- the protocol


def export_annotations(principal: Principal, task_id: int, query: dict[str, str], base_url: str) -> Outcome:
    """GET /tasks/{id}/annotations?format=F[&filename=N][&action=download] (spec §10.1)."""
    task = task_scope(principal, task_id, change=False).task
    download = _action(query, "Unexpected action specified for the request")
    exporter = _exporter(query.get("format", ""))
    filename = query.get("filename") or _default_name(task, exporter.name)
    return _serve(Job(task, "annotations", exporter.name, f"export#annotations#{exporter.name}",
                      filename.lower(), base_url), download)


def export_dataset(principal: Principal, task_id: int, query: dict[str, str], base_url: str, *,
                   compat: str = "") -> Outcome:
    """GET /tasks/{id}/dataset?format=F (spec §10.1), also with the 1.0 tags (addendum §2.7);
    on the 1.0 entry point (`compat`) an empty format means datumaro_project."""
    task = task_scope(principal, task_id, change=False).task
    name = query.get("format", "")
    if not name and compat == "1.0-beta":
        name = "datumaro_project"
    target = formats.legacy_dataset_tag(name.lower())
    if target is None and compat == "1.0-beta" and formats.exporter(name) is None:
        raise ValidationFailed(["Unexpected parameter 'format' specified for the request"])
    if target is None:
        download = _action(query, "Unexpected action specified for the request")
        exporter = _exporter(name)
        filename = query.get("filename") or _default_name(task, exporter.name)
        return _serve(Job(task, "dataset", exporter.name, f"export#dataset#{exporter.name}", filename.lower(),
                          base_url), download)
    action = query.get("action", "").lower()
    if action not in ("", "download"):
        raise ValidationFailed(["Unexpected parameter 'action' specified for the request"])
    kind = "annotations" if name.lower() == "datumaro_project" else "dataset"
    attachment = f"task_{task.name}-{datetime.now(UTC):%Y_%m_%d_%H_%M_%S}-{name}.zip".lower()
    return _serve(Job(task, kind, target, f"export#{kind}#{target}", attachment, base_url), action == "download")


def legacy_dump(principal: Principal, task_id: int, filename: str, query: dict[str, str], base_url: str) -> Outcome:
    """GET /tasks/{id}/annotations/{filename}?format=<1.0 dumper> (addendum §2.2)."""
    task = task_scope(principal, task_id, change=False).task
    action = query.get("action")
    if action is not None and action != "download":
        raise ValidationFailed(["Please specify a correct 'action' for the request"])
    dumper = formats.legacy_dumper(query.get("format", ""))
    if dumper is None:
        raise ValidationFailed(["Please specify a correct 'format' parameter for the request"])
    clean = re.sub(r'[\\/*?:"<>|]', "_", filename)
    record = f"dump#{principal.username}#{dumper.name}#{hashlib.sha256(clean.encode()).hexdigest()[:16]}"
    return _serve(Job(task, "annotations", dumper.target, record, f"{clean}.{dumper.extension}", base_url,
                      dumper.member, legacy=True), action == "download")


def _action(query: dict[str, str], message: str) -> bool:
    action = query.get("action", "")
    if action not in ("", "download"):
        raise ValidationFailed([message])
    return action == "download"


def _exporter(name: str) -> formats.Format:
    exporter = formats.exporter(name)
    if exporter is None:
        raise ValidationFailed(["Unknown format specified for the request"])
    if not exporter.enabled:
        raise FormatDisabled(name)
    return exporter


def _default_name(task: TaskItem, format_name: str) -> str:
    stamp = task.updated_date.strftime("%Y_%m_%d_%H_%M_%S")
    return f"task_{task.name}-{stamp}-{format_name}.zip"


def _serve(job: Job, download: bool) -> Outcome:
    task_id = int(job.task.task_id)
    record = store.load_record(task_id, job.record)
    if record is not None and _stale(record, job.task):
        _drop(task_id, job.record, record)
        record = None
    if record is not None:
        if record["state"] == "failed":
            store.delete_record(task_id, job.record)
            return Outcome(int(record.get("status", 500)), body=record["message"])
        if record["state"] != "done":
            return Outcome(202)
        if job.legacy and record.get("downloaded"):
            _drop(task_id, job.record, record)
        elif storage.exists(record["key"]):
            if not download:
                return Outcome(201)
            if job.legacy:
                store.save_record(task_id, job.record, {**record, "downloaded": True}, expires=_expires(record))
            else:
                store.delete_record(task_id, job.record)
            return Outcome(302, location=storage.presigned_get(record["key"], filename=job.attachment,
                                                               content_type=_content_type(record["key"])))
    _start(job)
    return Outcome(202)


def _stale(record: dict[str, Any], task: TaskItem) -> bool:
    requested = datetime.fromisoformat(record["requested"])
    return requested < task.updated_date or utcnow() - requested > EXPIRY


def _expires(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["requested"]) + EXPIRY


def _drop(task_id: int, name: str, record: dict[str, Any]) -> None:
    store.delete_record(task_id, name)
    if record.get("execution"):
        with contextlib.suppress(Exception):
            aws.stepfunctions().stop_execution(executionArn=_execution_arn(record["execution"]))
    if record.get("legacy") and record.get("key"):
        storage.delete_keys([record["key"]])


def _start(job: Job) -> None:
    task_id = int(job.task.task_id)
    now = utcnow()
    key = result_key(job)
    execution = f"export-{task_id}-{hashlib.sha256(job.record.encode()).hexdigest()[:20]}-{now:%Y%m%d%H%M%S%f}"
    record = {"state": "running", "requested": now.isoformat(), "key": key, "execution": execution,
              "legacy": job.legacy}
    if not job.legacy and _cached(key):
        store.save_record(task_id, job.record, {**record, "state": "done", "execution": None}, expires=now + EXPIRY)
        return
    store.save_record(task_id, job.record, record, expires=now + EXPIRY)
    payload = {"task_id": task_id, "kind": job.kind, "format": job.format, "key": key, "record": job.record,
               "member": job.member, "work": f"exports/{task_id}/work/{execution}/", "base_url": job.base_url}
    aws.stepfunctions().start_execution(stateMachineArn=settings().export_state_machine_arn, name=execution,
                                        input=json.dumps(payload))


def _execution_arn(name: str) -> str:
    return settings().export_state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name


def result_key(job: Job) -> str:
    """Where a result goes: one folder per task, kind and format, one file per task state."""
    slug = re.sub(r"[^a-z0-9]+", "-", job.format.lower()).strip("-")
    stamp = job.task.updated_date.strftime("%Y%m%dT%H%M%S%f")
    if job.legacy:
        extension = job.attachment.rsplit(".", 1)[-1]
        return f"exports/{int(job.task.task_id)}/dumps/{hashlib.sha256(job.record.encode()).hexdigest()[:20]}." \
               f"{stamp}.{extension}"
    return f"exports/{int(job.task.task_id)}/{job.kind}/{slug}/{stamp}.zip"


def _cached(key: str) -> bool:
    with contextlib.suppress(Exception):
        head = aws.s3().head_object(Bucket=storage.bucket(), Key=key)
        return bool(utcnow() - head["LastModified"] < EXPIRY)
    return False


def _content_type(key: str) -> str:
    return {"xml": "application/xml", "json": "application/json"}.get(key.rsplit(".", 1)[-1], "application/zip")


# ---------------------------------------------------------------- what exporters see


def context_for(task: TaskItem, base_url: str = "", *, include_images: bool = False) -> ExportContext:
    """The task's frames, labels and annotations (with defaults, tracks whole) for exporters."""
    jobs = jobs_of(int(task.task_id))
    scope = Scope(task, jobs)
    head, objects = store.read(int(task.task_id), scope.job_ids)
    annotations = labeled_data(scope.version(head), merge_jobs(scope, objects), task.labels)
    data = task.data or {}
    manifest = load_manifest(int(data["id"]))
    meta = task_meta(task, jobs, manifest, base_url)
    return ExportContext(meta, task.labels, frames_of(meta, manifest["frames"], manifest["kind"] == "video"),
                         annotations, server_url=base_url, include_images=include_images)


def task_meta(task: TaskItem, jobs: list[JobItem], manifest: dict[str, Any], base_url: str) -> TaskMeta:
    data = task.data or {}
    video = manifest["kind"] == "video"
    size = int(data.get("size") or 0)
    step = frame_step(data.get("frame_filter") or "")
    start = int(data.get("start_frame") or 0)
    host = base_url.split("/api/", 1)[0]
    return TaskMeta(
        id=int(task.task_id), name=task.name, size=size, mode=task.mode or ("interpolation" if video else "annotation"),
        overlap=int(task.overlap or 0), bug_tracker=task.bug_tracker or "", created=_xml_date(task.created_date),
        updated=_xml_date(task.updated_date), start_frame=start, stop_frame=start + (size - 1) * step,
        frame_filter=data.get("frame_filter") or "", z_order=bool(task.z_order),
        segments=[{"id": int(j.job_id), "start": int(j.start_frame), "stop": int(j.stop_frame),
                   "url": f"{host}/?id={int(j.job_id)}"} for j in jobs],
        owner=_person(task.owner_id), assignee=_person(task.assignee_id), dumped=_xml_date(utcnow()),
        source=manifest["frames"][0]["name"] if video else None,
        original_size=(int(manifest["frames"][0]["width"]), int(manifest["frames"][0]["height"])) if video else None,
    )


def _xml_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


def _person(user_id: Any) -> dict[str, str] | None:
    user = users.user_by_id(int(user_id)) if user_id is not None else None
    return None if user is None else {"username": user.username, "email": user.email or ""}


# ---------------------------------------------------------------- the state machine's steps


def collect(task_id: int, kind: str, format_name: str, work: str, base_url: str) -> dict[str, Any]:
    """Export, step 1: the annotation files, as a small archive of their own; for datasets, the
    chunks whose frames the Map renders next."""
    task = load_task(task_id)
    context = context_for(task, base_url, include_images=kind == "dataset")
    module = _exporter(format_name).load()
    with storage.S3Writer(work + "annotations.zip", "application/zip") as target, \
            zipfile.ZipFile(target, "w") as archive:  # fmt: skip
        module.export(context, Archive(archive))
    if kind != "dataset":
        return {"chunks": []}
    chunk_size = int((task.data or {})["chunk_size"])
    return {"chunks": list(range(-(-len(context.frames) // chunk_size)))}


def render_chunk(task_id: int, format_name: str, work: str, chunk: int) -> dict[str, Any]:
    """Export, step 2 (one per chunk, in parallel): the chunk's frames as images at the paths the
    format puts them, in a stored (not compressed) archive."""
    task = load_task(task_id)
    data = task.data or {}
    manifest = load_manifest(int(data["id"]))
    jobs = jobs_of(task_id)
    meta = task_meta(task, jobs, manifest, "")
    frames = frames_of(meta, manifest["frames"], manifest["kind"] == "video")
    chunk_size = int(data["chunk_size"])
    mine = frames[chunk * chunk_size:(chunk + 1) * chunk_size]
    context = ExportContext(meta, task.labels, frames, {"tags": [], "shapes": [], "tracks": []})
    module = _exporter(format_name).load()
    paths = [module.image_path(context, frame) for frame in mine]
    images = _chunk_images(int(data["id"]), manifest, chunk, paths)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        target = Archive(archive)
        for path, image in zip(paths, images, strict=True):
            target.write(path, image, compress=False)
    storage.put(f"{work}frames-{chunk:06d}.zip", buffer.getvalue(), "application/zip")
    return {"frames": len(mine)}


def _chunk_images(data_id: int, manifest: dict[str, Any], chunk: int, paths: list[str]) -> list[bytes]:
    """Original bytes of image frames; video frames decoded from the original chunk and encoded
    as the format names them (PNG, or JPEG where a format calls video frames .jpg)."""
    chunk_bytes = storage.get(chunk_key(data_id, "original", chunk, manifest["original"]))
    if manifest["original"] == "imageset":
        with zipfile.ZipFile(io.BytesIO(chunk_bytes)) as archive:
            return [archive.read(info) for info in archive.infolist()][:len(paths)]
    from shared.chunks import decode_video_chunk_images

    return decode_video_chunk_images(chunk_bytes, [posixpath.splitext(path)[1] for path in paths])


def package(task_id: int, kind: str, record: str, key: str, work: str, member: str | None) -> dict[str, Any]:
    """Export, step 3: one archive (or, for a 1.0 dump, its one file) from the parts, written to
    S3 in a stream; the record says it is ready; older results of the export go."""
    parts = [work + "annotations.zip"]
    if kind == "dataset":
        parts += sorted(o["Key"] for o in storage.list_objects(work + "frames-"))
    if member is not None:
        with zipfile.ZipFile(storage.S3Reader(parts[0])) as source:
            storage.put(key, source.read(member), _content_type(key))
    else:
        with storage.S3Writer(key, "application/zip") as target, zipfile.ZipFile(target, "w") as archive:
            for part in parts:
                _copy_members(part, archive)
    _finish(task_id, record, key)
    storage.delete_prefix(work)
    return {"key": key}


def _copy_members(part: str, archive: zipfile.ZipFile) -> None:
    with zipfile.ZipFile(storage.S3Reader(part)) as source:
        for info in source.infolist():
            copied = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copied.compress_type, copied.external_attr = info.compress_type, info.external_attr
            with source.open(info) as reader, archive.open(copied, "w", force_zip64=True) as writer:
                while block := reader.read(1 << 20):
                    writer.write(block)


def _finish(task_id: int, record_name: str, key: str) -> None:
    record = store.load_record(task_id, record_name)
    if record is None or record.get("key") != key:
        return  # dropped or replaced while running: nobody waits for this result
    if "/dumps/" not in key:  # older results go first: a client told "ready" finds only this one
        folder = key.rsplit("/", 1)[0] + "/"
        storage.delete_keys([o["Key"] for o in storage.list_objects(folder) if o["Key"] != key])
    store.save_record(task_id, record_name, {**record, "state": "done"}, expires=_expires(record))


def record_failure(task_id: int, record_name: str, work: str, error: dict[str, Any]) -> None:
    """Export, on failure: the reason, for the client's next request (400 when the task's
    annotations cannot be written in the format, 500 otherwise)."""
    record = store.load_record(task_id, record_name)
    if record is not None:
        status, text = refusal(error)
        store.save_record(task_id, record_name, {**record, "state": "failed", "status": status, "message": text},
                          expires=_expires(record))
    with contextlib.suppress(Exception):
        storage.delete_prefix(work)

"""The steps of the CreateTask workflow: Prepare, BuildChunk (one per chunk, in parallel),
Finalize, and MarkFailed (spec §5.2 - §5.7).

Step Functions state stays small: Prepare writes the frame plan to S3 and returns only chunk
numbers; each chunk worker reads the plan and writes its chunks plus a part of the manifest;
Finalize assembles the manifest, creates segments and jobs and marks the task ready. Every
step checks that its execution is still the task's current one, so a stale execution (the
task was deleted, or its data re-posted after a failure) changes nothing.
"""

import json
import posixpath
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from shared import archives, chunks, media, remote, storage
from shared.data import Sources, Stage, load_sources
from shared.errors import MediaError, NotFound
from shared.frames import chunk_key, manifest_key
from shared.jobs import create_jobs, delete_job_items, delete_jobs, plan_segments
from shared.server import share_key
from shared.steps import StepError, failure_message
from shared.tables import TaskItem
from shared.tasks import load_task

logger = Logger(child=True)


class Step(BaseModel):
    """What every step of the state machine receives."""

    task_id: int
    data_id: int
    execution: str


class ChunkStep(Step):
    chunk: int


class FailedStep(Step):
    error: StepError


class StaleExecution(Exception):
    """The task no longer waits for this execution (deleted, or data posted again)."""


@dataclass(frozen=True)
class Source:
    key: str  # S3 key of the bytes
    name: str  # relative path shown in the meta and exports


# ---------------------------------------------------------------- Prepare


def prepare(task_id: int, data_id: int, execution: str) -> dict[str, Any]:
    task = _current(task_id, execution)
    # this data id is this execution's alone: if the task goes away meanwhile, so does all of it
    with _undone_if_stale(lambda: storage.delete_prefix(storage.data_prefix(data_id))):
        return _prepare(task, data_id, execution)


def _prepare(task: TaskItem, data_id: int, execution: str) -> dict[str, Any]:
    data = task.data
    attached = load_sources(data_id)
    kind, media_sources = _classify(_gather_sources(task, attached))
    if kind == media.MediaType.PDF:
        raise MediaError("PDF documents are not supported yet: convert the pages to images and upload those")
    if kind in (media.MediaType.ARCHIVE, media.MediaType.ZIP):
        _set_stage(task, execution, Stage.EXTRACTING)
        media_sources = _extract(media_sources[0], data_id)
    if kind == media.MediaType.VIDEO:
        plan = _plan_video(media_sources[0], data, data_id)
    else:
        predefined = [remote.file_name(u) for u in attached.remote_files] or attached.client_files
        ordered = _sorted(media_sources, data["sorting_method"], predefined)
        plan = _plan_images(ordered, data, data_id)
    storage.put(_plan_key(data_id), json.dumps(plan).encode(), "application/json")
    count = -(-len(plan["frames"]) // plan["chunk_size"])
    _set_stage(task, execution, Stage.CHUNKS, chunks_total=count, chunks_done=0)
    return {"chunks": list(range(count))}


def _gather_sources(task: TaskItem, attached: Sources) -> list[Source]:
    sources: list[Source] = []
    prefix = storage.upload_prefix(int(task.task_id), str(task.upload_id))
    if attached.remote_files:
        sources += _remote_sources(task, attached.remote_files, prefix)
    uploads = [] if attached.remote_files else attached.uploads  # spec §5.1: remote files replace client files
    for announced in uploads:
        if announced["size"] == 0:
            raise MediaError(f"{announced['name']} is empty (0 bytes)")
        sources.append(Source(prefix + announced["name"], announced["name"]))
    if attached.server_files:
        _set_stage(task, str(task.execution_name), Stage.COPYING)
        sources += _share_sources(attached.server_files)
    return sources


def _remote_sources(task: TaskItem, urls: list[str], prefix: str) -> list[Source]:
    """Spec §5.2 step 1: each URL is downloaded into the upload area, named by the last segment
    of its path, one after the other within one time budget (shared/remote.py says what is
    refused). What a failure leaves there is removed by MarkFailed with the upload area."""
    names = [remote.file_name(url) for url in urls]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise MediaError(f"filename collision: {name}")
        seen.add(name)
    deadline = time.monotonic() + remote.TIMEOUT
    for index, url in enumerate(urls):
        _set_stage(task, str(task.execution_name), Stage.DOWNLOADING, chunks_total=len(urls), chunks_done=index)
        if _download(url, prefix + names[index], max(deadline - time.monotonic(), 0.001)) == 0:
            raise MediaError(f"{url} is empty (0 bytes)")
    return [Source(prefix + name, name) for name in names]


def _download(url: str, key: str, timeout: float) -> int:
    """Streams one URL into S3 (a multipart upload, so memory stays small); nothing is kept
    if the download is refused or fails."""
    writer = storage.S3Writer(key)
    try:
        size = remote.fetch(url, writer, timeout=timeout)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return size


def _share_sources(paths: list[str]) -> list[Source]:
    """Files and folders of the share. A folder listed with one of its own files counts once,
    as the folder (the spec's fix of CVAT's quirk)."""
    found: dict[str, Source] = {}
    root = share_key("")
    for path in paths:
        if ".." in path.replace("\\", "/").split("/"):
            raise MediaError("Don't use '..' inside file paths")
        try:
            key = share_key(path)
        except ValueError:
            raise MediaError(f"Bad file path: {path}") from None
        objects = list(storage.list_objects(key.rstrip("/") + "/"))
        if not key.endswith("/") and storage.exists(key):
            objects = [{"Key": key, "Size": storage.size_of(key)}]
        if not objects:
            raise MediaError(f"Bad file path: {path}")
        for item in objects:
            if item["Key"].endswith("/"):
                continue
            if item["Size"] == 0:
                raise MediaError(f"{item['Key'][len(root):]} is empty (0 bytes)")
            found[item["Key"]] = Source(item["Key"], item["Key"][len(root):])
    return list(found.values())


def _classify(sources: list[Source]) -> tuple[media.MediaType, list[Source]]:
    by_type: dict[media.MediaType, list[Source]] = {}
    for source in sources:
        kind = media.classify(source.name)
        if kind is not None:
            by_type.setdefault(kind, []).append(source)
    if not by_type:
        raise MediaError("No media data found")
    images = by_type.get(media.MediaType.IMAGE, [])
    singles = {k: v for k, v in by_type.items() if k != media.MediaType.IMAGE}
    if images and not singles:
        return media.MediaType.IMAGE, images
    if len(singles) == 1 and not images:
        (kind, found), = singles.items()
        if len(found) == 1:
            return kind, found
    # the share's folders are expanded into their files, so no directory is ever counted
    counted = {label: len(by_type.get(media.MediaType(label), [])) if label != "directory" else 0
               for label in ("image", "video", "archive", "directory", "pdf", "zip")}
    counts = ", ".join(f"{count} {label}(s)" for label, count in counted.items())
    raise MediaError(
        "Only one video, archive, pdf, zip or many image, directory can be used simultaneously, "
        f"but {counts} found."
    )


def _extract(archive: Source, data_id: int) -> list[Source]:
    """Unpacks the images of an archive into data/{id}/raw/ (other members are ignored)."""
    raw = storage.data_prefix(data_id) + "raw/"
    extracted: list[Source] = []
    with storage.S3Reader(archive.key) as reader, ThreadPoolExecutor(max_workers=8) as pool:
        uploads = []
        for name, content in archives.members(archive.name, reader):  # type: ignore[arg-type]
            if media.classify(name) != media.MediaType.IMAGE:
                continue
            if not content:
                raise MediaError(f"{name} in {posixpath.basename(archive.name)} is empty (0 bytes)")
            source = Source(raw + name, name)
            extracted.append(source)
            uploads.append(pool.submit(storage.put, source.key, content))
        for upload in uploads:
            upload.result()
    if not extracted:
        raise MediaError(f"No media data found: {posixpath.basename(archive.name)} holds no images")
    return extracted


def _sorted(sources: list[Source], method: str, predefined: list[str]) -> list[Source]:
    if method == "predefined":
        order = {name: index for index, name in enumerate(predefined)}
        return sorted(sources, key=lambda s: (order.get(s.name, len(order)), s.name))
    if method == "natural":
        return sorted(sources, key=lambda s: _natural_key(s.name))
    return sorted(sources, key=lambda s: s.name)


def _natural_key(name: str) -> list[Any]:
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in re.split(r"(\d+)", name)]


def _selection(count: int, data: dict[str, Any]) -> list[int]:
    start, stop, step = int(data["start_frame"]), data.get("stop_frame"), int(data.get("step", 1))
    if count == 0:
        raise MediaError("No media data found")
    if start >= count:
        raise MediaError(f"start_frame {start} is beyond the last frame of the media ({count} frames: 0..{count - 1})")
    last = count - 1 if stop is None else min(int(stop), count - 1)
    selected = list(range(start, last + 1, step))
    if not selected:
        raise MediaError("The frame filter selects no frame")
    return selected


def _plan_images(sources: list[Source], data: dict[str, Any], data_id: int) -> dict[str, Any]:
    selected = _selection(len(sources), data)
    first = storage.get(sources[0].key)
    width, height = media.image_size(first, sources[0].name)
    preview = media.make_preview(media.open_upright(first, sources[0].name))
    storage.put(storage.data_prefix(data_id) + "preview.jpeg", preview, "image/jpeg")
    chunk_size = data.get("chunk_size") or media.default_chunk_size(width, height)
    return {
        "kind": "images",
        "chunk_size": int(chunk_size),
        "quality": int(data["image_quality"]),
        "compressed": "imageset",
        "original": "imageset",
        "frames": [asdict(sources[index]) for index in selected],
    }


def _plan_video(source: Source, data: dict[str, Any], data_id: int) -> dict[str, Any]:
    with storage.S3Reader(source.key) as reader:
        try:
            probe = media.probe_video(reader)  # type: ignore[arg-type]
        except MediaError as error:
            raise MediaError(f"{source.name}: {error}") from None
        selected = _selection(probe.frame_count, data)
        preview = media.video_preview(reader, probe)  # type: ignore[arg-type]
    storage.put(storage.data_prefix(data_id) + "preview.jpeg", preview, "image/jpeg")
    zip_chunks = bool(data["use_zip_chunks"])
    chunk_size = data.get("chunk_size") or (
        media.default_chunk_size(probe.width, probe.height) if zip_chunks else media.VIDEO_CHUNK_SIZE
    )
    return {
        "kind": "video",
        "chunk_size": int(chunk_size),
        "quality": int(data["image_quality"]),
        "compressed": "imageset" if zip_chunks else "video",
        "original": "video",
        "source": asdict(source),
        "probe": probe.to_dict(),
        "frames": selected,
        "width": probe.width,
        "height": probe.height,
    }


# ---------------------------------------------------------------- BuildChunk


def build_chunk(task_id: int, data_id: int, execution: str, chunk: int) -> dict[str, Any]:
    task = _current(task_id, execution)
    plan = json.loads(storage.get(_plan_key(data_id)))
    size = plan["chunk_size"]
    frames = plan["frames"][chunk * size:(chunk + 1) * size]
    written = [chunk_key(data_id, quality, chunk, plan[quality]) for quality in ("compressed", "original")]
    with _undone_if_stale(lambda: storage.delete_keys([*written, _part_key(data_id, chunk)])):
        if plan["kind"] == "images":
            part = _image_chunk(data_id, chunk, frames, plan["quality"])
        else:
            part = _video_chunk(data_id, chunk, frames, plan)
        storage.put(_part_key(data_id, chunk), json.dumps(part).encode(), "application/json")
        _update_current(task, execution, [TaskItem.chunks_done.add(1)])
    return {"chunk": chunk, "frames": len(frames)}


def _image_chunk(data_id: int, chunk: int, frames: list[dict[str, str]], quality: int) -> dict[str, Any]:
    contents = storage.get_many([f["key"] for f in frames])
    images = [media.process_image(content, frame["name"], quality)
              for frame, content in zip(frames, contents, strict=True)]
    members = {}
    for quality_name, archive in zip(("compressed", "original"), chunks.build_image_chunks(images), strict=True):
        storage.put(chunk_key(data_id, quality_name, chunk, "imageset"), archive.data, "application/zip")
        members[quality_name] = _member_offsets(archive.members)
    sizes = [{"name": frame["name"], "width": image.width, "height": image.height}
             for frame, image in zip(frames, images, strict=True)]
    return {"frames": sizes, "members": members}


def _member_offsets(members: tuple[chunks.ZipMember, ...]) -> list[list[Any]]:
    """Where each frame's bytes lie in its ZIP chunk, for one Range request per frame."""
    return [[m.offset, m.length, posixpath.splitext(m.name)[1]] for m in members]


def _video_chunk(data_id: int, chunk: int, indices: list[int], plan: dict[str, Any]) -> dict[str, Any]:
    probe = media.VideoProbe.from_dict(plan["probe"])
    zip_compressed = plan["compressed"] == "imageset"
    with storage.S3Reader(plan["source"]["key"]) as reader:
        # iter_frames yields every requested index (a frame the decoder drops repeats its neighbour)
        frames = (frame for _, frame in media.iter_frames(reader, probe, indices))  # type: ignore[arg-type]
        built = chunks.build_video_chunks(frames, plan["quality"], zip_compressed=zip_compressed)
    storage.put(chunk_key(data_id, "original", chunk, "video"), built.original, "video/mp4")
    compressed_kind = "imageset" if zip_compressed else "video"
    storage.put(chunk_key(data_id, "compressed", chunk, compressed_kind), built.compressed,
                "application/zip" if zip_compressed else "video/mp4")
    part: dict[str, Any] = {"frames": []}
    if zip_compressed:
        part["members"] = {"compressed": _member_offsets(built.compressed_members)}
    return part


# ---------------------------------------------------------------- Finalize


def finalize(task_id: int, data_id: int, execution: str) -> dict[str, Any]:
    task = _current(task_id, execution)
    _set_stage(task, execution, Stage.SAVING)
    plan = json.loads(storage.get(_plan_key(data_id)))
    count = -(-len(plan["frames"]) // plan["chunk_size"])
    with ThreadPoolExecutor(max_workers=16) as pool:
        parts = list(pool.map(lambda c: json.loads(storage.get(_part_key(data_id, c))), range(count)))
    manifest = _manifest(plan, parts)
    storage.put(manifest_key(data_id), json.dumps(manifest).encode(), "application/json")

    data = dict(task.data)
    size = len(plan["frames"])
    interpolation = plan["kind"] == "video"
    step = int(data.get("step", 1))
    last = int(data["start_frame"]) + (size - 1) * step
    overlap, segments = plan_segments(size, int(task.segment_size), _optional_int(task.overlap), interpolation)
    delete_jobs(task_id)  # a retried Finalize must not leave the jobs of its first attempt
    jobs = create_jobs(task_id, segments)
    data.update({
        "size": size,
        "chunk_size": plan["chunk_size"],
        "stop_frame": min(int(data["stop_frame"]), last) if data.get("stop_frame") else last,
        "compressed_chunk_type": plan["compressed"],
        "original_chunk_type": plan["original"],
    })
    with _undone_if_stale(lambda: delete_job_items(jobs)):
        _update_current(task, execution, [
            TaskItem.data.set(data),
            TaskItem.mode.set("interpolation" if interpolation else "annotation"),
            TaskItem.overlap.set(overlap),
            TaskItem.stage.set(Stage.DONE.value),
        ])
    _clean_up(task, data_id)
    return {"size": size, "jobs": len(segments)}


def _manifest(plan: dict[str, Any], parts: list[dict[str, Any]]) -> dict[str, Any]:
    if plan["kind"] == "video":
        frames = [{"width": plan["width"], "height": plan["height"], "name": plan["source"]["name"]}]
    else:
        frames = [frame for part in parts for frame in part["frames"]]
    members: dict[str, list[Any]] = {}
    for quality in ("compressed", "original"):
        if plan[quality] == "imageset":
            members[quality] = [member for part in parts for member in part["members"][quality]]
    return {
        "kind": plan["kind"],
        "size": len(plan["frames"]),
        "chunk_size": plan["chunk_size"],
        "compressed": plan["compressed"],
        "original": plan["original"],
        "frames": frames,
        "members": members,
    }


def _clean_up(task: TaskItem, data_id: int) -> None:
    """Sources are no longer needed once chunks exist (original chunks keep the source bytes)."""
    prefixes = [storage.data_prefix(data_id) + "parts/", storage.data_prefix(data_id) + "raw/"]
    if task.upload_id:
        prefixes.append(storage.upload_prefix(int(task.task_id), str(task.upload_id)))
    for prefix in prefixes:
        try:
            storage.delete_prefix(prefix)
        except Exception:
            logger.exception("clean-up failed", extra={"prefix": prefix})


# ---------------------------------------------------------------- MarkFailed


def mark_failed(task_id: int, data_id: int, execution: str, error: dict[str, Any]) -> dict[str, Any]:
    message = failure_message(error)
    try:
        task = _current(task_id, execution)
    except (StaleExecution, NotFound):
        logger.info("a stale execution failed", extra={"execution": execution, "failure": message})
        return {"recorded": False}
    if task.stage == Stage.DONE:
        return {"recorded": False}
    delete_jobs(task_id)
    storage.delete_prefix(storage.data_prefix(data_id))
    if task.upload_id:
        storage.delete_prefix(storage.upload_prefix(task_id, str(task.upload_id)))
    data = dict(task.data or {})
    data.update({"size": 0, "chunk_size": None, "compressed_chunk_type": "imageset",
                 "original_chunk_type": "imageset"})
    task.update(
        actions=[
            TaskItem.data.set(data),
            TaskItem.stage.set(Stage.FAILED.value),
            TaskItem.error.set(message),
        ],
        condition=TaskItem.execution_name == execution,
    )
    return {"recorded": True, "message": message}


# ---------------------------------------------------------------- helpers


def _current(task_id: int, execution: str) -> TaskItem:
    try:
        task = load_task(task_id)
    except NotFound:
        raise StaleExecution(execution) from None
    if task.execution_name != execution or task.data is None:
        raise StaleExecution(execution)
    return task


def _set_stage(task: TaskItem, execution: str, stage: Stage, **counters: int) -> None:
    actions: list[Action] = [TaskItem.stage.set(stage.value)]
    actions += [getattr(TaskItem, name).set(value) for name, value in counters.items()]
    _update_current(task, execution, actions)


def _update_current(task: TaskItem, execution: str, actions: list[Action]) -> None:
    """Updates the task only while this execution is still the one it waits for."""
    try:
        task.update(actions=actions, condition=TaskItem.execution_name == execution)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise StaleExecution(execution) from None
        raise


@contextmanager
def _undone_if_stale(undo: Callable[[], object]) -> Iterator[None]:
    """A step that learns its task was deleted (or re-attached) removes what it wrote, so
    nothing is orphaned by work that was already running."""
    try:
        yield
    except StaleExecution:
        undo()
        raise


def _optional_int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _plan_key(data_id: int) -> str:
    return storage.data_prefix(data_id) + "plan.json"


def _part_key(data_id: int, chunk: int) -> str:
    return f"{storage.data_prefix(data_id)}parts/{chunk:06d}.json"

"""Reading a built task: chunks, frames, the preview and the data meta (spec §6, §7).

Chunks are served by redirect to a presigned S3 URL. A frame of a ZIP chunk is fetched with one
Range request (the manifest records where each member's bytes lie); a frame of an MP4 chunk is
decoded from the chunk and answered as PNG.
"""

import json
import mimetypes
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared import storage
from shared.auth import Principal
from shared.errors import NotFound, ValidationFailed
from shared.tasks import task_for

DIRECT_LIMIT = 4 * 1024 * 1024  # larger frames go by redirect (Lambda answers at most 6 MB)
TYPES = ("chunk", "frame", "preview")
QUALITIES = ("compressed", "original")


@dataclass(frozen=True)
class DataRequest:
    type: str
    number: str | None
    quality: str


@dataclass(frozen=True)
class Answer:
    content: bytes | None = None
    content_type: str = "application/octet-stream"
    location: str | None = None


def parse_request(kind: str | None, number: str | None, quality: str | None) -> DataRequest:
    """The parameter checks come before the task lookup (spec §6, steps 1-3)."""
    if kind not in TYPES:
        raise ValidationFailed("data type not specified or has wrong value")
    if kind in ("chunk", "frame"):
        if number is None or number == "":
            raise ValidationFailed("number not specified")
        if quality is not None and quality not in QUALITIES:
            raise ValidationFailed("wrong quality value")
    return DataRequest(kind, number, quality or "compressed")


def read(principal: Principal, task_id: int, request: DataRequest) -> Answer:
    task, _ = task_for(principal, task_id)
    data = task.data
    try:
        if data is None or task.stage != "done":
            raise _Unavailable("The task has no data yet")
        if request.type == "preview":
            return Answer(storage.get(_key(data, "preview.jpeg")), "image/jpeg")
        number = _number(request.number)
        manifest = load_manifest(int(data["id"]))
        if request.type == "chunk":
            return _chunk(data, manifest, number, request.quality)
        return _frame(data, manifest, number, request.quality)
    except _Unavailable as reason:
        shown = f"Quality.{request.quality.upper()}" if request.type != "preview" else None
        raise ValidationFailed(
            f"cannot get requested data type: {request.type}, number: {request.number}, quality: {shown}\n{reason}"
        ) from None


def data_meta(principal: Principal, task_id: int) -> dict[str, Any]:
    task, _ = task_for(principal, task_id)
    data = task.data
    if data is None:
        raise NotFound("The task has no data.")
    frames = load_manifest(int(data["id"]))["frames"] if task.stage == "done" else []
    return {
        "chunk_size": data.get("chunk_size"),
        "size": data["size"],
        "image_quality": data["image_quality"],
        "start_frame": data["start_frame"],
        "stop_frame": data.get("stop_frame") or 0,
        "frame_filter": data["frame_filter"],
        "frames": frames,
    }


class _Unavailable(Exception):
    pass


def _number(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        raise _Unavailable(f"invalid literal for int() with base 10: '{raw}'") from None


def _chunk(data: dict[str, Any], manifest: dict[str, Any], number: int, quality: str) -> Answer:
    count = -(-int(data["size"]) // int(data["chunk_size"]))
    if not 0 <= number < count:
        raise _Unavailable("requested chunk does not exist")
    kind = manifest[quality]
    key = chunk_key(int(data["id"]), quality, number, kind)
    return Answer(location=storage.presigned_get(key, content_type=_CHUNK_TYPES[kind]))


def _frame(data: dict[str, Any], manifest: dict[str, Any], number: int, quality: str) -> Answer:
    if not 0 <= number < int(data["size"]):
        raise _Unavailable(f"Incorrect requested frame number: {number}")
    chunk_size = int(data["chunk_size"])
    chunk, offset = divmod(number, chunk_size)
    kind = manifest[quality]
    key = chunk_key(int(data["id"]), quality, chunk, kind)
    if kind == "imageset":
        start, length, extension = manifest["members"][quality][number]
        content = storage.get(key, (start, start + length - 1))
        content_type = image_content_type(extension)
    else:
        from shared.chunks import read_video_chunk_frame

        content = read_video_chunk_frame(_video_chunk(key), offset)
        content_type, extension = "image/png", ".png"
    if len(content) <= DIRECT_LIMIT:
        return Answer(content, content_type)
    frame_key = _key(data, f"frames/{quality}/{number}{extension}")
    if not storage.exists(frame_key):
        storage.put(frame_key, content, content_type)
    return Answer(location=storage.presigned_get(frame_key, content_type=content_type))


_CHUNK_TYPES = {"imageset": "application/zip", "video": "video/mp4"}
# Python's table lacks some image types on some versions (webp before 3.13)
_IMAGE_TYPES = {".webp": "image/webp", ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff",
                ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif"}


def image_content_type(extension: str) -> str:
    extension = extension.lower()
    return _IMAGE_TYPES.get(extension) or mimetypes.types_map.get(extension, "application/octet-stream")
_CHUNK_EXTENSIONS = {"imageset": "zip", "video": "mp4"}


def chunk_key(data_id: int, quality: str, number: int, kind: str) -> str:
    return f"{storage.data_prefix(data_id)}{quality}/{number:06d}.{_CHUNK_EXTENSIONS[kind]}"


def manifest_key(data_id: int) -> str:
    return f"{storage.data_prefix(data_id)}manifest.json"


def _key(data: dict[str, Any], name: str) -> str:
    return storage.data_prefix(int(data["id"])) + name


class _Lru:
    """Least recently used values up to a budget (of items, or of bytes with `weigh=len`)."""

    def __init__(self, budget: int, weigh: Callable[[Any], int] = lambda value: 1) -> None:
        self._budget = budget
        self._weigh = weigh
        self._used = 0
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_load(self, key: Any, load: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = load()
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self._used += self._weigh(value)
            while self._used > self._budget and len(self._items) > 1:
                self._used -= self._weigh(self._items.popitem(last=False)[1])
        return value


# A built task never changes, so its manifest and chunks can stay in memory while warm
# (annotators read neighbouring frames: one chunk serves many requests).
_manifests = _Lru(32)
_chunks = _Lru(256 * 1024 * 1024, weigh=len)


def load_manifest(data_id: int) -> dict[str, Any]:
    return _manifests.get_or_load(data_id, lambda: json.loads(storage.get(manifest_key(data_id))))


def _video_chunk(key: str) -> bytes:
    return _chunks.get_or_load(key, lambda: storage.get(key))

"""The media bucket: keys, reads, writes, presigned URLs and a seekable reader.

Layout (architecture §4):
  uploads/{task_id}/{upload_id}/{path}   client uploads
  share/{path}                           the server share (server_files)
  data/{data_id}/...                     plan, manifest, chunks, preview, extracted archives
"""

import io
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared import aws
from shared.config import settings

PRESIGN_SECONDS = 900  # presigned URLs expire within 15 minutes


def bucket() -> str:
    return settings().media_bucket


def upload_prefix(task_id: int, upload_id: str) -> str:
    return f"uploads/{task_id}/{upload_id}/"


def data_prefix(data_id: int) -> str:
    return f"data/{data_id}/"


def put(key: str, body: bytes, content_type: str = "application/octet-stream", **extra: Any) -> None:
    aws.s3().put_object(Bucket=bucket(), Key=key, Body=body, ContentType=content_type, **extra)


def get(key: str, byte_range: tuple[int, int] | None = None) -> bytes:
    """The object's bytes, or bytes [start, end] inclusive of it."""
    args: dict[str, Any] = {"Bucket": bucket(), "Key": key}
    if byte_range is not None:
        args["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
    return bytes(aws.s3().get_object(**args)["Body"].read())


def exists(key: str) -> bool:
    client = aws.s3()
    try:
        client.head_object(Bucket=bucket(), Key=key)
    except client.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def size_of(key: str) -> int:
    return int(aws.s3().head_object(Bucket=bucket(), Key=key)["ContentLength"])


def list_objects(prefix: str) -> Iterator[dict[str, Any]]:
    """Every object under the prefix: dicts with Key and Size."""
    paginator = aws.s3().get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket(), Prefix=prefix):
        yield from page.get("Contents", [])


def list_directory(prefix: str) -> tuple[list[str], list[str]]:
    """Sub-folder names and file names directly under a prefix ending in '/'."""
    folders: list[str] = []
    files: list[str] = []
    paginator = aws.s3().get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket(), Prefix=prefix, Delimiter="/"):
        folders += [p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes", [])]
        files += [o["Key"][len(prefix):] for o in page.get("Contents", []) if o["Key"] != prefix]
    return folders, files


def delete_keys(keys: list[str]) -> None:
    client = aws.s3()
    for start in range(0, len(keys), 1000):
        batch = [{"Key": k} for k in keys[start:start + 1000]]
        client.delete_objects(Bucket=bucket(), Delete={"Objects": batch, "Quiet": True})


def delete_prefix(prefix: str) -> int:
    """Deletes every object under the prefix; returns how many."""
    if not prefix.endswith("/"):
        raise ValueError("refusing to delete a prefix that is not a folder")
    keys = [o["Key"] for o in list_objects(prefix)]
    delete_keys(keys)
    return len(keys)


def presigned_get(key: str, *, filename: str | None = None, content_type: str | None = None) -> str:
    params: dict[str, Any] = {"Bucket": bucket(), "Key": key}
    if filename:
        params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
    if content_type:
        params["ResponseContentType"] = content_type
    return str(aws.s3().generate_presigned_url("get_object", Params=params, ExpiresIn=PRESIGN_SECONDS))


def presigned_post(key: str, size: int) -> dict[str, Any]:
    """A browser-style POST upload of exactly one object: S3 checks the signed policy, which
    names this key (botocore adds the exact {"key": ...} condition) and allows exactly `size`
    bytes, so neither another name nor another length is stored. Answers {"url", "fields"}."""
    conditions = [["content-length-range", size, size]]
    post = aws.s3().generate_presigned_post(bucket(), key, Conditions=conditions, ExpiresIn=PRESIGN_SECONDS)
    return {"url": str(post["url"]), "fields": {k: str(v) for k, v in post["fields"].items()}}


def presigned_put_any(key: str) -> str:
    """A presigned PUT of any size (for documents whose size the client does not announce)."""
    params = {"Bucket": bucket(), "Key": key}
    return str(aws.s3().generate_presigned_url("put_object", Params=params, ExpiresIn=PRESIGN_SECONDS))


def get_many(keys: list[str], threads: int = 8) -> list[bytes]:
    """Downloads objects in parallel, in the order given."""
    if len(keys) <= 1:
        return [get(k) for k in keys]
    with ThreadPoolExecutor(max_workers=min(threads, len(keys))) as pool:
        return list(pool.map(get, keys))


class S3Reader(io.RawIOBase):
    """A seekable, read-only file over one S3 object, fetched in blocks with Range requests,
    so FFmpeg and zipfile read only the parts of a large object they need."""

    def __init__(self, key: str, block_size: int = 4 * 1024 * 1024, max_blocks: int = 16) -> None:
        super().__init__()
        self.key = key
        self.size = size_of(key)
        self._position = 0
        self._block_size = block_size
        self._max_blocks = max_blocks
        self._blocks: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self.size - self._position)
        done = 0
        while done < wanted:
            index, start = divmod(self._position, self._block_size)
            block = self._block(index)
            piece = block[start:start + wanted - done]
            if not piece:
                break
            view[done:done + len(piece)] = piece
            done += len(piece)
            self._position += len(piece)
        return done

    def _block(self, index: int) -> bytes:
        with self._lock:
            block = self._blocks.get(index)
            if block is None:
                start = index * self._block_size
                end = min(start + self._block_size, self.size) - 1
                block = get(self.key, (start, end))
                if len(self._blocks) >= self._max_blocks:
                    self._blocks.pop(next(iter(self._blocks)))
                self._blocks[index] = block
            return block


class S3Writer(io.RawIOBase):
    """A write-only stream into one S3 object by multipart upload: memory stays at one part
    however large the object grows (zipfile writes archives into it without seeking)."""

    PART_SIZE = 16 * 1024 * 1024

    def __init__(self, key: str, content_type: str = "application/octet-stream", **extra: Any) -> None:
        super().__init__()
        self.key = key
        self._client = aws.s3()
        self._upload_id = self._client.create_multipart_upload(Bucket=bucket(), Key=key, ContentType=content_type,
                                                                **extra)["UploadId"]
        self._parts: list[dict[str, Any]] = []
        self._buffer = bytearray()
        self._written = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._written

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._buffer += view
        self._written += len(view)
        if len(self._buffer) >= self.PART_SIZE:
            self._send_part()
        return len(view)

    def _send_part(self) -> None:
        number = len(self._parts) + 1
        answer = self._client.upload_part(Bucket=bucket(), Key=self.key, UploadId=self._upload_id,
                                          PartNumber=number, Body=bytes(self._buffer))
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self._buffer.clear()

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._buffer or not self._parts:
                self._send_part()
            self._client.complete_multipart_upload(Bucket=bucket(), Key=self.key, UploadId=self._upload_id,
                                                   MultipartUpload={"Parts": self._parts})
        finally:
            super().close()

    def abort(self) -> None:
        """Gives up: nothing is stored."""
        self._client.abort_multipart_upload(Bucket=bucket(), Key=self.key, UploadId=self._upload_id)
        super().close()

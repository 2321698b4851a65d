"""Request bodies in the three encodings CVAT v1 accepts on every write endpoint.

JSON, application/x-www-form-urlencoded and multipart/form-data all become one dict. Form
lists use indexed keys (`client_files[0]`, `server_files[3]`), which become lists in index
order; uploaded files become `UploadedFile` values.
"""

import json
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from shared.errors import PayloadTooLarge, ValidationFailed

_INDEXED = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<index>\d+)\]$")


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


MEDIA_UPLOADS = "Upload large media through POST /api/v1/tasks/{id}/uploads (presigned S3 URLs) instead."


def parse_body(content_type: str, body: bytes, *, limit: int, too_large: str = MEDIA_UPLOADS) -> dict[str, Any]:
    """The body as a dict; above `limit` bytes a 413 whose message ends with `too_large`."""
    if len(body) > limit:
        raise PayloadTooLarge(
            f"The request body is {len(body)} bytes, above the {limit} bytes an API request may carry. {too_large}"
        )
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        return {}
    if kind == "application/x-www-form-urlencoded":
        return _fold_indexed(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if kind == "multipart/form-data":
        return _fold_indexed(_multipart_fields(content_type, body))
    return _json(body)


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValidationFailed({"detail": f"JSON parse error - {error}"}) from None
    if not isinstance(value, dict):
        raise ValidationFailed(
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(value).__name__}."]}
        )
    return value


def _multipart_fields(content_type: str, body: bytes) -> list[tuple[str, Any]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValidationFailed({"detail": "Multipart form parse error - Invalid boundary in multipart: None"})
    fields: list[tuple[str, Any]] = []
    for part in message.iter_parts():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        assert isinstance(payload, bytes)
        filename = part.get_filename()
        if filename is not None:
            declared = part.get_content_type() if part.get("content-type") else "application/octet-stream"
            fields.append((str(name), UploadedFile(filename, payload, declared)))
        else:
            charset = part.get_content_charset() or "utf-8"
            fields.append((str(name), payload.decode(charset, "replace")))
    return fields


def _fold_indexed(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`a[2]=x&a[0]=y&b=z` -> {"a": ["y", "x"], "b": "z"}; repeated plain keys keep the last."""
    result: dict[str, Any] = {}
    indexed: dict[str, dict[int, Any]] = {}
    for key, value in pairs:
        match = _INDEXED.match(key)
        if match:
            indexed.setdefault(match["name"], {})[int(match["index"])] = value
        else:
            result[key] = value
    for name, items in indexed.items():
        result[name] = [items[i] for i in sorted(items)]
    return result

"""Files in and out of format modules: the archive an exporter writes into, the uploaded file
an importer reads (a ZIP or a bare file, told apart by content, never by name), and safe XML.

Reading is defensive: XML through defusedxml (no DTDs, entities or external references), ZIP
members without path escapes and within limits of count and size.
"""

import io
import math
import posixpath
import zipfile
from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from shared.formats.model import FormatError

MAX_MEMBERS = 200_000
MAX_MEMBER_BYTES = 1024**3
MAX_TOTAL_BYTES = 4 * 1024**3


class Archive:
    """The ZIP an exporter writes: members go out one after another (the ZIP may be a stream)."""

    def __init__(self, target: zipfile.ZipFile) -> None:
        self.zip = target
        self.names: list[str] = []

    def write(self, name: str, data: bytes | str, *, compress: bool = True) -> None:
        payload = data.encode() if isinstance(data, str) else data
        self.names.append(name)
        self.zip.writestr(self._info(name, compress), payload)

    def open(self, name: str, *, compress: bool = True) -> IO[bytes]:
        """A member to write in pieces (for documents too large to build in memory)."""
        self.names.append(name)
        return self.zip.open(self._info(name, compress), "w", force_zip64=True)

    @staticmethod
    def _info(name: str, compress: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        return info


def memory_archive() -> tuple[Archive, io.BytesIO]:
    """An archive in memory (tests, small exports)."""
    buffer = io.BytesIO()
    return Archive(zipfile.ZipFile(buffer, "w", compresslevel=6)), buffer


class ImportFile:
    """An uploaded annotation file: a ZIP (by content) or a bare document."""

    def __init__(self, stream: IO[bytes], name: str = "annotations") -> None:
        self.stream = stream
        self.name = name
        stream.seek(0)
        self.is_zip = zipfile.is_zipfile(stream)
        stream.seek(0)
        self._zip: zipfile.ZipFile | None = None
        self._members: list[zipfile.ZipInfo] = []
        if self.is_zip:
            self._open_zip()

    def _open_zip(self) -> None:
        try:
            self._zip = zipfile.ZipFile(self.stream)
        except (zipfile.BadZipFile, OSError) as error:
            raise FormatError(f"{self.name}: not a readable ZIP archive ({error})") from None
        members = [info for info in self._zip.infolist() if not info.is_dir()]
        if len(members) > MAX_MEMBERS:
            raise FormatError(f"{self.name}: the archive has {len(members)} files; at most {MAX_MEMBERS} are read")
        total = 0
        for info in members:
            _check_member_name(info.filename)
            if info.file_size > MAX_MEMBER_BYTES:
                raise FormatError(f"{info.filename}: {info.file_size} bytes unpacked; at most {MAX_MEMBER_BYTES}")
            total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise FormatError(f"{self.name}: {total} bytes unpacked; at most {MAX_TOTAL_BYTES} are read")
        self._members = sorted(members, key=lambda info: info.filename)

    def names(self) -> list[str]:
        """Member names of a ZIP (sorted; directories left out); a bare file has none."""
        return [info.filename for info in self._members]

    def open_member(self, name: str) -> IO[bytes]:
        assert self._zip is not None
        try:
            return self._zip.open(name)
        except KeyError:
            raise FormatError(f"{self.name}: the archive has no {name}") from None

    def read_member(self, name: str) -> bytes:
        with self.open_member(name) as member:
            return member.read()

    def documents(self, *suffixes: str) -> Iterator[tuple[str, IO[bytes]]]:
        """The bare file itself, or every member of a ZIP whose name ends with a suffix
        (case-insensitive), in name order."""
        if not self.is_zip:
            self.stream.seek(0)
            yield self.name, self.stream
            return
        for name in self.names():
            if name.lower().endswith(tuple(s.lower() for s in suffixes)):
                with self.open_member(name) as member:
                    yield name, member


def _check_member_name(name: str) -> None:
    normal = posixpath.normpath(name.replace("\\", "/"))
    if normal.startswith(("/", "../")) or normal == ".." or ":" in normal.split("/", 1)[0]:
        raise FormatError(f"{name}: a path outside the archive")


def xml_elements(stream: IO[bytes], name: str) -> Iterator[tuple[str, Element]]:
    """("start" | "end", element) events of an XML document, parsed safely; a broken or unsafe
    document fails with its name and the line and column of the problem."""
    try:
        yield from iterparse(stream, events=("start", "end"), forbid_dtd=True)
    except ParseError as error:
        line, column = error.position
        raise FormatError(f"{name}: line {line}, column {column}: {error.msg}") from None
    except DefusedXmlException as error:
        raise FormatError(f"{name}: refused, {error}") from None


def parse_xml(stream: IO[bytes], name: str) -> Element:
    """A small XML document (VOC, LabelMe) as a tree, parsed safely."""
    root: Element | None = None
    for event, element in xml_elements(stream, name):
        if event == "end":
            root = element
    if root is None:
        raise FormatError(f"{name}: empty XML document")
    return root


def number(value: Any, what: str) -> float:
    """A number from a file, or an error that names what it should have been."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise FormatError(f"{what}: '{value}' is not a number") from None
    if not math.isfinite(result):
        raise FormatError(f"{what}: '{value}' is not a finite number")
    return result

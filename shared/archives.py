"""Safe reading of uploaded archives: zip, tar (plain, gz, bz2, xz) and single-file gz/bz2/xz.

Members are yielded one at a time with normalised relative names; absolute paths, `..`,
links and devices are skipped, and limits on member count and sizes stop archive bombs.
"""

import bz2
import gzip
import lzma
import posixpath
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any, BinaryIO

from shared.errors import MediaError

MAX_MEMBERS = 100_000
MAX_MEMBER_BYTES = 2 * 1024**3
MAX_TOTAL_BYTES = 50 * 1024**3
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")
_SINGLE: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_UNSUPPORTED = (".7z", ".cpio")


def safe_name(name: str) -> str | None:
    """A relative, normalised path inside the archive, or None for names that would escape."""
    path = name.replace("\\", "/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return None
    normal = posixpath.normpath(path)
    if normal in (".", "..") or normal.startswith("../") or "\0" in normal:
        return None
    return normal


def members(name: str, stream: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """(relative path, bytes) of every regular file in the archive called `name`."""
    lower = name.lower()
    if lower.endswith(_UNSUPPORTED):
        raise MediaError(f"{posixpath.basename(name)}: 7z and cpio archives are not supported; use zip or tar")
    if lower.endswith(".zip"):
        yield from _zip_members(name, stream)
    elif lower.endswith(_TAR_SUFFIXES):
        yield from _tar_members(name, stream)
    else:
        suffix = next((s for s in _SINGLE if lower.endswith(s)), None)
        if suffix is None:
            raise MediaError(f"{posixpath.basename(name)} is not an archive this service can read")
        inner = posixpath.basename(name)[: -len(suffix)]
        try:
            with _SINGLE[suffix](stream) as unpacked:
                yield inner, _read_limited(unpacked, inner)
        except (OSError, EOFError, lzma.LZMAError) as error:
            raise MediaError(f"{posixpath.basename(name)} is not a valid {suffix[1:]} file: {error}") from None


def _zip_members(name: str, stream: BinaryIO) -> Iterator[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError) as error:
        raise MediaError(f"{posixpath.basename(name)} is not a valid zip archive: {error}") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir() and not _zip_link(i)]
        _check_limits(name, len(infos), sum(i.file_size for i in infos))
        for info in infos:
            member = safe_name(_zip_name(info))
            if member is None:
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                raise MediaError(f"{member} in {posixpath.basename(name)} is larger than {MAX_MEMBER_BYTES} bytes")
            try:
                yield member, archive.read(info)
            except (zipfile.BadZipFile, OSError, EOFError) as error:
                raise MediaError(f"{member} in {posixpath.basename(name)} cannot be read: {error}") from None


def _zip_name(info: zipfile.ZipInfo) -> str:
    """Names without the UTF-8 flag are decoded as cp437 by zipfile; many tools write UTF-8
    without setting the flag, so try that first."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _zip_link(info: zipfile.ZipInfo) -> bool:
    kind = stat.S_IFMT(info.external_attr >> 16)
    return kind not in (0, stat.S_IFREG)


def _tar_members(name: str, stream: BinaryIO) -> Iterator[tuple[str, bytes]]:
    try:
        archive = tarfile.open(fileobj=stream, mode="r:*")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError, EOFError) as error:
        raise MediaError(f"{posixpath.basename(name)} is not a valid tar archive: {error}") from None
    count = total = 0
    with archive:
        try:
            for info in archive:
                if not info.isreg():
                    continue
                count += 1
                total += info.size
                _check_limits(name, count, total)
                member = safe_name(info.name)
                extracted = archive.extractfile(info)
                if member is None or extracted is None:
                    continue
                yield member, _read_limited(extracted, member)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise MediaError(f"{posixpath.basename(name)} is a damaged tar archive: {error}") from None


def _read_limited(stream: IO[bytes], member: str) -> bytes:
    content = stream.read(MAX_MEMBER_BYTES + 1)
    if len(content) > MAX_MEMBER_BYTES:
        raise MediaError(f"{member} is larger than {MAX_MEMBER_BYTES} bytes")
    return content


def _check_limits(name: str, count: int, total: int) -> None:
    if count > MAX_MEMBERS:
        raise MediaError(f"{posixpath.basename(name)} holds more than {MAX_MEMBERS} files")
    if total > MAX_TOTAL_BYTES:
        raise MediaError(f"{posixpath.basename(name)} unpacks to more than {MAX_TOTAL_BYTES} bytes")

"""Media primitives for the media workers: classify uploads, read images upright and
convert them for display, probe and decode videos. Pure functions on bytes and seekable
binary file objects; nothing here knows about storage or AWS."""

import io
import math
import mimetypes
import struct
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from functools import cache
from itertools import chain, pairwise
from pathlib import PurePosixPath
from typing import Any, BinaryIO

import av
import av.filter
import numpy as np
from PIL import Image, ImageOps

from shared.errors import MediaError


class MediaType(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    ARCHIVE = "archive"
    ZIP = "zip"
    PDF = "pdf"


# Checked before `mimetypes`, whose answers depend on the host's mime.types files
# (some map .ts to Qt translations, many lack .mkv or .webm).
_ARCHIVE_SUFFIXES = (
    ".tar.gz", ".tar.bz2", ".tar.xz", ".tar", ".tgz", ".tbz2", ".tbz", ".txz",
    ".gz", ".bz2", ".xz", ".7z", ".cpio",
)  # fmt: skip
_VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".qt", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".mpe", ".m1v", ".m2v",
    ".ts", ".mts", ".m2ts", ".wmv", ".asf", ".flv", ".f4v", ".3gp", ".3g2", ".ogv", ".vob", ".mxf",
    ".dv", ".h264", ".264", ".hevc", ".265", ".y4m",
})  # fmt: skip
_IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp", ".gif",
    ".ppm", ".pgm", ".pbm", ".pnm", ".ico", ".jp2", ".j2k", ".jpf", ".jpx", ".tga", ".pcx", ".sgi",
    ".dds", ".avif", ".heic", ".heif",
})  # fmt: skip
_NOT_MEDIA = frozenset({".svg", ".svgz", ".rar"})


def classify(path: str) -> MediaType | None:
    """The kind of a file, judged by its name only."""
    name = PurePosixPath(path.replace("\\", "/")).name.lower()
    ext = PurePosixPath(name).suffix
    if name.endswith(_ARCHIVE_SUFFIXES):
        return MediaType.ARCHIVE
    if ext == ".zip":
        return MediaType.ZIP
    if ext == ".pdf":
        return MediaType.PDF
    if ext in _VIDEO_EXTENSIONS:
        return MediaType.VIDEO
    if ext in _IMAGE_EXTENSIONS:
        return MediaType.IMAGE
    if not ext or ext in _NOT_MEDIA:
        return None
    mime, _ = mimetypes.guess_type("file" + ext, strict=False)
    if mime is None:
        return None
    if mime.startswith("video/"):
        return MediaType.VIDEO
    if mime.startswith("image/") and "svg" not in mime:
        return MediaType.IMAGE
    return None


# --------------------------------------------------------------------------- images

_ORIENTATION_TAG = 0x0112
_TRANSPOSED_ORIENTATIONS = frozenset({5, 6, 7, 8})
# Modes a PNG can hold without losing information.
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})
_HIGH_DEPTH_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_WHITE = (255, 255, 255)
PREVIEW_SIZE = (256, 256)
VIDEO_CHUNK_SIZE = 36


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    compressed: bytes  # JPEG of the upright picture, display-ready (8-bit RGB or gray)
    original: bytes  # the source bytes, or a lossless upright PNG when EXIF rotated it
    original_ext: str  # ".jpg", ".png", ...: lower case, with the dot
    width: int  # upright size
    height: int


def _open_image(data: bytes, name: str) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as e:
        raise MediaError(f"{name} is too large to be processed ({e})") from e
    except (OSError, ValueError, SyntaxError) as e:
        raise MediaError(f"{name} is not an image that can be read") from e


def _load(img: Image.Image, name: str) -> None:
    try:
        img.load()
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as e:
        raise MediaError(f"{name} is a corrupt or truncated image") from e


def _orientation_value(exif: Image.Exif) -> int:
    try:
        value = int(exif.get(_ORIENTATION_TAG, 1))
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def exif_orientation(img: Image.Image) -> int:
    """The EXIF orientation (1..8), 1 when absent or invalid."""
    return _orientation_value(img.getexif())


def open_upright(data: bytes, name: str = "The image") -> Image.Image:
    """Decode the first frame and apply its EXIF orientation."""
    img = _open_image(data, name)
    _load(img, name)
    return _upright(img)


def _upright(img: Image.Image) -> Image.Image:
    if exif_orientation(img) == 1:
        return img  # exif_transpose would copy the pixels for nothing
    return ImageOps.exif_transpose(img)


def _png_metadata_after_pixels(data: bytes) -> bool:
    """Whether a PNG keeps EXIF/XMP chunks after its pixel data, which Pillow only reads
    after decoding."""
    pos, seen_idat = 8, False
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"IDAT":
            seen_idat = True
        elif seen_idat and kind in (b"eXIf", b"tEXt", b"zTXt", b"iTXt"):
            return True
        elif kind == b"IEND":
            break
        pos += 12 + length
    return False


def image_size(data: bytes, name: str = "The image") -> tuple[int, int]:
    """Upright (width, height), read from the headers without decoding pixels."""
    img = _open_image(data, name)
    if img.format == "PNG" and "exif" not in img.info and not _png_metadata_after_pixels(data):
        # PngImageFile.getexif() decodes the whole picture to look for late chunks;
        # there are none, so the base implementation (header chunks only) is exact.
        orientation = _orientation_value(Image.Image.getexif(img))
    else:
        orientation = exif_orientation(img)
    width, height = img.size
    return (height, width) if orientation in _TRANSPOSED_ORIENTATIONS else (width, height)


def _rescale_to_l(img: Image.Image) -> Image.Image:
    """High bit depth gray to 8 bits, stretching the values actually used to 0..255."""
    arr = np.asarray(img)
    lo, hi = arr.min(), arr.max()
    if hi <= lo:
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 2:
        # A 64K lookup table is much lighter than a float copy of a big image.
        lut = np.clip((np.arange(65536, dtype=np.float32) - lo) * (255.0 / (hi - lo)) + 0.5, 0, 255)
        return Image.fromarray(lut.astype(np.uint8)[arr])
    scaled = (arr.astype(np.float32) - np.float32(lo)) * np.float32(255.0 / (float(hi) - float(lo)))
    return Image.fromarray((scaled + 0.5).astype(np.uint8))


def _flatten_alpha(img: Image.Image) -> Image.Image:
    rgba = img.convert("RGBA")
    out = Image.new("RGB", rgba.size, _WHITE)
    out.paste(rgba, mask=rgba.getchannel("A"))
    return out


def to_rgb8(img: Image.Image) -> Image.Image:
    """An 8-bit RGB or L image that JPEG can hold: alpha composited over white,
    palettes expanded, CMYK converted, high bit depths rescaled to their value range."""
    mode = img.mode
    if mode in ("RGB", "L"):
        return img
    if mode == "1":
        return img.convert("L")
    if mode in _HIGH_DEPTH_MODES:
        return _rescale_to_l(img)
    if mode == "P" and "transparency" in img.info:
        return _flatten_alpha(img)
    if mode in _ALPHA_MODES:
        return _flatten_alpha(img)
    return img.convert("RGB")


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _lossless_png(img: Image.Image) -> bytes:
    if img.mode in ("RGB", "L", "RGBA"):
        return encode_png(np.asarray(img))
    if img.mode not in _PNG_MODES:
        img = to_rgb8(img)
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _extension(name: str, img: Image.Image) -> str:
    ext = PurePosixPath(name).suffix.lower()
    return ext if ext else "." + (img.format or "bin").lower()


def process_image(data: bytes, name: str, quality: int) -> ProcessedImage:
    """Decode once; make the display JPEG and pick the original to keep."""
    img = _open_image(data, name)
    _load(img, name)
    upright = _upright(img)
    if upright is img:
        original, ext = data, _extension(name, img)
    else:
        original, ext = _lossless_png(upright), ".png"
    compressed = _jpeg(to_rgb8(upright), quality)
    return ProcessedImage(compressed, original, ext, upright.width, upright.height)


def make_preview(img: Image.Image) -> bytes:
    """A JPEG that fits in 256x256, never enlarged, aspect ratio kept."""
    rgb = to_rgb8(img)
    if rgb.mode != "RGB":
        rgb = rgb.convert("RGB")
    scale = min(PREVIEW_SIZE[0] / rgb.width, PREVIEW_SIZE[1] / rgb.height, 1.0)
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    if size != rgb.size:
        rgb = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return _jpeg(rgb, 85)


def default_chunk_size(width: int, height: int) -> int:
    """Frames per ZIP chunk: 36 for 1080p, more for small frames, fewer for big ones."""
    return max(2, min(72, 36 * 1920 * 1080 // max(1, width * height)))


# ----------------------------------------------------------------------------- PNG

_PNG_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type: L, LA, RGB, RGBA
_PARALLEL_DEFLATE_BYTES = 1 << 20


@cache
def _deflate_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="deflate")


def _deflate_part(raw: memoryview, last: bool, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    # A full flush ends the part on a byte boundary with no back-references, so the
    # raw deflate parts concatenate into one valid stream (as pigz does).
    return compressor.compress(raw) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)


def _zlib_stream(raw: memoryview, level: int) -> bytes:
    """zlib.compress(raw, level), split over two threads for big inputs (zlib drops the GIL)."""
    if len(raw) < _PARALLEL_DEFLATE_BYTES:
        return zlib.compress(raw, level)
    half = len(raw) // 2
    pool = _deflate_pool()
    adler = pool.submit(zlib.adler32, raw)
    first = pool.submit(_deflate_part, raw[:half], False, level)
    second = _deflate_part(raw[half:], True, level)
    return b"\x78\x01" + first.result() + second + struct.pack(">I", adler.result())


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(kind))
    return b"".join((struct.pack(">I", len(payload)), kind, payload, struct.pack(">I", crc)))


def encode_png(pixels: np.ndarray, level: int = 1) -> bytes:
    """A PNG of an 8-bit HxW or HxWxC (C = 2, 3, 4) array. Much faster than Pillow's encoder,
    whose per-row adaptive filter choice dominates at low compression levels: every
    row uses the "up" filter, computed in one numpy pass."""
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3):
        raise ValueError("encode_png takes an 8-bit HxW or HxWxC array")
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    rows = np.ascontiguousarray(pixels).reshape(height, width * channels)
    filtered = np.empty((height, width * channels + 1), np.uint8)
    filtered[:, 0] = 2  # filter type "up"
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOUR_TYPES[channels], 0, 0, 0)
    idat = _zlib_stream(memoryview(filtered).cast("B"), level)
    chunks = (_png_chunk(b"IHDR", header), _png_chunk(b"IDAT", idat), _png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


# ---------------------------------------------------------------------------- video

_NOT_A_VIDEO = "is not a video FFmpeg can decode"
_IO_BUFFER_SIZE = 1 << 18


@dataclass(frozen=True)
class VideoProbe:
    frame_count: int
    width: int  # display size: after rotation
    height: int
    rotation: int  # 0/90/180/270: clockwise turn that makes decoded pictures upright
    keyframes: tuple[int, ...]  # presentation-order indices of keyframes, ascending
    time_base: Fraction
    # Ascending presentation timestamps, one per frame. Empty when the container has none
    # to trust: frames are then numbered by counting decoder output.
    pts: tuple[int, ...]
    # Timestamp of each keyframe's decoded picture: where to seek, and how to recognise the
    # landing. Empty if unknown (seeking is then impossible: decode from the start).
    keyframe_pts: tuple[int, ...]
    stream_index: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready and small: timestamp and keyframe lists are run-length packed, so
        an hour of video fits a Step Functions payload."""
        return {
            "frame_count": self.frame_count,
            "width": self.width,
            "height": self.height,
            "rotation": self.rotation,
            "keyframes": _pack_runs(self.keyframes),
            "time_base": [self.time_base.numerator, self.time_base.denominator],
            "pts": _pack_runs(self.pts),
            "keyframe_pts": _pack_runs(self.keyframe_pts),
            "stream_index": self.stream_index,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VideoProbe":
        return cls(
            frame_count=int(data["frame_count"]),
            width=int(data["width"]),
            height=int(data["height"]),
            rotation=int(data["rotation"]),
            keyframes=_unpack_runs(data["keyframes"]),
            time_base=Fraction(*data["time_base"]),
            pts=_unpack_runs(data["pts"]),
            keyframe_pts=_unpack_runs(data["keyframe_pts"]),
            stream_index=int(data["stream_index"]),
        )


def _pack_runs(values: Sequence[int]) -> list[list[int]]:
    """[[start, step, count], ...]: arithmetic runs of the sequence."""
    runs: list[list[int]] = []
    for value in values:
        if runs:
            start, step, count = runs[-1]
            if count == 1:
                runs[-1] = [start, value - start, 2]
                continue
            if start + step * count == value:
                runs[-1][2] += 1
                continue
        runs.append([value, 0, 1])
    return runs


def _unpack_runs(runs: Iterable[Sequence[int]]) -> tuple[int, ...]:
    return tuple(start + step * i for start, step, count in runs for i in range(count))


def _open_container(source: BinaryIO, what: str = "The file") -> av.container.InputContainer:
    try:
        source.seek(0)
        return av.open(source, mode="r", buffer_size=_IO_BUFFER_SIZE)
    except (av.FFmpegError, UnicodeDecodeError, OSError, ValueError) as e:
        raise MediaError(f"{what} {_NOT_A_VIDEO}") from e


def _video_stream(container: av.container.InputContainer) -> av.VideoStream:
    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        raise MediaError("The file has no video stream")
    stream = streams[0]
    if stream.codec_context is None:
        raise MediaError(f"The video uses a codec FFmpeg cannot decode ({stream.codec.name})")
    stream.thread_count = 1  # workers run in parallel; one thread each is the cheapest
    return stream


def _rotation_from(display_matrix: bytes | None, rotate_tag: str | None) -> int:
    """Clockwise degrees (0/90/180/270) from a display matrix, else the legacy tag."""
    if display_matrix is not None and len(display_matrix) >= 36:
        m = struct.unpack("=9i", display_matrix[:36])
        scale_x, scale_y = math.hypot(m[0], m[3]), math.hypot(m[1], m[4])
        if scale_x and scale_y:
            # av_display_rotation_get() returns the counter-clockwise angle; this is its negation.
            clockwise = math.degrees(math.atan2(m[1] / scale_y, m[0] / scale_x))
            return round(clockwise / 90) % 4 * 90
    if rotate_tag:
        try:
            return round(float(rotate_tag) / 90) % 4 * 90
        except ValueError:
            return 0
    return 0


def _stream_rotation(stream: av.VideoStream) -> int:
    side_data = stream.codec_context.coded_side_data
    return _rotation_from(side_data.get("display_matrix"), stream.metadata.get("rotate"))


def _fraction(value: av.AVRational | Fraction | None) -> Fraction:
    return Fraction(value.numerator, value.denominator) if value else Fraction(1, 1)


def _probed_stream(container: av.container.InputContainer, probe: VideoProbe) -> av.VideoStream:
    stream = container.streams[probe.stream_index]
    if not isinstance(stream, av.VideoStream) or stream.codec_context is None:
        raise MediaError("The video no longer matches its probe")
    stream.thread_count = 1
    return stream


def _reason(error: av.FFmpegError) -> str:
    return str(error.strerror or error).lower()


def _decode_packet(stream: av.VideoStream, packet: av.Packet | None) -> list[av.VideoFrame]:
    try:
        return stream.decode(packet)
    except av.FFmpegError as e:
        raise MediaError(f"The video cannot be decoded ({_reason(e)})") from e


def _check_complete(container: av.container.InputContainer, stream: av.VideoStream, packets: int) -> None:
    # An MP4/MOV index lists every frame, so fewer packets than listed means the data was cut.
    if "mov" in container.format.name.split(",") and packets < stream.frames:
        raise MediaError(f"The video is truncated: only {packets} of its {stream.frames} frames are present")


@dataclass
class _Scan:
    pts: list[int]
    key_pts: list[int]
    first: av.VideoFrame | None
    timestamps_usable: bool
    packets: int  # every packet with data, shown or not


def _scan_packets(container: av.container.InputContainer, stream: av.VideoStream) -> _Scan:
    """Demux every packet of the stream (no decoding but for the first frame)."""
    scan = _Scan([], [], None, True, 0)
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue  # the end-of-stream marker
            scan.packets += 1
            if scan.first is None:
                frames = _decode_packet(stream, packet)
                scan.first = frames[0] if frames else None
            if packet.is_discard:
                continue  # decoded for reference only, never shown
            if packet.pts is None:
                scan.timestamps_usable = False
            else:
                scan.pts.append(packet.pts)
                if packet.is_keyframe:
                    scan.key_pts.append(packet.pts)
    except av.FFmpegError as e:
        raise MediaError(f"The video is corrupt or truncated ({_reason(e)})") from e
    if scan.first is None:
        frames = _decode_packet(stream, None)
        scan.first = frames[0] if frames else None
    return scan


# Containers that store decode-order times only: with B-frames, FFmpeg's presentation
# timestamps for them are guesses that do not follow the picture order.
_DECODE_ORDER_TIMES = frozenset({"avi"})


def _timestamps_usable(container: av.container.InputContainer, stream: av.VideoStream, scan: _Scan) -> bool:
    if not scan.timestamps_usable or len(set(scan.pts)) != len(scan.pts):
        return False
    return not (stream.codec_context.has_b_frames and container.format.name in _DECODE_ORDER_TIMES)


@dataclass(frozen=True)
class _Frames:
    count: int
    keyframes: tuple[int, ...]
    keyframe_pts: tuple[int, ...]


def _frames_by_timestamps(scan: _Scan) -> _Frames:
    pts = sorted(scan.pts)
    keyframes = tuple(bisect_left(pts, p) for p in sorted(scan.key_pts))
    return _Frames(len(pts), keyframes, tuple(sorted(scan.key_pts)))


def _frames_by_decoding(source: BinaryIO) -> _Frames:
    """Decode everything, counting frames and noting keyframes and their timestamps."""
    keyframes: list[int] = []
    keyframe_pts: list[int | None] = []
    count = 0
    with _open_container(source) as container:
        for frame in _decoded(container, _video_stream(container), None):
            if frame.key_frame:
                keyframes.append(count)
                keyframe_pts.append(frame.pts)
            count += 1
    known = [p for p in keyframe_pts if p is not None]
    return _Frames(count, tuple(keyframes), tuple(known) if len(known) == len(keyframe_pts) else ())


def probe_video(source: BinaryIO) -> VideoProbe:
    """Frame count, upright size, rotation and keyframes, by demuxing (not decoding)."""
    with _open_container(source) as container:
        stream = _video_stream(container)
        rotation = _stream_rotation(stream)
        scan = _scan_packets(container, stream)
        _check_complete(container, stream, scan.packets)
        usable = _timestamps_usable(container, stream, scan)
        stream_index, time_base = stream.index, _fraction(stream.time_base)
    if scan.first is None:
        raise MediaError("The video has no frames that can be decoded")
    frames = _frames_by_timestamps(scan) if usable else _frames_by_decoding(source)
    if frames.count == 0:
        raise MediaError("The video has no frames")
    width, height = scan.first.width, scan.first.height
    if rotation in (90, 270):
        width, height = height, width
    return VideoProbe(
        frame_count=frames.count, width=width, height=height, rotation=rotation,
        keyframes=frames.keyframes, time_base=time_base, pts=tuple(sorted(scan.pts)) if usable else (),
        keyframe_pts=frames.keyframe_pts, stream_index=stream_index,
    )  # fmt: skip


class _Rotator:
    """Turns decoded frames upright with FFmpeg's transpose/flip filters (faster than
    numpy on the planes). The graph is rebuilt if the frame geometry changes."""

    _FILTERS: dict[int, list[tuple[str, str | None]]] = {
        90: [("transpose", "clock")],
        180: [("hflip", None), ("vflip", None)],
        270: [("transpose", "cclock")],
    }

    def __init__(self, rotation: int) -> None:
        self._filters = self._FILTERS.get(rotation)
        self._graph: av.filter.Graph | None = None
        self._key: tuple[int, int, str] | None = None

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        if self._filters is None:
            return frame
        key = (frame.width, frame.height, frame.format.name)
        if self._graph is None or key != self._key:
            self._graph, self._key = self._build(frame), key
        self._graph.vpush(frame)
        return self._graph.vpull()

    def _build(self, frame: av.VideoFrame) -> av.filter.Graph:
        graph = av.filter.Graph()
        nodes = [graph.add_buffer(width=frame.width, height=frame.height, format=frame.format,
                                  time_base=frame.time_base or Fraction(1, 25))]  # fmt: skip
        nodes += [graph.add(name, args) for name, args in self._filters or []]
        nodes.append(graph.add("buffersink"))
        graph.link_nodes(*nodes)
        graph.configure()
        return graph


_IndexedFrames = Generator[tuple[int, av.VideoFrame], None, None]


def _checked_indices(indices: Sequence[int], frame_count: int) -> list[int]:
    wanted = list(indices)
    if any(b <= a for a, b in pairwise(wanted)):
        raise ValueError("frame indices must be strictly ascending")
    if wanted and (wanted[0] < 0 or wanted[-1] >= frame_count):
        raise IndexError(f"frame indices must be within 0..{frame_count - 1}")
    return wanted


def _decoded(
    container: av.container.InputContainer, stream: av.VideoStream, needed: frozenset[int] | None
) -> Iterator[av.VideoFrame]:
    """Decoded frames. Non-reference frames whose timestamp is not in `needed` are not
    decoded at all (no other frame depends on them): that cuts the decoding from a
    keyframe to the first wanted frame, and between sparse ones, by a third or more on
    B-frame video."""
    context = stream.codec_context
    skipping = False
    try:
        for packet in container.demux(stream):
            skip = needed is not None and packet.pts is not None and packet.pts not in needed
            if skip != skipping:
                context.skip_frame, skipping = ("NONREF" if skip else "DEFAULT"), skip
            yield from stream.decode(packet)
    except av.FFmpegError as e:
        raise MediaError(f"The video cannot be decoded ({_reason(e)})") from e


def _index_of(probe: VideoProbe, pts: int | None) -> int | None:
    if pts is None or not probe.pts:
        return None
    i = bisect_left(probe.pts, pts)
    return i if i < len(probe.pts) and probe.pts[i] == pts else None


def _needed_pts(probe: VideoProbe, wanted: list[int]) -> frozenset[int] | None:
    return frozenset(probe.pts[i] for i in wanted) if probe.pts else None


def _numbered(probe: VideoProbe, frames: Iterable[av.VideoFrame], start: int) -> _IndexedFrames:
    """Frames with their presentation index: looked up by timestamp, or counted on from
    `start` when the timestamp is not in the probe (or the probe has none)."""
    for count, frame in enumerate(frames, start):
        index = _index_of(probe, frame.pts)
        yield (count if index is None else index), frame


def _frames_after_seek(source: BinaryIO, probe: VideoProbe, k: int, wanted: list[int]) -> _IndexedFrames:
    """Indexed frames from the k-th keyframe on; nothing at all if the seek did not land
    where expected (at or before that keyframe)."""
    key, key_pts = probe.keyframes[k], probe.keyframe_pts[k]
    with _open_container(source, "The video") as container:
        stream = _probed_stream(container, probe)
        try:
            container.seek(key_pts, stream=stream, backward=True)
        except av.FFmpegError:
            return
        frames = _decoded(container, stream, _needed_pts(probe, wanted))
        first = next(frames, None)
        if first is None:
            return
        if probe.pts:
            start = _index_of(probe, first.pts)
            if start is None or start > key:
                return
        elif first.pts != key_pts:
            return
        else:
            start = key
        yield from _numbered(probe, chain([first], frames), start)


def _frames_from_start(source: BinaryIO, probe: VideoProbe) -> _IndexedFrames:
    # Every frame is decoded here: this is also the fallback when timestamps did not match,
    # where frames may have to be counted.
    with _open_container(source, "The video") as container:
        stream = _probed_stream(container, probe)
        yield from _numbered(probe, _decoded(container, stream, None), 0)


def _indexed_frames(source: BinaryIO, probe: VideoProbe, wanted: list[int]) -> _IndexedFrames:
    """(presentation index, frame) pairs, from the keyframe at or before the first wanted
    frame, or from the very start if the seek lands late or cannot be done."""
    k = bisect_right(probe.keyframes, wanted[0]) - 1
    if k >= 0 and probe.keyframes[k] > 0 and probe.keyframe_pts:
        seeked = False
        for pair in _frames_after_seek(source, probe, k, wanted):
            seeked = True
            yield pair
        if seeked:
            return
    yield from _frames_from_start(source, probe)


def _pick(pairs: Iterable[tuple[int, av.VideoFrame]], wanted: list[int]) -> Iterator[tuple[int, av.VideoFrame]]:
    pos, last = 0, None
    for index, frame in pairs:
        # `wanted[pos] < index` only if the decoder dropped a frame: repeat its successor.
        while pos < len(wanted) and wanted[pos] <= index:
            yield wanted[pos], frame
            pos += 1
        if pos == len(wanted):
            return
        last = frame
    if last is None:
        raise MediaError("The video has no frames that can be decoded")
    for index in wanted[pos:]:  # the stream ended early: hold the last picture
        yield index, last


def iter_frames(source: BinaryIO, probe: VideoProbe, indices: Sequence[int]) -> Iterator[tuple[int, av.VideoFrame]]:
    """Upright frames at the given ascending presentation indices, decoding from the
    nearest keyframe at or before the first one."""
    wanted = _checked_indices(indices, probe.frame_count)
    if not wanted:
        return
    rotate = _Rotator(probe.rotation)
    with closing(_indexed_frames(source, probe, wanted)) as pairs:
        for index, frame in _pick(pairs, wanted):
            yield index, rotate(frame)


def video_preview(source: BinaryIO, probe: VideoProbe) -> bytes:
    """Preview JPEG of the first frame, upright."""
    for _, frame in iter_frames(source, probe, [0]):
        return make_preview(frame.to_image())
    raise MediaError("The video has no frames")

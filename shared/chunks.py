"""Chunk building and reading: ZIP ("imageset") chunks of JPEG/original files and MP4
("video") chunks of H.264, plus reading one frame back out of either."""

import io
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import av
from av.video.frame import PictureType
from PIL import Image

from shared.media import ProcessedImage, encode_png

ChunkKind = Literal["compressed", "original"]

FPS = 25
_TIME_BASE = Fraction(1, FPS)
# Keyframe interval of our MP4 chunks. Reading frame k back decodes from the keyframe
# before it, so the GOP bounds that latency; 9 puts 4 keyframes in a 36-frame chunk. On
# 1080p, GOP 9 costs ~4% more bytes than 12 and saves ~1.5 P-frame decodes (~15 ms) per
# read on average; 6 costs ~8% (bench/bench_chunks.py --sweep).
GOP = 9
ORIGINAL_CRF = 17
# libx264 "superfast" with macroblock-tree rate control put back (10-frame lookahead): on
# 540p it encodes ~6x faster than the default "medium" that CVAT uses, for chunks of the
# same size and luma PSNR within 1 dB at the same CRF (bench_chunks.py --sweep).
COMPRESSED_PRESET = "superfast"
COMPRESSED_X264_PARAMS = "mbtree=1:rc-lookahead=10"
ENCODER_THREADS = 1  # chunk workers run side by side on 2 cores: 1 thread wastes least CPU
_LOCAL_FILE_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra length


# ----------------------------------------------------------------------------- ZIP


@dataclass(frozen=True, slots=True)
class ZipMember:
    name: str
    offset: int  # where the member's (stored) data starts in the ZIP
    length: int


@dataclass(frozen=True, slots=True)
class ZipChunk:
    data: bytes
    members: tuple[ZipMember, ...]


def compressed_member_name(index: int) -> str:
    return f"{index:06d}.jpeg"


def original_member_name(index: int, ext: str) -> str:
    return f"{index:06d}{ext}"


def build_zip_chunk(entries: Iterable[tuple[str, bytes]]) -> ZipChunk:
    """A ZIP_STORED archive (JPEG/PNG do not deflate) and where each member's bytes are,
    so one frame can later be fetched with a single HTTP Range request."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, payload in entries:
            archive.writestr(name, payload)
        infos = archive.infolist()
    data = buffer.getvalue()
    return ZipChunk(data, tuple(_member(data, info) for info in infos))


def _member(data: bytes, info: zipfile.ZipInfo) -> ZipMember:
    signature, name_length, extra_length = _LOCAL_FILE_HEADER.unpack_from(data, info.header_offset)
    assert signature == b"PK\x03\x04"
    start = info.header_offset + _LOCAL_FILE_HEADER.size + name_length + extra_length
    return ZipMember(info.filename, start, info.compress_size)


def build_image_chunks(images: Sequence[ProcessedImage]) -> tuple[ZipChunk, ZipChunk]:
    """(compressed, original) ZIP chunks of processed images, in order."""
    compressed = build_zip_chunk((compressed_member_name(i), im.compressed) for i, im in enumerate(images))
    original = build_zip_chunk(
        (original_member_name(i, im.original_ext), im.original) for i, im in enumerate(images)
    )
    return compressed, original


def read_zip_chunk_frame(chunk: bytes, offset: int) -> tuple[bytes, str]:
    """The offset-th member of a ZIP chunk and its extension (".jpeg", ".png", ...)."""
    with zipfile.ZipFile(io.BytesIO(chunk)) as archive:
        names = sorted(n for n in archive.namelist() if not n.endswith("/"))
        if not 0 <= offset < len(names):
            raise IndexError(f"frame {offset} is not in this chunk of {len(names)} frames")
        name = names[offset]
        dot = name.rfind(".")
        return archive.read(name), name[dot:].lower() if dot > 0 else ""


def frame_to_jpeg(frame: av.VideoFrame, quality: int) -> bytes:
    """JPEG of a (upright) video frame at its own size."""
    image = Image.fromarray(frame.to_ndarray(format="rgb24"), "RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def build_video_zip_chunk(frames: Iterable[av.VideoFrame], quality: int) -> ZipChunk:
    """The compressed chunk of a video task with use_zip_chunks: JPEGs of the (upright)
    frames at their own size."""
    return build_zip_chunk((compressed_member_name(i), frame_to_jpeg(f, quality)) for i, f in enumerate(frames))


# ----------------------------------------------------------------------------- MP4


def _even(value: int) -> int:
    return max(2, value + (value & 1))


def compressed_frame_size(width: int, height: int) -> tuple[int, int]:
    """Halve until the height is under 1080 (1080p -> 540p, 720p unchanged), then make
    both dimensions even as yuv420p requires."""
    factor = 1
    while height // factor >= 1080:
        factor *= 2
    return _even(width // factor), _even(height // factor)


def crf_for_quality(quality: int) -> int:
    return round(51 * (100 - quality) / 99)


class Mp4ChunkWriter:
    """Encodes frames one by one into an in-memory MP4: H.264 yuv420p at 25 fps, frame i
    at timestamp i, a keyframe every GOP frames. The size is fixed by the first frame."""

    def __init__(self, kind: ChunkKind, quality: int) -> None:
        self.kind = kind
        self.quality = quality
        self._buffer = io.BytesIO()
        self._container = av.open(self._buffer, mode="w", format="mp4")
        self._stream: av.VideoStream | None = None
        self._count = 0

    def _open_stream(self, width: int, height: int) -> av.VideoStream:
        if self.kind == "compressed":
            width, height = compressed_frame_size(width, height)
            options = {"preset": COMPRESSED_PRESET, "crf": str(crf_for_quality(self.quality)),
                       "profile": "baseline", "x264-params": _x264_params(COMPRESSED_X264_PARAMS)}  # fmt: skip
        else:
            width, height = _even(width), _even(height)
            options = {"preset": "ultrafast", "crf": str(ORIGINAL_CRF), "x264-params": _x264_params("")}
        stream = self._container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.thread_count = ENCODER_THREADS
        stream.codec_context.gop_size = GOP
        stream.codec_context.options = options
        return stream

    def add(self, frame: av.VideoFrame) -> None:
        if self._stream is None:
            self._stream = self._open_stream(frame.width, frame.height)
        stream = self._stream
        if (frame.width, frame.height, frame.format.name) != (stream.width, stream.height, "yuv420p"):
            frame = frame.reformat(stream.width, stream.height, "yuv420p", interpolation="AREA")
        # The same decoded frame may go to several writers; each sets the same values.
        frame.pts, frame.time_base = self._count, _TIME_BASE
        # libx264 obeys a frame's picture type, and decoded frames keep the source's: clear
        # it so that keyframes fall where our GOP puts them.
        frame.pict_type = PictureType.NONE
        self._container.mux(stream.encode(frame))
        self._count += 1

    def finish(self) -> bytes:
        if self._stream is None:
            raise ValueError("a video chunk needs at least one frame")
        self._container.mux(self._stream.encode(None))
        self._container.close()
        return self._buffer.getvalue()


def _x264_params(extra: str) -> str:
    return ":".join(p for p in (f"keyint={GOP}:min-keyint={GOP}:scenecut=0", extra) if p)


def encode_video_chunk(frames: Iterable[av.VideoFrame], kind: ChunkKind, quality: int) -> bytes:
    writer = Mp4ChunkWriter(kind, quality)
    for frame in frames:
        writer.add(frame)
    return writer.finish()


@dataclass(frozen=True, slots=True)
class VideoChunks:
    compressed: bytes  # MP4, or a ZIP of JPEGs when built with zip_compressed
    compressed_members: tuple[ZipMember, ...]  # member offsets of that ZIP; () for MP4
    original: bytes  # MP4


def build_video_chunks(frames: Iterable[av.VideoFrame], quality: int, *, zip_compressed: bool = False) -> VideoChunks:
    """Both chunks of one run of (upright) frames, each frame decoded once and streamed
    to both encoders, so memory stays flat whatever the chunk size."""
    original = Mp4ChunkWriter("original", quality)
    if zip_compressed:
        archive = build_video_zip_chunk(_tee(frames, original.add), quality)
        return VideoChunks(archive.data, archive.members, original.finish())
    compressed = Mp4ChunkWriter("compressed", quality)
    for frame in _tee(frames, original.add):
        compressed.add(frame)
    return VideoChunks(compressed.finish(), (), original.finish())


def _tee(frames: Iterable[av.VideoFrame], sink: Callable[[av.VideoFrame], None]) -> Iterator[av.VideoFrame]:
    for frame in frames:
        sink(frame)
        yield frame


# Opening an MP4 makes FFmpeg decode its first frame(s) just to learn the pixel format
# (avformat_find_stream_info) and read ahead up to 5 MB: skip that probe decode and read
# nothing beyond the index. PyAV's own decoder context does not get these options.
_CHUNK_OPEN_OPTIONS = {"skip_frame": "all"}
_CHUNK_CONTAINER_OPTIONS = {"probesize": "32", "analyzeduration": "0"}


def _open_chunk(chunk: bytes) -> av.container.InputContainer:
    try:
        return av.open(io.BytesIO(chunk), mode="r", format="mp4", options=_CHUNK_OPEN_OPTIONS,
                       container_options=_CHUNK_CONTAINER_OPTIONS)  # fmt: skip
    except av.FFmpegError as e:
        raise ValueError("not an MP4 chunk") from e


def read_video_chunk_frame(chunk: bytes, offset: int) -> bytes:
    """PNG of the offset-th frame of an MP4 chunk, decoded from the keyframe before it."""
    with _open_chunk(chunk) as container:
        stream = container.streams.video[0]
        if offset < 0 or (stream.frames and offset >= stream.frames):
            raise IndexError(f"frame {offset} is not in this chunk of {stream.frames} frames")
        # Frame threads overlap the decoding of consecutive P-frames: ~20% less latency.
        stream.thread_type, stream.thread_count = "FRAME", 2
        target = round(offset * _TIME_BASE / (stream.time_base or _TIME_BASE))
        if offset > 0:
            container.seek(target, stream=stream, backward=True)
        for frame in container.decode(stream):
            if frame.pts is not None and frame.pts >= target:
                return encode_png(frame.to_ndarray(format="rgb24"))
    raise IndexError(f"frame {offset} is not in this chunk")


def decode_video_chunk_images(chunk: bytes, extensions: list[str]) -> list[bytes]:
    """The first len(extensions) frames of an MP4 chunk, decoded in one pass, each encoded as
    its extension says: JPEG (quality 95) for .jpg/.jpeg, else PNG."""
    images: list[bytes] = []
    with _open_chunk(chunk) as container:
        stream = container.streams.video[0]
        stream.thread_type, stream.thread_count = "FRAME", 2
        for frame, extension in zip(container.decode(stream), extensions, strict=False):
            if extension.lower() in (".jpg", ".jpeg"):
                images.append(frame_to_jpeg(frame, 95))
            else:
                images.append(encode_png(frame.to_ndarray(format="rgb24")))
    if len(images) < len(extensions):
        raise ValueError(f"the chunk holds {len(images)} frames, not {len(extensions)}")
    return images

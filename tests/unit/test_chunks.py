"""shared.chunks: ZIP chunks with member offsets, MP4 chunks, reading frames back."""

import io
import zipfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from shared import chunks
from shared.chunks import (
    build_image_chunks,
    build_video_chunks,
    build_zip_chunk,
    compressed_frame_size,
    crf_for_quality,
    encode_video_chunk,
    frame_to_jpeg,
    read_video_chunk_frame,
    read_zip_chunk_frame,
)
from shared.media import iter_frames, probe_video, process_image
from tests.media_factory import make_image, make_video, marker_corner, read_counter, rotated_1080p_video

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="module")
def data_dir() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test media absent: {SHARED_DATA} does not exist")
    return SHARED_DATA


def decode_png(data: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    return np.asarray(img)


def mp4_frames(data: bytes) -> list[av.VideoFrame]:
    with av.open(io.BytesIO(data), mode="r") as container:
        return list(container.decode(video=0))


def mp4_keyframes(data: bytes) -> list[int]:
    with av.open(io.BytesIO(data), mode="r") as container:
        packets = [p for p in container.demux(video=0) if p.size]
    return [i for i, p in enumerate(packets) if p.is_keyframe]


# ----------------------------------------------------------------------------- ZIP


def test_zip_member_offsets_slice_out_each_payload() -> None:
    entries = [("000000.jpeg", b"\xff\xd8" + bytes(range(256)) * 3), ("000001.png", b""),
               ("dir/ünïcødé 名前.png", b"x" * 70_000), ("000003.bmp", b"BM" * 11)]  # fmt: skip
    chunk = build_zip_chunk(entries)
    assert [m.name for m in chunk.members] == [name for name, _ in entries]
    for member, (_, payload) in zip(chunk.members, entries, strict=True):
        assert chunk.data[member.offset : member.offset + member.length] == payload
    with zipfile.ZipFile(io.BytesIO(chunk.data)) as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
        assert archive.testzip() is None


def test_image_chunks_from_real_files(data_dir: Path) -> None:
    names = ["hopper.jpg", "hopper.png", "hopper_orientation_6.jpg", "hopper.gif"]
    processed = [process_image((data_dir / "images" / n).read_bytes(), n, 70) for n in names]
    compressed, original = build_image_chunks(processed)

    assert [m.name for m in compressed.members] == ["000000.jpeg", "000001.jpeg", "000002.jpeg", "000003.jpeg"]
    assert [m.name for m in original.members] == ["000000.jpg", "000001.png", "000002.png", "000003.gif"]
    for i, image in enumerate(processed):
        assert read_zip_chunk_frame(compressed.data, i) == (image.compressed, ".jpeg")
        assert read_zip_chunk_frame(original.data, i) == (image.original, image.original_ext)
        member = original.members[i]
        assert original.data[member.offset : member.offset + member.length] == image.original
    with pytest.raises(IndexError):
        read_zip_chunk_frame(compressed.data, 4)


# ------------------------------------------------------------------------ sizing


@pytest.mark.parametrize(
    ("size", "expected"),
    [((1920, 1080), (960, 540)), ((1280, 720), (1280, 720)), ((3840, 2160), (960, 540)),
     ((1080, 1920), (540, 960)), ((241, 181), (242, 182)), ((1920, 1081), (960, 540)), ((1, 1), (2, 2))],
)  # fmt: skip
def test_compressed_frame_size(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert compressed_frame_size(*size) == expected


@pytest.mark.parametrize(("quality", "crf"), [(70, 15), (100, 0), (1, 51), (50, 26), (95, 3)])
def test_crf_for_quality(quality: int, crf: int) -> None:
    assert crf_for_quality(quality) == crf


# ----------------------------------------------------------------------------- MP4


def test_both_chunks_of_the_real_video(data_dir: Path) -> None:
    with open(data_dir / "video" / "test.mp4", "rb") as source:
        probe = probe_video(source)
        built = build_video_chunks((f for _, f in iter_frames(source, probe, range(30))), 70)

    assert built.compressed_members == ()
    for data in (built.compressed, built.original):
        frames = mp4_frames(data)
        assert len(frames) == 30
        assert {(f.width, f.height, f.format.name) for f in frames} == {(240, 180, "yuv420p")}
        assert [f.time for f in frames] == [i / 25 for i in range(30)]
        assert mp4_keyframes(data) == list(range(0, 30, chunks.GOP))
    with av.open(io.BytesIO(built.compressed)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.profile) == ("h264", "Constrained Baseline")
        assert stream.average_rate == Fraction(25)


def test_real_video_frames_read_back_in_order(data_dir: Path) -> None:
    with open(data_dir / "video" / "test.mp4", "rb") as source:
        probe = probe_video(source)
        originals = [f.to_ndarray(format="rgb24") for _, f in iter_frames(source, probe, range(30))]
        chunk = encode_video_chunk((f for _, f in iter_frames(source, probe, range(30))), "original", 70)
    for k in (0, 1, 13, 29):
        back = decode_png(read_video_chunk_frame(chunk, k)).astype(int)
        assert back.shape == (180, 240, 3)
        errors = [np.abs(back - o).mean() for o in originals]
        assert int(np.argmin(errors)) == k  # closest to the k-th source frame
        assert errors[k] < 8 < 50 < min(e for i, e in enumerate(errors) if i != k)


@pytest.mark.slow
def test_rotated_1080p_chunks() -> None:
    source = io.BytesIO(rotated_1080p_video())
    probe = probe_video(source)
    built = build_video_chunks((f for _, f in iter_frames(source, probe, range(36, 72))), 70)

    for data, size in ((built.compressed, (540, 960)), (built.original, (1080, 1920))):
        frames = mp4_frames(data)
        assert len(frames) == 36
        assert {(f.width, f.height) for f in frames} == {size}
        for k in (0, 5, 12, 23, 35):
            picture = decode_png(read_video_chunk_frame(data, k))
            assert picture.shape == (size[1], size[0], 3)
            assert marker_corner(picture) == "tr"
            assert read_counter(picture, rotation=90) == 36 + k
        with pytest.raises(IndexError):
            read_video_chunk_frame(data, 36)
        with pytest.raises(IndexError):
            read_video_chunk_frame(data, -1)


def test_odd_sizes_are_rescaled_to_even() -> None:
    rgb = np.zeros((181, 241, 3), np.uint8)
    rgb[:, -1] = 255  # the last column must survive (rescaled, not cropped)
    frames = [av.VideoFrame.from_ndarray(rgb, format="rgb24") for _ in range(3)]
    kinds: tuple[chunks.ChunkKind, ...] = ("original", "compressed")
    for kind in kinds:
        decoded = mp4_frames(encode_video_chunk(frames, kind, 70))
        assert [(f.width, f.height) for f in decoded] == [(242, 182)] * 3
        assert decoded[0].to_ndarray(format="gray")[:, -1].mean() > 150


def test_empty_video_chunk_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        encode_video_chunk([], "compressed", 70)


def test_video_zip_chunks_keep_source_size_and_orientation() -> None:
    source = io.BytesIO(make_video(frames=20, width=320, height=240, rotation=270))
    probe = probe_video(source)
    built = build_video_chunks((f for _, f in iter_frames(source, probe, range(4, 10))), 80, zip_compressed=True)

    assert [m.name for m in built.compressed_members] == [f"{i:06d}.jpeg" for i in range(6)]
    for k, member in enumerate(built.compressed_members):
        jpeg = Image.open(io.BytesIO(built.compressed[member.offset : member.offset + member.length]))
        assert (jpeg.format, jpeg.size) == ("JPEG", (240, 320))
        picture = np.asarray(jpeg)
        assert marker_corner(picture) == "bl"
        assert read_counter(picture, rotation=270) == 4 + k
    assert [read_counter(decode_png(read_video_chunk_frame(built.original, k)), 270) for k in range(6)] == [
        4, 5, 6, 7, 8, 9
    ]  # fmt: skip


def test_frame_to_jpeg_size_and_quality() -> None:
    frame = av.VideoFrame.from_ndarray(np.asarray(Image.open(io.BytesIO(make_image("PNG", (320, 200))))), "rgb24")
    small, large = frame_to_jpeg(frame, 20), frame_to_jpeg(frame, 95)
    assert Image.open(io.BytesIO(small)).size == (320, 200)
    assert len(small) < len(large)

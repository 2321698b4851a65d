"""shared.media: classification, images (real Pillow test files and generated ones) and
video probing/decoding (the real Datumaro test video and generated H.264/MPEG-4)."""

import dataclasses
import io
import json
import zipfile
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps

from shared import media
from shared.errors import MediaError
from shared.media import (
    MediaType,
    VideoProbe,
    classify,
    default_chunk_size,
    encode_png,
    exif_orientation,
    image_size,
    iter_frames,
    make_preview,
    open_upright,
    probe_video,
    process_image,
    to_rgb8,
    video_preview,
)
from tests.media_factory import (
    corrupt_mp4,
    make_image,
    make_video,
    make_zip,
    marker_corner,
    read_counter,
    rotated_1080p_video,
)

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
REAL_IMAGES = [
    "hopper.jpg", "hopper.png", "hopper.bmp", "hopper.gif", "hopper.tif", "hopper.webp",
    "hopper_gray.jpg", "flower.jpg", "hopper_orientation_6.jpg",
]  # fmt: skip


@pytest.fixture(scope="module")
def data_dir() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test media absent: {SHARED_DATA} does not exist")
    return SHARED_DATA


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def gray(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="gray")


# ---------------------------------------------------------------------- classify


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jpg", MediaType.IMAGE), ("DIR/B.JPEG", MediaType.IMAGE), ("c.png", MediaType.IMAGE),
        ("d.Tiff", MediaType.IMAGE), ("e.webp", MediaType.IMAGE), ("f.gif", MediaType.IMAGE),
        ("g.bmp", MediaType.IMAGE), ("v.mp4", MediaType.VIDEO), ("v.MKV", MediaType.VIDEO),
        ("v.webm", MediaType.VIDEO), ("v.ts", MediaType.VIDEO), ("v.avi", MediaType.VIDEO),
        ("v.mov", MediaType.VIDEO), ("v.mpeg", MediaType.VIDEO), ("v.m4v", MediaType.VIDEO),
        ("v.wmv", MediaType.VIDEO), ("v.flv", MediaType.VIDEO), ("v.3gp", MediaType.VIDEO),
        ("a.tar", MediaType.ARCHIVE), ("a.tar.gz", MediaType.ARCHIVE), ("a.TGZ", MediaType.ARCHIVE),
        ("a.tar.bz2", MediaType.ARCHIVE), ("a.tar.xz", MediaType.ARCHIVE), ("a.7z", MediaType.ARCHIVE),
        ("a.gz", MediaType.ARCHIVE), ("a.cpio", MediaType.ARCHIVE), ("a.zip", MediaType.ZIP),
        ("doc.PDF", MediaType.PDF), ("a.rar", None), ("icon.svg", None), ("notes.txt", None),
        ("README", None), ("data.json", None),
    ],
)  # fmt: skip
def test_classify(name: str, expected: MediaType | None) -> None:
    assert classify(name) == expected


# ------------------------------------------------------------------ real images


@pytest.mark.parametrize("name", REAL_IMAGES)
def test_process_image_on_real_files(data_dir: Path, name: str) -> None:
    source = (data_dir / "images" / name).read_bytes()
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(source)))

    result = process_image(source, name, 70)

    assert (result.width, result.height) == upright.size
    assert image_size(source) == upright.size
    compressed = decode(result.compressed)
    assert compressed.format == "JPEG"
    assert compressed.mode == ("L" if name == "hopper_gray.jpg" else "RGB")
    assert compressed.size == upright.size
    if name == "hopper_orientation_6.jpg":
        assert result.original_ext == ".png"
        original = decode(result.original)
        assert original.format == "PNG"
        assert np.array_equal(np.asarray(original.convert("RGB")), np.asarray(upright.convert("RGB")))
    else:
        assert result.original == source
        assert result.original_ext == Path(name).suffix


def test_orientation_6_real_file_is_turned(data_dir: Path) -> None:
    img = open_upright((data_dir / "images" / "hopper_orientation_6.jpg").read_bytes())
    stored = Image.open(data_dir / "images" / "hopper_orientation_6.jpg")
    assert exif_orientation(stored) == 6
    # orientation 6: the stored picture is shown turned 90 degrees clockwise
    expected = stored.transpose(Image.Transpose.ROTATE_270)
    assert np.array_equal(np.asarray(img), np.asarray(expected))


def test_gif_gives_its_first_frame(data_dir: Path) -> None:
    img = open_upright((data_dir / "images" / "hopper.gif").read_bytes())
    assert img.mode == "P"
    assert to_rgb8(img).mode == "RGB"


# ------------------------------------------------------------- generated images


@pytest.mark.parametrize(("orientation", "corner"), [(1, "tl"), (3, "br"), (6, "tr"), (8, "bl"), (2, "tr")])
def test_exif_orientation_is_applied(orientation: int, corner: str) -> None:
    source = make_image("JPEG", (80, 40), "RGB", exif_orientation=orientation)
    result = process_image(source, "photo.JPG", 90)
    transposed = orientation in (5, 6, 7, 8)
    assert (result.width, result.height) == ((40, 80) if transposed else (80, 40))
    assert image_size(source) == (result.width, result.height)
    assert marker_corner(np.asarray(decode(result.compressed))) == corner
    if orientation == 1:
        assert (result.original, result.original_ext) == (source, ".jpg")
    else:
        original = decode(result.original)
        assert (result.original_ext, original.size) == (".png", (result.width, result.height))
        assert marker_corner(np.asarray(original)) == corner


def test_image_size_does_not_decode_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    files = [
        make_image("JPEG", (30, 20), exif_orientation=6),
        make_image("PNG", (30, 20), exif_orientation=8),
        make_image("PNG", (30, 20)),
        make_image("WEBP", (30, 20), exif_orientation=5),
        make_image("TIFF", (30, 20)),
    ]

    def refuse(self: ImageFile.ImageFile) -> None:
        raise AssertionError("image_size decoded pixels")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    assert [image_size(f) for f in files] == [(20, 30), (20, 30), (30, 20), (20, 30), (30, 20)]


def test_16_bit_png_is_rescaled_over_its_value_range() -> None:
    img = open_upright(make_image("PNG", (64, 48), "I;16"))
    assert img.mode == "I;16"
    values = np.asarray(to_rgb8(img))
    assert to_rgb8(img).mode == "L"
    assert (values.min(), values.max()) == (0, 255)
    result = process_image(make_image("PNG", (64, 48), "I;16"), "depth.png", 80)
    assert decode(result.compressed).mode == "L"


def test_32_bit_integer_image_is_rescaled() -> None:
    img = Image.fromarray(np.array([[-5000, 0], [100_000, 250_000]], np.int32), "I")
    assert np.asarray(to_rgb8(img)).tolist() == [[0, 5], [105, 255]]  # (v + 5000) * 255 / 255000


def test_cmyk_jpeg_becomes_rgb() -> None:
    source = make_image("JPEG", (64, 48), "CMYK")
    assert Image.open(io.BytesIO(source)).mode == "CMYK"
    result = process_image(source, "print.jpg", 90)
    compressed = decode(result.compressed)
    assert compressed.mode == "RGB"
    assert np.asarray(compressed)[2, 2, 0] > 200  # the white marker stays light


def test_palette_transparency_is_composited_over_white() -> None:
    plain = Image.open(io.BytesIO(make_image("PNG", (64, 48), "P")))
    index, other = int(np.asarray(plain)[47, 63]), int(np.asarray(plain)[0, 63])
    assert index != other
    img = open_upright(make_image("PNG", (64, 48), "P", transparency=index))
    rgb = to_rgb8(img)
    assert rgb.mode == "RGB"
    assert rgb.getpixel((63, 47)) == (255, 255, 255)
    assert rgb.getpixel((63, 0)) == plain.convert("RGB").getpixel((63, 0))


def test_rgba_is_composited_over_white() -> None:
    img = open_upright(make_image("PNG", (64, 48), "RGBA"))
    rgb = np.asarray(to_rgb8(img)).astype(int)
    source = np.asarray(img).astype(int)
    assert to_rgb8(img).mode == "RGB"
    assert (rgb[:, 0] == 255).all()  # alpha 0 in the first column
    assert np.abs(rgb[10, 63] - source[10, 63, :3]).max() <= 1  # opaque last column unchanged


@pytest.mark.parametrize(("mode", "expected"), [("1", "L"), ("L", "L"), ("RGB", "RGB"), ("LA", "RGB"), ("F", "L")])
def test_other_modes_become_8_bit(mode: str, expected: str) -> None:
    img = Image.new(mode, (4, 4))
    assert to_rgb8(img).mode == expected


@pytest.mark.parametrize("data", [b"", b"not an image at all", make_image("JPEG", (64, 48))[:300]])
def test_broken_images_raise_media_error(data: bytes) -> None:
    with pytest.raises(MediaError, match=r"broken\.jpg"):
        process_image(data, "broken.jpg", 70)


@pytest.mark.parametrize(("size", "expected"), [((1920, 1080), (256, 144)), ((1080, 1920), (144, 256)),
                                               ((100, 50), (100, 50)), ((300, 300), (256, 256))])  # fmt: skip
def test_preview_fits_256_and_never_enlarges(size: tuple[int, int], expected: tuple[int, int]) -> None:
    preview = decode(make_preview(Image.new("L", size, 128)))
    assert (preview.format, preview.mode, preview.size) == ("JPEG", "RGB", expected)


@pytest.mark.parametrize(("size", "expected"), [((1920, 1080), 36), ((640, 480), 72), ((3840, 2160), 9),
                                               ((2560, 1440), 20), ((20000, 20000), 2)])  # fmt: skip
def test_default_chunk_size(size: tuple[int, int], expected: int) -> None:
    assert default_chunk_size(*size) == expected


@pytest.mark.parametrize("shape", [(37, 53), (37, 53, 3), (20, 9, 4), (11, 5, 2), (700, 900, 3)])
def test_encode_png_is_lossless(shape: tuple[int, ...]) -> None:
    pixels = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    pixels[: shape[0] // 2] //= 7  # some compressible rows too
    assert np.array_equal(np.asarray(decode(encode_png(pixels))), pixels)


# ------------------------------------------------------------------ real video


def test_probe_real_video(data_dir: Path) -> None:
    with open(data_dir / "video" / "test.mp4", "rb") as source:
        probe = probe_video(source)
    assert (probe.frame_count, probe.width, probe.height, probe.rotation) == (30, 240, 180, 0)
    assert probe.keyframes[0] == 0
    assert len(probe.pts) == 30


def test_iter_frames_real_video_matches_a_plain_decode(data_dir: Path) -> None:
    path = data_dir / "video" / "test.mp4"
    with av.open(str(path)) as container:
        reference = [gray(f) for f in container.decode(video=0)]
    with open(path, "rb") as source:
        probe = probe_video(source)
        got = list(iter_frames(source, probe, [10, 13, 16, 19]))
    assert [i for i, _ in got] == [10, 13, 16, 19]
    for index, frame in got:
        assert (frame.width, frame.height) == (240, 180)
        assert np.array_equal(gray(frame), reference[index])


# ------------------------------------------------------------- generated video


def test_probe_rotated_1080p() -> None:
    probe = probe_video(io.BytesIO(rotated_1080p_video()))
    assert (probe.frame_count, probe.width, probe.height, probe.rotation) == (100, 1080, 1920, 90)
    assert probe.keyframes == (0, 25, 50, 75)


def test_iter_frames_rotated_1080p_are_upright_and_in_order() -> None:
    source = io.BytesIO(rotated_1080p_video())
    probe = probe_video(source)
    wanted = [0, 3, 30, 51, 99]
    got = list(iter_frames(source, probe, wanted))
    assert [i for i, _ in got] == wanted
    for index, frame in got:
        picture = gray(frame)
        assert picture.shape == (1920, 1080)
        assert marker_corner(picture) == "tr"  # the stored top-left corner, turned clockwise
        assert read_counter(picture, rotation=90) == index


@pytest.mark.parametrize(("rotation", "corner"), [(0, "tl"), (90, "tr"), (180, "br"), (270, "bl")])
def test_rotations(rotation: int, corner: str) -> None:
    source = io.BytesIO(make_video(frames=12, width=160, height=96, rotation=rotation))  # type: ignore[arg-type]
    probe = probe_video(source)
    turned = rotation in (90, 270)
    assert (probe.rotation, probe.width, probe.height) == (rotation, *((96, 160) if turned else (160, 96)))
    (index, frame), = iter_frames(source, probe, [7])
    assert (frame.width, frame.height) == (probe.width, probe.height)
    assert marker_corner(gray(frame)) == corner
    assert read_counter(gray(frame), rotation) == index == 7
    preview = decode(video_preview(source, probe))
    assert preview.size == (probe.width, probe.height)
    assert marker_corner(np.asarray(preview)) == corner


@pytest.mark.parametrize(
    ("codec", "bframes", "container_format"),
    [("libx264", 2, "mp4"), ("mpeg4", 2, "mp4"), ("libx264", 2, "matroska"), ("libx264", 2, "avi"),
     ("libx264", 0, "mpegts"), ("libx264", 2, "h264")],
)  # fmt: skip
def test_sparse_frames_across_keyframes(codec: str, bframes: int, container_format: str) -> None:
    source = io.BytesIO(make_video(frames=60, width=160, height=96, codec=codec, gop=10,  # type: ignore[arg-type]
                                   bframes=bframes, container_format=container_format))  # fmt: skip
    probe = probe_video(source)
    assert probe.frame_count == 60
    wanted = list(range(23, 60, 3))
    got = [(i, read_counter(gray(f))) for i, f in iter_frames(source, probe, wanted)]
    assert got == [(i, i) for i in wanted]


def test_wrong_keyframe_list_still_gives_the_right_frames() -> None:
    source = io.BytesIO(make_video(frames=40, width=160, height=96, gop=20, bframes=2))
    probe = probe_video(source)
    assert probe.keyframes == (0, 20)
    # A claimed keyframe at 10: the seek lands earlier (0) and decodes forward from there.
    early = dataclasses.replace(probe, keyframes=(0, 10, 20), keyframe_pts=tuple(probe.pts[i] for i in (0, 10, 20)))
    assert [(i, read_counter(gray(f))) for i, f in iter_frames(source, early, [12, 13])] == [(12, 12), (13, 13)]
    # Timestamps that match nothing decoded: the seek cannot be trusted, frames are counted.
    shifted = dataclasses.replace(probe, pts=tuple(p + 1 for p in probe.pts),
                                  keyframe_pts=tuple(p + 1 for p in probe.keyframe_pts))  # fmt: skip
    assert [(i, read_counter(gray(f))) for i, f in iter_frames(source, shifted, [25])] == [(25, 25)]


def test_iter_frames_checks_indices() -> None:
    source = io.BytesIO(make_video(frames=10, width=64, height=48))
    probe = probe_video(source)
    with pytest.raises(ValueError, match="ascending"):
        list(iter_frames(source, probe, [3, 2]))
    with pytest.raises(IndexError):
        list(iter_frames(source, probe, [9, 10]))
    assert list(iter_frames(source, probe, [])) == []


def test_probe_round_trips_through_small_json() -> None:
    probe = probe_video(io.BytesIO(rotated_1080p_video()))
    text = json.dumps(probe.to_dict())
    assert VideoProbe.from_dict(json.loads(text)) == probe
    assert len(text) < 400  # 100 timestamps packed as one run


def test_rotation_from_display_matrix_and_legacy_tag() -> None:
    # FFmpeg's matrix for a clockwise quarter turn (what `ffmpeg -metadata:s:v rotate=90` wrote)
    quarter = np.array([0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30], "=i4").tobytes()
    assert media._rotation_from(quarter, None) == 90
    assert media._rotation_from(None, "90") == 90
    assert media._rotation_from(None, "-90") == 270
    assert media._rotation_from(None, "180") == 180
    assert media._rotation_from(None, None) == 0


@pytest.mark.parametrize(
    "data",
    [
        corrupt_mp4(make_video(frames=20, width=64, height=48)),
        corrupt_mp4(make_video(frames=20, width=64, height=48), "garble"),
        b"",
        b"plain text, not a video" * 50,
    ],
    ids=["truncated", "garbled", "empty", "text"],
)
def test_broken_videos_raise_a_readable_media_error(data: bytes) -> None:
    with pytest.raises(MediaError, match=r"^The (file|video) [a-z ,]+") as error:
        probe_video(io.BytesIO(data))
    assert "Errno" not in str(error.value)


def test_factory_zip_keeps_folders_and_unicode_names() -> None:
    entries = {"a/b/ünïcødé 名前.jpg": make_image("JPEG"), "top.png": make_image("PNG"), "a/c.txt": b"x"}
    with zipfile.ZipFile(io.BytesIO(make_zip(entries))) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == entries
        assert [classify(name) for name in archive.namelist()] == [MediaType.IMAGE, MediaType.IMAGE, None]

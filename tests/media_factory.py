"""Deterministic test media made with PyAV and Pillow.

Video frames are gray pictures (luma gradient) with two features tests can read back:
a bright block in the top-left corner of the stored (unrotated) picture, and the frame
number as 8 binary cells along the bottom edge (bright = 1, most significant bit left)."""

import io
import zipfile
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Literal

import av
import numpy as np
from PIL import Image

_BRIGHT, _DARK = 235, 16
_BITS = 8


def _luma(index: int, width: int, height: int) -> np.ndarray:
    y = np.empty((height, width), np.uint8)
    y[:] = (60 + 60 * np.arange(width) // max(1, width - 1)).astype(np.uint8)
    y[: height // 6, : width // 6] = _BRIGHT  # the orientation marker
    cell_w, top = width // _BITS, height - height // 6
    for bit in range(_BITS):
        on = (index >> (_BITS - 1 - bit)) & 1
        y[top:, bit * cell_w + 2 : (bit + 1) * cell_w - 2] = _BRIGHT if on else _DARK
    return y


def video_frame_picture(index: int, width: int, height: int) -> np.ndarray:
    """The luma plane make_video draws for frame `index`."""
    return _luma(index, width, height)


def read_counter(picture: np.ndarray, rotation: int = 0) -> int:
    """The frame number drawn in a decoded picture (HxW gray or HxWx3 RGB) that was
    turned clockwise by `rotation` degrees from the stored orientation."""
    gray = picture.mean(axis=2) if picture.ndim == 3 else picture.astype(np.float32)
    gray = np.rot90(gray, k=rotation // 90)  # undo the clockwise turn
    height, width = gray.shape
    cell_w, cell_h = width // _BITS, height // 6
    value = 0
    for bit in range(_BITS):
        x0 = bit * cell_w + cell_w // 4
        cell = gray[height - cell_h * 3 // 4 : height - cell_h // 4, x0 : x0 + cell_w // 2]
        value = value << 1 | int(cell.mean() > 128)
    return value


def marker_corner(picture: np.ndarray) -> str:
    """Which corner of a picture holds the bright marker: "tl", "tr", "bl" or "br"."""
    gray = picture.mean(axis=2) if picture.ndim == 3 else picture.astype(np.float32)
    height, width = gray.shape
    h, w = max(1, height // 20), max(1, width // 20)
    corners = {
        "tl": gray[:h, :w], "tr": gray[:h, -w:], "bl": gray[-h:, :w], "br": gray[-h:, -w:],
    }  # fmt: skip
    return max(corners, key=lambda name: float(corners[name].mean()))


def make_video(
    path_or_none: str | Path | None = None,
    *,
    frames: int = 30,
    width: int = 320,
    height: int = 240,
    codec: Literal["libx264", "mpeg4"] = "libx264",
    fps: int = 25,
    rotation: Literal[0, 90, 180, 270] = 0,
    gop: int = 25,
    bframes: int = 0,
    container_format: str = "mp4",
) -> bytes:
    """An MP4 (or another container) whose track header carries a display matrix for
    `rotation`: the clockwise degrees a player turns the stored picture, like the legacy
    `rotate` tag."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.codec_context.options = {
                "preset": "ultrafast", "crf": "20",
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}:b-adapt=0",
            }  # fmt: skip
        else:
            stream.bit_rate = 4_000_000
            stream.codec_context.max_b_frames = bframes
        if rotation:
            stream.set_display_rotation(-rotation)  # PyAV takes counter-clockwise degrees
        chroma = np.full((height // 2, width), 128, np.uint8)
        for index in range(frames):
            planes = np.concatenate([_luma(index, width, height), chroma])
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = buffer.getvalue()
    if path_or_none is not None:
        Path(path_or_none).write_bytes(data)
    return data


@cache
def rotated_1080p_video() -> bytes:
    """1920x1080 H.264, 100 frames, B-frames, keyframes every 25, shown turned 90 degrees
    clockwise (1080x1920); made once per test session."""
    return make_video(frames=100, width=1920, height=1080, rotation=90, bframes=2)


def _rgb_picture(width: int, height: int) -> np.ndarray:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    rgb = np.stack([np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width)),
                    np.full((height, width), 96, np.float32)], axis=2).astype(np.uint8)  # fmt: skip
    rgb[: max(1, height // 5), : max(1, width // 5)] = 255  # asymmetric marker, top-left
    return rgb


def _picture(mode: str, width: int, height: int) -> Image.Image:
    rgb = Image.fromarray(_rgb_picture(width, height), "RGB")
    if mode in ("RGB", "L", "CMYK", "1"):
        return rgb.convert(mode)
    if mode == "RGBA":
        alpha = np.tile(np.linspace(0, 255, width, dtype=np.uint8), (height, 1))
        return Image.merge("RGBA", (*rgb.split(), Image.fromarray(alpha, "L")))
    if mode == "P":
        return rgb.quantize(16)
    if mode == "I;16":
        gray = np.asarray(rgb.convert("L"), np.uint16) * 100 + 1000  # values 1000..26500
        return Image.fromarray(gray)  # uint16 gives mode "I;16"
    if mode in ("I", "F"):
        wide = np.asarray(rgb.convert("L"), np.int32) * 1000 - 5000
        return Image.fromarray(wide.astype(np.int32 if mode == "I" else np.float32))
    raise ValueError(f"unsupported mode {mode}")


def make_image(
    fmt: str = "JPEG",
    size: tuple[int, int] = (64, 48),
    mode: str = "RGB",
    exif_orientation: int | None = None,
    *,
    transparency: int | None = None,
) -> bytes:
    """An image file (stored orientation) with a bright block in its top-left corner.
    For mode "P", `transparency` marks one palette index transparent."""
    img = _picture(mode, *size)
    options: dict[str, object] = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        options["exif"] = exif.tobytes()
    if transparency is not None:
        options["transparency"] = transparency
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


def make_zip(entries: dict[str, bytes]) -> bytes:
    """A deflated ZIP; names may contain folders ("a/b/c.jpg") and any Unicode."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in entries.items():
            archive.writestr(name, payload)
    return out.getvalue()


def corrupt_mp4(valid: bytes, how: Literal["truncate", "garble"] = "truncate") -> bytes:
    """A broken copy of an MP4: cut in half (losing the index at the end) or with its
    index box overwritten with junk."""
    if how == "truncate":
        return valid[: len(valid) // 2]
    moov = valid.find(b"moov")
    if moov < 0:
        raise ValueError("no moov box")
    junk = bytes((i * 37 + 11) % 256 for i in range(len(valid) - moov - 4))
    return valid[: moov + 4] + junk

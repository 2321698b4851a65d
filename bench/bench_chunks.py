"""Micro-benchmark of chunk building and frame read-back.

Usage: python bench/bench_chunks.py MEDIA_DIR [--sweep]

MEDIA_DIR holds the output of ../shared/bench/gen_media.py (synth1080.mp4 and
images/img_*.jpg). Each part runs in its own process so that its peak RSS is its own.
--sweep also compares keyframe intervals (GOP) and compressed-chunk x264 settings."""

import argparse
import io
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av
import numpy as np
from PIL import Image

from shared import chunks
from shared.media import (
    VIDEO_CHUNK_SIZE,
    default_chunk_size,
    image_size,
    iter_frames,
    probe_video,
    process_image,
)

QUALITY = 70
READS = 100


class Meter:
    def __enter__(self) -> "Meter":
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu, self.wall = time.process_time() - self.cpu, time.perf_counter() - self.wall


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(label: str, frames: int, meter: Meter, written: int) -> None:
    print(f"{label}: {frames} frames, {frames / meter.cpu:.1f} frames/CPU-s, {frames / meter.wall:.1f} "
          f"frames/wall-s, {written / 1e6:.1f} MB of chunks, peak RSS {peak_rss_mb():.0f} MB")  # fmt: skip


def ranges(total: int, size: int) -> Iterator[range]:
    for start in range(0, total, size):
        yield range(start, min(total, start + size))


def part_video(media: Path, out: Path, mode: str) -> None:
    """mode "workers": every chunk decoded on its own from the keyframe before it, as the
    chunk workers do; "sequential": one decode pass over the whole video (as CVAT does);
    "zip": like workers, with the compressed chunk as a ZIP of JPEGs (use_zip_chunks)."""
    path = media / "synth1080.mp4"
    with open(path, "rb") as source:
        with Meter() as meter:
            probe = probe_video(source)
        print(f"probe: {probe.frame_count} frames {probe.width}x{probe.height}, keyframes every "
              f"{probe.keyframes[1]}, {meter.wall * 1000:.0f} ms wall")  # fmt: skip
        total = probe.frame_count if mode != "zip" else 6 * VIDEO_CHUNK_SIZE
        written = 0
        with Meter() as meter:
            if mode == "sequential":
                frames = (frame for _, frame in iter_frames(source, probe, range(total)))
                batches: Iterator[Iterator[av.VideoFrame]] = (
                    (next(frames) for _ in r) for r in ranges(total, VIDEO_CHUNK_SIZE)
                )
            else:
                batches = ((f for _, f in iter_frames(source, probe, r)) for r in ranges(total, VIDEO_CHUNK_SIZE))
            for number, batch in enumerate(batches):
                built = chunks.build_video_chunks(batch, QUALITY, zip_compressed=mode == "zip")
                written += len(built.compressed) + len(built.original)
                if mode == "workers":
                    (out / f"video_{number}_compressed.mp4").write_bytes(built.compressed)
                    (out / f"video_{number}_original.mp4").write_bytes(built.original)
    report(f"video chunks ({mode}, 1080p -> 540p compressed + 1080p original)", total, meter, written)


def part_images(media: Path, out: Path) -> None:
    files = sorted((media / "images").glob("img_*.jpg"))
    datas = [f.read_bytes() for f in files]
    size = default_chunk_size(*image_size(datas[0]))
    written = 0
    with Meter() as meter:
        for number, start in enumerate(range(0, len(datas), size)):
            names, batch_data = files[start : start + size], datas[start : start + size]
            batch = [process_image(d, f.name, QUALITY) for f, d in zip(names, batch_data, strict=True)]
            compressed, original = chunks.build_image_chunks(batch)
            written += len(compressed.data) + len(original.data)
            (out / f"images_{number}_compressed.zip").write_bytes(compressed.data)
            (out / f"images_{number}_original.zip").write_bytes(original.data)
    report(f"image chunks (chunk size {size}, process_image + ZIP)", len(datas), meter, written)


def frames_in(blob: bytes) -> int:
    if blob[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            return len(archive.namelist())
    with av.open(io.BytesIO(blob)) as container:
        return container.streams.video[0].frames


def latency(label: str, read: Callable[[bytes, int], object], paths: list[Path]) -> None:
    rng = random.Random(7)
    blobs = [(blob, frames_in(blob)) for blob in (p.read_bytes() for p in paths)]
    samples = []
    for _ in range(READS):
        blob, count = rng.choice(blobs)
        offset = rng.randrange(count)
        start = time.perf_counter()
        read(blob, offset)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    print(f"read-back {label}: median {statistics.median(samples):.1f} ms, p95 "
          f"{samples[int(len(samples) * 0.95) - 1]:.1f} ms over {READS} random frames")  # fmt: skip


def part_read(out: Path) -> None:
    for kind in ("compressed", "original"):
        video = sorted(out.glob(f"video_*_{kind}.mp4"), key=lambda p: int(p.name.split("_")[1]))
        latency(f"MP4 {kind} -> PNG", chunks.read_video_chunk_frame, video)
        images = sorted(out.glob(f"images_*_{kind}.zip"), key=lambda p: int(p.name.split("_")[1]))
        latency(f"ZIP {kind} -> member", chunks.read_zip_chunk_frame, images)
    print(f"peak RSS of read-back {peak_rss_mb():.0f} MB")


def _first_frames(count: int) -> list[av.VideoFrame]:
    with av.open(str(MEDIA / "synth1080.mp4")) as container:
        stream = container.streams.video[0]
        frames = []
        for frame in container.decode(stream):
            frames.append(frame)
            if len(frames) == count:
                return frames
    return frames


def _encode(frames: list[av.VideoFrame], kind: chunks.ChunkKind) -> tuple[bytes, float]:
    """The chunk and its encoding CPU ms per frame (best of 3: this host is noisy)."""
    best = float("inf")
    for _ in range(3):
        with Meter() as meter:
            data = chunks.encode_video_chunk(frames, kind, QUALITY)
        best = min(best, meter.cpu * 1000 / len(frames))
    return data, best


def _median_read(data: bytes, count: int) -> float:
    samples = []
    for offset in list(range(count)) * 2:
        start = time.perf_counter()
        chunks.read_video_chunk_frame(data, offset)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _psnr(data: bytes, reference: list[np.ndarray]) -> float:
    with av.open(io.BytesIO(data), mode="r") as container:
        values = []
        for frame, ref in zip(container.decode(video=0), reference, strict=True):
            luma = frame.to_ndarray(format="gray").astype(np.float32)
            values.append(10 * np.log10(255**2 / max(1e-9, float(((luma - ref) ** 2).mean()))))
    return float(np.mean(values))


def part_sweep() -> None:
    frames = _first_frames(VIDEO_CHUNK_SIZE)
    for gop in (6, 8, 9, 12, 18):
        chunks.GOP = gop
        line = [f"GOP {gop:2d}:"]
        for kind in ("compressed", "original"):
            data, cpu_ms = _encode(frames, kind)
            line.append(f"{kind} {len(data) / 1e6:.2f} MB, encode {cpu_ms:.1f} ms CPU/frame, "
                        f"read median {_median_read(data, len(frames)):.1f} ms;")  # fmt: skip
        print(" ".join(line))
    chunks.GOP = 12
    small = [f.reformat(960, 540, "gray", interpolation="AREA").to_ndarray().astype(np.float32) for f in frames]
    settings = [
        ("medium", ""), ("faster", ""), ("veryfast", ""), ("veryfast", "subme=1"), ("veryfast", "subme=1:me=dia"),
        ("superfast", ""), ("superfast", "mbtree=1:rc-lookahead=10"),
    ]  # fmt: skip
    for preset, params in settings:
        chunks.COMPRESSED_PRESET, chunks.COMPRESSED_X264_PARAMS = preset, params
        data, cpu_ms = _encode(frames, "compressed")
        print(f"540p compressed x264 {preset} {params or '(preset defaults)'}: {len(data) / 1e6:.2f} MB, "
              f"{cpu_ms:.1f} ms CPU/frame, luma PSNR {_psnr(data, small):.2f} dB")  # fmt: skip


MEDIA = Path(".")


def main() -> None:
    global MEDIA
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("media", type=Path)
    parser.add_argument("--sweep", action="store_true", help="also compare GOPs and x264 settings")
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    MEDIA = args.media
    if args.part:
        run_part(args.part, args.media, args.out)
        return
    print(f"PyAV {av.__version__}, Pillow {Image.__version__}, numpy {np.__version__}, {os.cpu_count()} CPUs; "
          f"quality {QUALITY}, MP4 GOP {chunks.GOP}, compressed x264 {chunks.COMPRESSED_PRESET} "
          f"{chunks.COMPRESSED_X264_PARAMS}, original x264 ultrafast CRF {chunks.ORIGINAL_CRF}, "
          f"{chunks.ENCODER_THREADS} encoder thread(s)", flush=True)  # fmt: skip
    parts = ["video-workers", "video-sequential", "video-zip", "images", "read"] + (["sweep"] if args.sweep else [])
    with tempfile.TemporaryDirectory() as out:
        for part in parts:
            subprocess.run([sys.executable, __file__, str(args.media), "--part", part, "--out", out], check=True)


def run_part(part: str, media: Path, out: Path) -> None:
    if part.startswith("video-"):
        part_video(media, out, part.removeprefix("video-"))
    elif part == "images":
        part_images(media, out)
    elif part == "read":
        part_read(out)
    elif part == "sweep":
        part_sweep()
    sys.stdout.flush()


if __name__ == "__main__":
    main()

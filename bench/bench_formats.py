"""Export and import in CVAT XML and COCO, and dataset export through the local runtime.

    python bench/bench_formats.py [bench-media]

1. In process, no AWS: 10,000 shapes over 1,000 frames (rectangles and 8-point polygons) and
   500 tracks over 1,000 frames (a keyframe every 10 frames, 100 frames each), exported in
   CVAT for images, CVAT for video and COCO and imported back: CPU seconds, peak Python memory
   of the step beyond the task's annotations themselves, and bytes of the file. The same at
   four times the size shows how memory grows (it should not, beyond the annotations).
2. Through the local runtime (moto inside): the dataset export of the 600-frame 1080p video of
   ../shared/bench/gen_media.py in CVAT for video 1.1, frames per CPU-second of the export's
   Lambda steps (Collect, Render per chunk, Package), and the archive's size.
Figures, not assertions.
"""

import io
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from tests.unit.format_fixtures import export_context, frames, import_context, labels  # noqa: E402

LABELS = labels(("car", [{"name": "model", "input_type": "select", "default_value": "bmw",
                          "values": ["bmw", "mazda"]}]), ("person", []))


def shapes_document(count: int, frame_count: int) -> dict[str, Any]:
    shapes = []
    for i in range(count):
        x, y = (i * 7) % 600, (i * 13) % 400
        if i % 2:
            points = [x, y, x + 30, y + 20]
            kind = "rectangle"
        else:
            points = [x, y, x + 20, y, x + 30, y + 10, x + 20, y + 20, x, y + 20, x - 5, y + 10, x, y + 5, x + 2, y + 2]
            kind = "polygon"
        shapes.append({"id": i + 1, "type": kind, "frame": i % frame_count, "label_id": 1 + i % 2, "group": 0,
                       "source": "manual", "occluded": False, "z_order": 0, "points": [float(p) for p in points],
                       "attributes": [{"spec_id": 101, "value": "mazda"}] if i % 2 == 0 else []})
    return {"shapes": shapes}


def tracks_document(count: int, frame_count: int) -> dict[str, Any]:
    tracks = []
    for i in range(count):
        start = (i * 37) % (frame_count - 100)
        keyframes = [{"type": "rectangle", "frame": start + k * 10, "occluded": False, "outside": k == 10,
                      "z_order": 0, "points": [float(10 + k), float(20 + i % 50), float(60 + k), float(90 + i % 50)],
                      "attributes": []} for k in range(11)]
        tracks.append({"id": i + 1, "frame": start, "label_id": 1, "group": 0, "source": "manual",
                       "attributes": [{"spec_id": 101, "value": "bmw"}], "shapes": keyframes})
    return {"tracks": tracks}


def measure(run: Any) -> tuple[Any, float, float]:
    tracemalloc.start()
    cpu = time.process_time()
    result = run()
    cpu = time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, cpu, peak


def round_trip(format_name: str, importer: str, document: dict[str, Any], frame_count: int, video: bool) -> str:
    from shared import formats
    from shared.formats.files import Archive, ImportFile

    task_frames = frames(frame_count) if video else frames([f"img_{i:05d}.jpg" for i in range(frame_count)])
    context = export_context(LABELS, task_frames, document, video=video)
    module = formats.exporter(format_name).load()  # type: ignore[union-attr]

    def export() -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            module.export(context, Archive(archive))
        return buffer.getvalue()

    data, export_cpu, export_peak = measure(export)

    def parse() -> int:
        target = import_context(LABELS, task_frames, video=video)
        formats.importer(importer).load().parse(ImportFile(io.BytesIO(data), "upload.zip"), target)  # type: ignore
        return len(target.shapes) + len(target.tracks)

    objects, import_cpu, import_peak = measure(parse)
    return (f"export {export_cpu:6.2f} CPU-s peak {export_peak:6.1f} MB | import {import_cpu:6.2f} CPU-s "
            f"peak {import_peak:6.1f} MB | {len(data) / 2**20:6.2f} MB zipped, {objects} objects back")


def in_process() -> None:
    for scale in (1, 4):
        shapes, tracks, frame_count = 10_000 * scale, 500 * scale, 1_000 * scale
        print(f"\n{shapes:,} shapes over {frame_count:,} frames:")
        for exporter, importer in (("CVAT for images 1.1", "CVAT 1.1"), ("COCO 1.0", "COCO 1.0")):
            figures = round_trip(exporter, importer, shapes_document(shapes, frame_count), frame_count, False)
            print(f"  {exporter:20s} {figures}")
        print(f"{tracks:,} tracks over {frame_count:,} frames (keyframe every 10 frames):")
        for exporter, importer in (("CVAT for video 1.1", "CVAT 1.1"), ("CVAT for images 1.1", "CVAT 1.1"),
                                   ("COCO 1.0", "COCO 1.0")):
            figures = round_trip(exporter, importer, tracks_document(tracks, frame_count), frame_count, True)
            print(f"  {exporter:20s} {figures}")


def dataset(media: str) -> None:
    video = Path(media) / "synth1080.mp4"
    if not video.exists():
        print(f"\n(dataset export skipped: run python ../shared/bench/gen_media.py {media})")
        return
    import requests

    from bench import bench_create

    bench = bench_create.Bench()
    try:
        made = bench.create([video])
        task = made["task"]
        bench_create.WORKFLOW = ("ExportCollectFunction", "ExportRenderFunction", "ExportPackageFunction")
        bench.lambda_cpu = 0.0
        url = f"{bench.api}/tasks/{task['id']}/dataset"
        query = {"format": "CVAT for video 1.1"}
        wall, process = time.perf_counter(), time.process_time()
        while bench.session.get(url, params=query).status_code == 202:
            time.sleep(0.1)
        wall, process = time.perf_counter() - wall, time.process_time() - process
        location = bench.session.get(url, params={**query, "action": "download"}, allow_redirects=False)
        size = len(requests.get(location.headers["Location"], timeout=600).content)
        print(f"\ndataset export, {task['size']} frames 1920x1080 (CVAT for video 1.1, PNG frames):")
        print(f"  {task['size'] / bench.lambda_cpu:6.1f} frames/CPU-s in Collect, Render and Package "
              f"({bench.lambda_cpu:.1f} CPU-s), {task['size'] / wall:.1f} frames/wall-s, archive {size / 2**20:.0f} MB")
        print(f"  (the PNG encoder deflates in threads the step's own clock misses: with moto and those threads "
              f"this process used {process:.1f} CPU-s, {task['size'] / process:.1f} frames/CPU-s)")
    finally:
        bench.runtime.stop()


if __name__ == "__main__":
    in_process()
    dataset(sys.argv[1] if len(sys.argv) > 1 else "bench-media")

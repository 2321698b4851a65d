"""Task creation and frame reading through the local runtime, on the standard benchmark media.

    python ../shared/bench/gen_media.py bench-media      # once: 1080p H.264 video + 300 JPEGs
    python bench/bench_create.py bench-media

Prints, for the video and for the images (image_quality 70, chunk sizes as the spec's
defaults): frames per CPU-second and per wall-second of the whole workflow (this process runs
moto, the API and every Lambda step), the same for one chunk worker (a fresh process building
chunk 0, as a Lambda would), bytes of chunks written, the chunk worker's peak memory, and the
latency of 100 random type=frame requests of each quality. Figures, not assertions.
"""

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

CVAT = {
    "video": "CVAT 1.2: 12.3 frames/CPU-s, 20.4 frames/wall-s, peak 311 MB; frame read 220 ms compressed, "
             "708 ms original",
    "images": "CVAT 1.2: 30.2 frames/CPU-s",
}

WORKER = """
import json, resource, sys, time
sys.path[:0] = sys.argv[1:3]
from shared import creation
task_id, data_id, execution = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
cpu, wall = time.process_time(), time.perf_counter()
result = creation.build_chunk(task_id, data_id, execution, 0)
print(json.dumps({"frames": result["frames"], "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Bench:
    def __init__(self) -> None:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        from local.runtime import start

        self.runtime = start(port=free_port())
        threading.Thread(target=self.runtime.serve_forever, daemon=True).start()
        self.api = f"{self.runtime.url}/api/v1"
        self.session = requests.Session()
        self.session.post(f"{self.api}/auth/login", data={"username": "admin", "password": "Admin-12345"})
        self.session.headers["X-CSRFToken"] = self.session.cookies["csrftoken"]

    def create(self, files: list[Path]) -> dict[str, Any]:
        """Announce, upload to S3, wait for Finished; returns figures of the whole workflow."""
        task = self.session.post(f"{self.api}/tasks", json={"name": "bench", "labels": [{"name": "x"}]}).json()
        announced = [{"name": path.name, "size": path.stat().st_size} for path in files]
        cpu, wall = time.process_time(), time.perf_counter()
        slots = self.session.post(f"{self.api}/tasks/{task['id']}/uploads",
                                  json={"image_quality": 70, "files": announced}).json()
        for slot, path in zip(slots["files"], files, strict=True):
            requests.put(slot["url"], data=path.read_bytes(), timeout=600).raise_for_status()
        while (status := self.session.get(f"{self.api}/tasks/{task['id']}/status").json())["state"] not in (
                "Finished", "Failed"):
            time.sleep(0.05)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if status["state"] != "Finished":
            raise RuntimeError(status)
        task = self.session.get(f"{self.api}/tasks/{task['id']}").json()
        return {"task": task, "cpu": cpu, "wall": wall}

    def chunk_bytes(self, data_id: int) -> int:
        from shared import storage

        return sum(o["Size"] for q in ("compressed", "original") for o in storage.list_objects(f"data/{data_id}/{q}/"))

    def one_worker(self, task: dict[str, Any]) -> dict[str, Any]:
        from shared.tables import TaskItem

        execution = TaskItem.get(task["id"]).execution_name
        env = {**os.environ}
        out = subprocess.run([sys.executable, "-c", WORKER, str(ROOT), str(ROOT / "functions"), str(task["id"]),
                              str(task["data"]), str(execution)], env=env, capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    def frame_latency(self, task: dict[str, Any], quality: str, count: int = 100) -> tuple[float, float]:
        rng = random.Random(7)
        times = []
        for _ in range(count):
            number = rng.randrange(task["size"])
            start = time.perf_counter()
            answer = self.session.get(f"{self.api}/tasks/{task['id']}/data",
                                      params={"type": "frame", "number": number, "quality": quality})
            answer.raise_for_status()
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times), statistics.quantiles(times, n=20)[18]


def report(bench: Bench, kind: str, files: list[Path]) -> None:
    made = bench.create(files)
    task = made["task"]
    frames = task["size"]
    worker = bench.one_worker(task)
    print(f"\n{kind}: {frames} frames of {files[0].name if len(files) == 1 else f'{len(files)} files'}, "
          f"chunk size {task['data_chunk_size']}, chunks {task['data_compressed_chunk_type']}/"
          f"{task['data_original_chunk_type']}")
    print(f"  whole workflow : {frames / made['cpu']:6.1f} frames/CPU-s  {frames / made['wall']:6.1f} frames/wall-s"
          f"  ({made['cpu']:.1f} CPU-s, {made['wall']:.1f} s; moto, API and all steps in this process)")
    print(f"  one chunk worker: {worker['frames'] / worker['cpu']:6.1f} frames/CPU-s  "
          f"{worker['frames'] / worker['wall']:6.1f} frames/wall-s  peak {worker['peak_mb']:.0f} MB "
          f"({worker['frames']} frames, fresh process)")
    print(f"  chunks written : {bench.chunk_bytes(task['data']) / 2**20:.1f} MB (compressed + original)")
    for quality in ("compressed", "original"):
        median, p95 = bench.frame_latency(task, quality)
        print(f"  type=frame {quality:10s}: median {median:6.1f} ms  p95 {p95:6.1f} ms  (100 random frames)")
    print(f"  reference      : {CVAT[kind]}")


def main(media: str = "bench-media") -> None:
    folder = Path(media)
    video = folder / "synth1080.mp4"
    images = sorted((folder / "images").glob("*.jpg"))
    if not video.exists() or len(images) != 300:
        sys.exit(f"run: python ../shared/bench/gen_media.py {media}")
    bench = Bench()
    try:
        report(bench, "video", [video])
        report(bench, "images", images)
    finally:
        bench.runtime.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])

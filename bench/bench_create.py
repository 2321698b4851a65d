"""Task creation and frame reading through the local runtime, on the standard benchmark media.

    python ../shared/bench/gen_media.py bench-media      # once: 1080p H.264 video + 300 JPEGs
    python bench/bench_create.py bench-media

Prints, for the video and for the images (image_quality 70, chunk sizes as the spec's
defaults): frames per CPU-second and per wall-second of the whole workflow (CPU = what the
Lambda steps use, measured per invocation; moto's own work is shown apart), the same for one
warm chunk worker in a fresh process (as a Lambda would run it), bytes of chunks written, the
chunk worker's peak memory, and the latency of 100 random type=frame requests of each quality.
Figures, not assertions.
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
import json, sys, time
sys.path[:0] = sys.argv[1:3]
from shared import creation
task_id, data_id, execution = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
creation.build_chunk(task_id, data_id, execution, 1)  # warm: imports, clients, plan
cpu, wall = time.process_time(), time.perf_counter()
result = creation.build_chunk(task_id, data_id, execution, 0)
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"frames": result["frames"], "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
                  "peak_mb": int(peak.split()[1]) / 1024}))
"""
WORKFLOW = ("PrepareFunction", "BuildChunkFunction", "FinalizeFunction")  # what CVAT's figure covers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Bench:
    def __init__(self) -> None:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        from local.runtime import start
        from shared import creation

        # keep the sources after Finalize, so that one chunk worker can be run again on its own
        creation._clean_up = lambda task, data_id: None  # type: ignore[assignment]
        self.runtime = start(port=free_port())
        threading.Thread(target=self.runtime.serve_forever, daemon=True).start()
        self.lambda_cpu = 0.0
        self.trigger_cpu = 0.0
        self._lock = threading.Lock()
        invoke = self.runtime.stack.invoke

        def measured(logical_id: str, event: dict[str, Any]) -> Any:
            # media code runs single-threaded in workers, so thread time is the invocation's CPU
            start = time.thread_time()
            try:
                return invoke(logical_id, event)
            finally:
                with self._lock:
                    if logical_id in WORKFLOW:
                        self.lambda_cpu += time.thread_time() - start
                    elif logical_id == "UploadTriggerFunction":
                        self.trigger_cpu += time.thread_time() - start

        self.runtime.stack.invoke = measured  # type: ignore[method-assign]
        self.api = f"{self.runtime.url}/api/v1"
        self.session = requests.Session()
        self.session.post(f"{self.api}/auth/login", data={"username": "admin", "password": "Admin-12345"})
        self.session.headers["X-CSRFToken"] = self.session.cookies["csrftoken"]

    def create(self, files: list[Path]) -> dict[str, Any]:
        """Announce, upload to S3, wait for Finished; returns figures of the whole workflow."""
        task = self.session.post(f"{self.api}/tasks", json={"name": "bench", "labels": [{"name": "x"}]}).json()
        announced = [{"name": path.name, "size": path.stat().st_size} for path in files]
        self.lambda_cpu = self.trigger_cpu = 0.0
        process_cpu = time.process_time()
        slots = self.session.post(f"{self.api}/tasks/{task['id']}/uploads",
                                  json={"image_quality": 70, "files": announced}).json()
        for slot, path in zip(slots["files"], files, strict=True):
            with path.open("rb") as file:  # a presigned POST: the slot's fields, then the file
                requests.post(slot["url"], data=slot["fields"], files={"file": (path.name, file)},
                              timeout=600).raise_for_status()
        wall = time.perf_counter()  # the last upload started the workflow
        while (status := self.session.get(f"{self.api}/tasks/{task['id']}/status").json())["state"] not in (
                "Finished", "Failed"):
            time.sleep(0.05)
        wall = time.perf_counter() - wall
        if status["state"] != "Finished":
            raise RuntimeError(status)
        task = self.session.get(f"{self.api}/tasks/{task['id']}").json()
        return {"task": task, "cpu": self.lambda_cpu, "process_cpu": time.process_time() - process_cpu,
                "trigger_cpu": self.trigger_cpu, "wall": wall}

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
    print(f"  whole workflow  : {frames / made['cpu']:6.1f} frames/CPU-s  {frames / made['wall']:6.1f} frames/wall-s"
          f"  ({made['cpu']:.1f} CPU-s in Prepare, BuildChunk and Finalize, {made['wall']:.1f} s on 2 cores)")
    print(f"    (the upload trigger, once per file, used {made['trigger_cpu']:.2f} CPU-s more)")
    print(f"    (with moto's S3, DynamoDB and Step Functions and the uploads, this process used "
          f"{made['process_cpu']:.1f} CPU-s: {frames / made['process_cpu']:.1f} frames/CPU-s)")
    print(f"  one chunk worker: {worker['frames'] / worker['cpu']:6.1f} frames/CPU-s  "
          f"{worker['frames'] / worker['wall']:6.1f} frames/wall-s  peak {worker['peak_mb']:.0f} MB "
          f"({worker['frames']} frames, warm, in a fresh process)")
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

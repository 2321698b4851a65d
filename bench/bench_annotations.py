"""PUT and GET of annotations against moto, at 1,000, 10,000 and 100,000 objects.

    python bench/bench_annotations.py [--largest 100000]

moto runs in its own process, so the CPU time of this process is what the handler's code
costs (validation, encoding, requests, decoding). Prints per size: CPU milliseconds per 1,000
objects for PUT and GET, DynamoDB requests made (and objects per write request), bytes per
stored item, peak Python memory, and validation plus encoding alone in objects per CPU-second.
Figures, not assertions.
"""

import argparse
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_moto() -> subprocess.Popen[bytes]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", (
        "import logging, sys, time; logging.disable(logging.CRITICAL)\n"
        "sys.path[:0] = [sys.argv[2]]\n"
        "from local.runtime import _cache_moto_module_list; _cache_moto_module_list()\n"
        "from local.stack import serialize_moto_dynamodb; serialize_moto_dynamodb()\n"
        "from moto.server import ThreadedMotoServer\n"
        "server = ThreadedMotoServer(ip_address='127.0.0.1', port=int(sys.argv[1]), verbose=False)\n"
        "server.start(); time.sleep(10**9)"), str(port), str(ROOT)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ.update({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                       "POWERTOOLS_TRACE_DISABLED": "true"})
    import requests

    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("moto did not start")


def count_requests() -> Counter[str]:
    """DynamoDB requests by operation, counted where PynamoDB sends them."""
    from pynamodb.connection import base

    counts: Counter[str] = Counter()
    original = base.Connection._make_api_call

    def counted(self: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        counts[operation_name] += 1
        return original(self, operation_name, operation_kwargs)

    base.Connection._make_api_call = counted  # type: ignore[method-assign]
    return counts


def make_task(labels: list[dict[str, Any]], size: int) -> Any:
    """A task with one job over `size` frames, written straight to the tables."""
    from shared.counters import allocate
    from shared.jobs import create_jobs
    from shared.labels import new_labels
    from shared.schemas import LabelIn
    from shared.tables import TaskItem

    task = TaskItem(allocate("task"), name="bench", owner_id=1, labels=new_labels([LabelIn(**x) for x in labels]),
                    data={"id": 0, "size": size, "chunk_size": 36, "image_quality": 70, "start_frame": 0,
                          "stop_frame": size - 1, "frame_filter": "", "compressed_chunk_type": "imageset",
                          "original_chunk_type": "imageset"}, mode="annotation", stage="done")
    task.save()
    create_jobs(int(task.task_id), [(0, size - 1)])
    return task


def document(kind: str, count: int, label_id: int) -> dict[str, Any]:
    if kind == "rectangles":
        shapes = [{"type": "rectangle", "frame": i % 100, "label_id": label_id, "group": 0, "occluded": False,
                   "z_order": 0, "attributes": [], "points": [i % 640 + 0.5, i % 480 + 0.25, i % 640 + 30.5,
                                                              i % 480 + 40.25]} for i in range(count)]
    else:
        shapes = [{"type": "polygon", "frame": i % 100, "label_id": label_id, "group": 0, "occluded": False,
                   "z_order": 0, "attributes": [],
                   "points": [float((i + j * 13) % 640) + 0.5 for j in range(100)]} for i in range(count)]
    return {"version": 0, "tags": [], "shapes": shapes, "tracks": []}


def measure(kind: str, count: int, counts: Counter[str]) -> dict[str, float]:
    from shared import annotation_store, annotations
    from shared.schemas import LabeledData
    from shared.tables import AnnotationItem, JobItem
    from shared.validation import validate

    task = make_task([{"name": "car"}], 100)
    jobs = list(JobItem.by_task.query(int(task.task_id)))
    scope = annotations.Scope(task, jobs)
    body = document(kind, count, task.labels[0]["id"])

    cpu = time.process_time()
    request = validate(LabeledData, body).model_dump(mode="json", exclude={"version"})
    annotations.check(scope, request)
    for number, shape in enumerate(request["shapes"]):
        shape["id"] = number
        annotation_store.encode("shapes", shape)
    alone = time.process_time() - cpu

    counts.clear()
    cpu = time.process_time()
    annotations.write(scope, "PUT", body)
    put_cpu = time.process_time() - cpu
    writes = counts["BatchWriteItem"]
    put_requests = sum(counts.values())

    counts.clear()
    cpu = time.process_time()
    answer = annotations.read(scope)
    get_cpu = time.process_time() - cpu
    assert len(answer.data["shapes"]) == count
    get_requests = sum(counts.values())

    # peak memory in a second pass: tracing allocations slows Python down
    tracemalloc.start()
    annotations.write(scope, "PUT", body)
    put_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    annotations.read(scope)
    get_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    head = annotation_store.load_head(int(task.task_id))
    partition = next(annotation_store._partition(int(task.task_id), int(jobs[0].job_id), b, g)
                     for b, g in enumerate(head.job(int(jobs[0].job_id)).buckets) if g)
    sizes = [_item_size(i) for i in AnnotationItem.query(partition)]
    return {"count": count, "alone": count / alone, "put_ms": put_cpu * 1000 / count * 1000,
            "get_ms": get_cpu * 1000 / count * 1000, "writes": writes, "per_write": count / max(writes, 1),
            "put_requests": put_requests, "get_requests": get_requests, "bytes": sum(sizes) / len(sizes),
            "largest": max(sizes), "put_peak": put_peak / 2**20, "get_peak": get_peak / 2**20}


def _item_size(item: Any) -> int:
    """DynamoDB's size of an item: attribute names plus values."""
    return sum(len(name) + len(value if isinstance(value, bytes) else str(value).encode())
               for name, value in (("partition", item.partition), ("key", item.key), ("owner", item.owner),
                                   ("body", item.body)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--largest", type=int, default=100_000)
    args = parser.parse_args()
    counts = count_requests()
    for kind, sizes in (("rectangles", (1_000, 10_000, 100_000)), ("polygons of 50 points", (1_000, 10_000))):
        print(f"\n{kind}:")
        print("  objects   validate+encode   PUT CPU       GET CPU       write requests      "
              "bytes/item (max)   peak MB PUT/GET")
        for count in sizes:
            if count > args.largest:
                continue
            # a fresh moto for each size: moto's queries slow down with everything its table holds
            moto = start_moto()
            try:
                _prepare()
                measure("rectangles", 100, counts)  # warm: imports, clients, connections
                figures = measure("rectangles" if kind == "rectangles" else "polygons", count, counts)
            finally:
                moto.terminate()
            print(f"  {count:>7,}   {figures['alone']:9,.0f} obj/s   {figures['put_ms']:6.1f} ms/1k   "
                  f"{figures['get_ms']:6.1f} ms/1k   {figures['writes']:>5} ({figures['per_write']:4.1f}/req)   "
                  f"{figures['bytes']:6.0f} ({figures['largest']:4d})      "
                  f"{figures['put_peak']:6.1f} / {figures['get_peak']:6.1f}", flush=True)
    print("\n  (PUT counts the read of the current objects and the switch of the head; a second PUT also")
    print("   deletes the replaced generation, which is not part of these figures)")
    print("\n  goals: validation and encoding >= 50,000 objects per CPU-second; <= 1 write request per 25 "
          "objects; a rectangle item < 1 KB; growth linear in the count")


def _prepare() -> None:
    """Tables in the fresh moto, and clients that point at it."""
    from local.stack import Stack
    from shared import aws, config, tables

    os.environ.update(_environment())
    aws.reset()
    config.settings.cache_clear()
    for model in (tables.TaskItem, tables.JobItem, tables.CounterItem, tables.AnnotationItem):
        model._connection = None
        model.Meta.read_timeout_seconds = 300  # moto answers large queries slowly
    Stack("bench").provision()


def _environment() -> dict[str, str]:
    from local.stack import Stack

    stack = Stack("bench")
    # the names Stack.provision gave the tables of template.yaml
    tables = {"TASKS_TABLE": "TasksTable", "JOBS_TABLE": "JobsTable", "ANNOTATIONS_TABLE": "AnnotationsTable",
              "COUNTERS_TABLE": "CountersTable", "SESSIONS_TABLE": "SessionsTable",
              "IDEMPOTENCY_TABLE": "IdempotencyTable"}
    environment = {variable: f"{stack.context.stack_name}-{logical}" for variable, logical in tables.items()}
    environment.update({"MEDIA_BUCKET": "unused", "USER_POOL_ID": "unused", "USER_POOL_CLIENT_ID": "unused",
                        "CREATE_TASK_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:1:stateMachine:unused",
                        "APPLY_ANNOTATIONS_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:1:stateMachine:unused",
                        "EXPORT_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:1:stateMachine:unused",
                        "IMPORT_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:1:stateMachine:unused"})
    return environment


if __name__ == "__main__":
    main()

"""Where annotations live: one DynamoDB item per tag, shape or track.

The items of a job are spread over BUCKETS buckets by object id, and each bucket is replaced
whole by a write: a write stores new *generations* of the buckets it changes (partition key
"{task}#{job}#{bucket}#{generation}"), then switches the task's head item to them with one
conditional update on the task's revision. So a write, to one job or to all jobs of a task, is
all-or-nothing; a writer that loses the race runs again on the new state, so concurrent writes
all apply, in some order. Replaced generations are deleted after the switch; a reader that
finds the head moved while it read starts again.

Bulk reads and writes go through PynamoDB's connection with items encoded here (a Model
instance per item would cost more than the encoding itself), in parallel threads.
"""

import json
import random
import struct
import time
import uuid
from array import array
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError

from shared.tables import AnnotationItem

BUCKETS = 16
KINDS = ("tags", "shapes", "tracks")
_KIND_LETTER = {"tags": "t", "shapes": "s", "tracks": "k"}
_LETTER_KIND = {v: k for k, v in _KIND_LETTER.items()}
_ATTEMPTS = 8
_WRITE_ATTEMPTS = 20
_THREADS = 8  # PynamoDB keeps 10 connections; more threads than that would open and close them
_HEAD_KEY = "head"



class WriteConflict(Exception):
    """Too many concurrent writers on one task: the write was not applied."""


@dataclass
class JobState:
    version: int = 0
    buckets: list[str | None] = field(default_factory=lambda: [None] * BUCKETS)


@dataclass
class Head:
    task_id: int
    revision: int = 0
    jobs: dict[int, JobState] = field(default_factory=dict)

    def job(self, job_id: int) -> JobState:
        return self.jobs.get(job_id) or JobState()


# Objects of one job, by kind and id: {"tags": {id: obj}, "shapes": {...}, "tracks": {...}}
Objects = dict[str, dict[int, dict[str, Any]]]


def empty() -> Objects:
    return {kind: {} for kind in KINDS}


# ---------------------------------------------------------------- head


def load_head(task_id: int) -> Head:
    try:
        item = AnnotationItem.get(_head_partition(task_id), _HEAD_KEY, consistent_read=True)
    except AnnotationItem.DoesNotExist:
        return Head(task_id)
    stored = json.loads(item.body)
    jobs = {int(job): JobState(state["v"], state["b"]) for job, state in stored["jobs"].items()}
    return Head(task_id, int(item.revision or 0), jobs)


def _save_head(head: Head, expected_revision: int) -> bool:
    """Switches the head; False when another writer switched it first."""
    body = {"jobs": {str(j): {"v": s.version, "b": s.buckets} for j, s in head.jobs.items()}}
    item = AnnotationItem(_head_partition(head.task_id), _HEAD_KEY, owner=_owner(head.task_id, "head"),
                          revision=head.revision, body=json.dumps(body, separators=(",", ":")).encode())
    condition = (AnnotationItem.revision.does_not_exist() if expected_revision == 0
                 else AnnotationItem.revision == expected_revision)
    try:
        item.save(condition=condition)
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


# ---------------------------------------------------------------- small records of a task


def save_record(task_id: int, name: str, record: dict[str, Any], *, expires: datetime | None = None) -> None:
    """A small JSON record kept with the task's annotations (deleted with them; with `expires`,
    DynamoDB's TTL removes it some time after that moment)."""
    AnnotationItem(_head_partition(task_id), name, owner=_owner(task_id, "head"),
                   body=json.dumps(record).encode(), expires=expires).save()


def delete_record(task_id: int, name: str) -> None:
    AnnotationItem(_head_partition(task_id), name).delete()


def load_record(task_id: int, name: str) -> dict[str, Any] | None:
    try:
        item = AnnotationItem.get(_head_partition(task_id), name, consistent_read=True)
    except AnnotationItem.DoesNotExist:
        return None
    return json.loads(item.body)


# ---------------------------------------------------------------- reading


def read(task_id: int, job_ids: list[int]) -> tuple[Head, dict[int, Objects]]:
    """A consistent snapshot of the jobs' objects and the head it belongs to."""
    for _ in range(_ATTEMPTS):
        head = load_head(task_id)
        objects = _read_jobs(head, job_ids)
        after = load_head(task_id)
        if all(after.job(j).buckets == head.job(j).buckets for j in job_ids):
            return head, objects
    raise WriteConflict("The annotations changed too often while being read; try again.")


def _read_jobs(head: Head, job_ids: list[int]) -> dict[int, Objects]:
    partitions = [(job, generation, _partition(head.task_id, job, bucket, generation))
                  for job in job_ids for bucket, generation in enumerate(head.job(job).buckets) if generation]
    result = {job: empty() for job in job_ids}
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        for (job, _, _), items in zip(partitions, pool.map(lambda p: list(_query(p[2])), partitions), strict=True):
            for key, body in items:
                kind, object_id = _split_key(key)
                result[job][kind][object_id] = decode(kind, body, object_id)
    return result


def _query(partition: str) -> Iterator[tuple[str, bytes]]:
    connection = AnnotationItem._get_connection()
    start = None
    while True:
        page = connection.query(partition, exclusive_start_key=start, consistent_read=True)
        for item in page.get("Items", []):
            yield item["key"]["S"], item["body"]["B"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return


# ---------------------------------------------------------------- writing


Change = Callable[[Head, dict[int, Objects]], dict[int, Objects]]


def write(task_id: int, job_ids: list[int], change: Change, *, steps: int = 1) -> tuple[Head, Any]:
    """Applies `change` (current objects of the jobs -> their new objects) all-or-nothing and
    raises each job's version by `steps` (an import counts as a clear and a create: two).
    `change` may run more than once (on newer states when other writers got there first) and
    may raise to refuse the write."""
    for attempt in range(_WRITE_ATTEMPTS):
        if attempt:
            # back off at random, so that writers who collided do not collide again
            time.sleep(random.uniform(0, min(2.0, 0.02 * 2**attempt)))
        head = load_head(task_id)
        current = _read_jobs(head, job_ids)
        wanted = change(head, current)
        new_head = Head(task_id, head.revision + 1, {j: JobState(s.version, list(s.buckets))
                                                     for j, s in head.jobs.items()})
        written: list[str] = []
        replaced: list[str] = []
        puts: list[dict[str, Any]] = []
        for job in job_ids:
            state = new_head.jobs.setdefault(job, JobState())
            state.version += steps
            for bucket in _changed_buckets(current[job], wanted[job]):
                new = _bucket(wanted[job], bucket)
                previous = state.buckets[bucket]
                if previous:
                    replaced.append(_partition(task_id, job, bucket, previous))
                generation = uuid.uuid4().hex[:12] if new else None
                state.buckets[bucket] = generation
                if generation:
                    partition = _partition(task_id, job, bucket, generation)
                    written.append(partition)
                    puts += [_item(partition, key, _owner(task_id, bucket), body) for key, body in new.items()]
        _batch(puts, [])
        if _save_head(new_head, head.revision):
            _delete_partitions(replaced)
            return new_head, wanted
        _delete_partitions(written)
    raise WriteConflict("Too many people are saving annotations of this task at once; try again.")


def delete_task(task_id: int) -> int:
    """Every item of the task, current, replaced or left by an interrupted write."""
    connection = AnnotationItem._get_connection()
    keys: list[dict[str, Any]] = []
    for owner in [_owner(task_id, bucket) for bucket in range(BUCKETS)] + [_owner(task_id, "head")]:
        start = None
        while True:
            page = connection.query(owner, index_name="by-owner", exclusive_start_key=start)
            keys += [{"partition": item["partition"], "key": item["key"]} for item in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
    _batch([], keys)
    return len(keys)


def _changed_buckets(old: Objects, new: Objects) -> set[int]:
    changed: set[int] = set()
    for kind in KINDS:
        before, after = old[kind], new[kind]
        changed |= {i % BUCKETS for i in before.keys() ^ after.keys()}
        changed |= {i % BUCKETS for i in before.keys() & after.keys() if before[i] != after[i]}
    return changed


def _bucket(objects: Objects, bucket: int) -> dict[str, bytes]:
    return {_key(kind, object_id): encode(kind, obj)
            for kind in KINDS for object_id, obj in objects[kind].items() if object_id % BUCKETS == bucket}


def _delete_partitions(partitions: list[str]) -> None:
    keys = [{"partition": {"S": p}, "key": {"S": key}} for p in partitions for key, _ in _query(p)]
    _batch([], keys)


def _batch(puts: list[dict[str, Any]], deletes: list[dict[str, Any]]) -> None:
    requests = [{"PutRequest": {"Item": item}} for item in puts] + [{"DeleteRequest": {"Key": k}} for k in deletes]
    batches = [requests[i:i + 25] for i in range(0, len(requests), 25)]
    if len(batches) <= 1:
        for batch in batches:
            _send(batch)
        return
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        list(pool.map(_send, batches))


def _send(batch: list[dict[str, Any]]) -> None:
    connection = AnnotationItem._get_connection().connection
    table = AnnotationItem.Meta.table_name
    pending = batch
    for _ in range(10):
        answer = connection.dispatch("BatchWriteItem", {"RequestItems": {table: pending}})
        pending = answer.get("UnprocessedItems", {}).get(table, [])
        if not pending:
            return
    raise WriteConflict("DynamoDB did not take the write; try again.")


def _item(partition: str, key: str, owner: str, body: bytes) -> dict[str, Any]:
    return {"partition": {"S": partition}, "key": {"S": key}, "owner": {"S": owner}, "body": {"B": body}}


def _partition(task_id: int, job_id: int, bucket: int, generation: str) -> str:
    return f"{task_id}#{job_id}#{bucket}#{generation}"


def _head_partition(task_id: int) -> str:
    return f"{task_id}#head"


def _owner(task_id: int, bucket: int | str) -> str:
    return f"{task_id}#{bucket}"


def _key(kind: str, object_id: int) -> str:
    return f"{_KIND_LETTER[kind]}#{object_id:012d}"


def _split_key(key: str) -> tuple[str, int]:
    letter, _, number = key.partition("#")
    return _LETTER_KIND[letter], int(number)


# ---------------------------------------------------------------- encoding

# Fields in a fixed order per kind: the JSON of an item is an array, without key names.
_FIELDS = {
    "tags": ("frame", "label_id", "group", "source", "attributes"),
    "shapes": ("type", "frame", "label_id", "group", "source", "occluded", "z_order", "attributes"),
    "tracks": ("frame", "label_id", "group", "source", "attributes"),
}
_TRACKED = ("id", "type", "frame", "occluded", "outside", "z_order", "attributes")
# one encoder: json.dumps with options builds a new one on every call
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def encode(kind: str, obj: dict[str, Any]) -> bytes:
    """The fields as a JSON array, then the points as 8-byte floats (a box is 32 bytes)."""
    row: list[Any] = [obj[name] for name in _FIELDS[kind]]
    points = obj.get("points")
    if kind == "tracks":
        points = []
        shapes = []
        for shape in obj["shapes"]:
            shapes.append([shape[name] for name in _TRACKED] + [len(shape["points"])])
            points += shape["points"]
        row.append(shapes)
    text = _COMPACT.encode(row).encode()
    return struct.pack("<I", len(text)) + text + (array("d", points).tobytes() if points else b"")


def decode(kind: str, body: bytes, object_id: int) -> dict[str, Any]:
    (length,) = struct.unpack_from("<I", body)
    row = json.loads(body[4:4 + length])
    numbers = array("d")
    numbers.frombytes(body[4 + length:])
    obj: dict[str, Any] = {"id": object_id, **dict(zip(_FIELDS[kind], row, strict=False))}
    if kind == "shapes":
        obj["points"] = numbers.tolist()
    elif kind == "tracks":
        values = numbers.tolist()
        position = 0
        shapes = []
        for stored in row[len(_FIELDS[kind])]:
            shape = dict(zip(_TRACKED, stored, strict=False))
            count = stored[-1]
            shape["points"] = values[position:position + count]
            position += count
            shapes.append(shape)
        obj["shapes"] = shapes
    return obj

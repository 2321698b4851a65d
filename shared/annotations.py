"""Annotations of tasks and jobs (spec §9): the LabeledData JSON, its validation against the
task, the write operations (PUT, PATCH create/update/delete, DELETE) with per-job versions,
and the split of task-level writes into jobs and the merge of jobs into the task's view."""

import contextlib
import json
import math
import uuid
from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.update import Action

from shared import annotation_store as store
from shared import aws, storage, users
from shared.annotation_store import KINDS, Head, Objects
from shared.auth import Principal
from shared.config import settings
from shared.counters import allocate_many
from shared.errors import NotFound, PermissionDenied, PreconditionFailed, ValidationFailed
from shared.jobs import job_view, task_status
from shared.permissions import can_change_job, can_change_task, can_upload_annotations, can_view_job, can_view_task
from shared.schemas import JobUpdate, LabeledData
from shared.tables import JobItem, TaskItem, utcnow
from shared.tasks import jobs_of, load_task, relations, task_for
from shared.validation import validate

ACTIONS = ("create", "update", "delete")
_POINTS = {"rectangle": (4, 4), "cuboid": (16, 16), "polygon": (6, None), "polyline": (4, None), "points": (2, None)}
_ID_COUNTERS = {"tags": "tag", "shapes": "shape", "tracks": "track"}


@dataclass(frozen=True)
class Answer:
    data: dict[str, Any]
    etag: str


@dataclass(frozen=True)
class Scope:
    """What a request addresses: a whole task, or one job of it."""

    task: TaskItem
    jobs: list[JobItem]
    job: JobItem | None = None

    @property
    def job_ids(self) -> list[int]:
        return [int(self.job.job_id)] if self.job else [int(j.job_id) for j in self.jobs]

    @property
    def frames(self) -> tuple[int, int]:
        if self.job is not None:
            return int(self.job.start_frame), int(self.job.stop_frame)
        size = int(self.task.data["size"]) if self.task.data else 0
        return 0, size - 1

    def etag(self, head: Head) -> str:
        return f'"{self.version(head)}-{head.revision}"'

    def version(self, head: Head) -> int:
        return max((head.job(j).version for j in self.job_ids), default=0)


# ---------------------------------------------------------------- scopes and permissions


def task_scope(principal: Principal, task_id: int, *, change: bool) -> Scope:
    task, jobs = task_for(principal, task_id, can_change_task if change else can_view_task, with_jobs=True)
    return Scope(task, jobs)


def job_scope(principal: Principal, job_id: int, *, change: bool) -> Scope:
    try:
        job = JobItem.get(job_id)
    except JobItem.DoesNotExist:
        raise NotFound() from None
    task = load_task(int(job.task_id))
    jobs = jobs_of(int(task.task_id))
    rule = can_change_job if change else can_view_job
    job_assignee = None if job.assignee_id is None else int(job.assignee_id)
    if not rule(principal, relations(task, jobs), job_assignee):
        raise PermissionDenied()
    return Scope(task, jobs, job)


# ---------------------------------------------------------------- jobs (spec §4.2, §4.3)


def get_job(principal: Principal, job_id: int, base_url: str) -> dict[str, Any]:
    return job_view(job_scope(principal, job_id, change=False).job, base_url)  # type: ignore[arg-type]


def update_job(principal: Principal, job_id: int, body: dict[str, Any], base_url: str) -> dict[str, Any]:
    """PUT and PATCH alike: status and assignee, both optional; the task's status follows."""
    scope = job_scope(principal, job_id, change=True)
    job = scope.job
    assert job is not None
    request = validate(JobUpdate, body)
    actions: list[Action] = []
    if request.status is not None:
        actions.append(JobItem.status.set(request.status))
    if "assignee" in request.model_fields_set:
        if request.assignee is not None and users.user_by_id(request.assignee) is None:
            raise ValidationFailed.field("assignee", f'Invalid pk "{request.assignee}" - object does not exist.')
        actions.append(JobItem.assignee_id.set(request.assignee) if request.assignee is not None
                       else JobItem.assignee_id.remove())
    if actions:
        job.update(actions=actions)
        statuses = [job.status if int(j.job_id) == job_id else j.status for j in scope.jobs]
        scope.task.update(actions=[TaskItem.status.set(task_status(statuses))])
    return job_view(job, base_url)


# ---------------------------------------------------------------- reading


def read(scope: Scope) -> Answer:
    head, objects = store.read(int(scope.task.task_id), scope.job_ids)
    merged = objects[scope.job_ids[0]] if scope.job else merge_jobs(scope, objects)
    return Answer(labeled_data(scope.version(head), merged, scope.task.labels), scope.etag(head))


def labeled_data(version: int, objects: Objects, labels: list[dict[str, Any]]) -> dict[str, Any]:
    """The read view (spec §9.3): ordered, attributes padded with defaults."""
    specs = _specs(labels)
    tags = sorted(objects["tags"].values(), key=lambda o: (o["frame"], o["id"]))
    shapes = sorted(objects["shapes"].values(), key=lambda o: (o["frame"], o["id"]))
    tracks = sorted(objects["tracks"].values(), key=lambda o: o["id"])
    return {
        "version": version,
        "tags": [_padded(o, specs, mutable=None) for o in tags],
        "shapes": [_padded(o, specs, mutable=None) for o in shapes],
        "tracks": [_padded_track(o, specs) for o in tracks],
    }


def _padded(obj: dict[str, Any], specs: dict[int, dict[int, dict[str, Any]]], mutable: bool | None) -> dict[str, Any]:
    present = {a["spec_id"] for a in obj["attributes"]}
    extra = [{"spec_id": spec_id, "value": spec["default_value"]}
             for spec_id, spec in specs.get(obj["label_id"], {}).items()
             if spec_id not in present and (mutable is None or spec["mutable"] == mutable)]
    return {**obj, "attributes": obj["attributes"] + extra}


def _padded_track(track: dict[str, Any], specs: dict[int, dict[int, dict[str, Any]]]) -> dict[str, Any]:
    label_specs = specs.get(track["label_id"], {})
    padded = _padded(track, specs, mutable=False)
    previous: dict[int, str] = {sid: s["default_value"] for sid, s in label_specs.items() if s["mutable"]}
    shapes = []
    for shape in sorted(track["shapes"], key=lambda s: s["frame"]):
        values = {a["spec_id"]: a["value"] for a in shape["attributes"]}
        carried = [{"spec_id": sid, "value": value} for sid, value in previous.items() if sid not in values]
        previous.update({sid: v for sid, v in values.items() if sid in previous})
        shapes.append({**shape, "attributes": shape["attributes"] + carried})
    return {**padded, "shapes": shapes}


# ---------------------------------------------------------------- writing


def write(scope: Scope, method: str, body: dict[str, Any], *, action: str | None = None,
          if_match: str | None = None) -> Answer:
    """PUT (replace) or PATCH (create, update, delete) of the scope's annotations."""
    if method == "PATCH" and action not in ACTIONS:
        raise ValidationFailed(["Please specify a correct 'action' for the request"])
    _refuse_without_frames(scope)
    request = validate(LabeledData, body).model_dump(mode="json", exclude={"version"})
    echo = {kind: list(request[kind]) for kind in KINDS}
    if action == "delete":
        request = {kind: [o for o in request[kind] if o.get("id") is not None] for kind in KINDS}
    else:
        check(scope, request)
        _allocate_ids(request)
    incoming = _objects(request)

    def change(head: Head, current: dict[int, Objects]) -> dict[int, Objects]:
        _check_precondition(scope, head, if_match)
        if action == "create":
            _refuse_known_ids(current, incoming, scope)
        return {job: _apply(action, current[job], _for_job(scope, job, incoming), incoming) for job in scope.job_ids}

    head, _ = store.write(int(scope.task.task_id), scope.job_ids, change)
    _touch(scope.task)
    answer = echo if action == "delete" else _saved(request)
    return Answer({"version": scope.version(head), **answer}, scope.etag(head))


def clear(scope: Scope, *, if_match: str | None = None) -> Answer:
    """DELETE: every object of the scope goes; every job's version goes up."""

    _refuse_without_frames(scope)

    def change(head: Head, current: dict[int, Objects]) -> dict[int, Objects]:
        _check_precondition(scope, head, if_match)
        return {job: store.empty() for job in scope.job_ids}

    head, _ = store.write(int(scope.task.task_id), scope.job_ids, change)
    _touch(scope.task)
    return Answer({}, scope.etag(head))


def import_document(scope: Scope, document: dict[str, Any]) -> int:
    """An imported file's objects replace the scope's in one write that counts as two, a clear
    and a create (spec §10.2); a job keeps only what lies in its segment. Returns the version."""
    _refuse_without_frames(scope)
    request = validate(LabeledData, document).model_dump(mode="json", exclude={"version"})
    whole_task = Scope(scope.task, scope.jobs)
    check(whole_task, request)
    _allocate_ids(request)
    incoming = _objects(request)

    def change(head: Head, current: dict[int, Objects]) -> dict[int, Objects]:
        return {job: _for_job(whole_task, job, incoming) for job in scope.job_ids}

    head, _ = store.write(int(scope.task.task_id), scope.job_ids, change, steps=2)
    _touch(scope.task)
    return scope.version(head)


# ---------------------------------------------------------------- documents too large for a request

UPLOAD_HINT = ("Upload large annotations through POST /api/v1/tasks/{id}/annotations/uploads: PUT the LabeledData "
               "JSON to the URL it answers, then send this request again with ?upload=<upload_id> and no body.")


def announce_document(principal: Principal, task_id: int) -> dict[str, Any]:
    """A presigned PUT for a LabeledData JSON document, applied later by PUT or PATCH ?upload= of
    the task or of one of its jobs, whose rule is checked then; so the slot is open to whoever
    may write either."""
    task_for(principal, task_id, can_upload_annotations)
    upload_id = uuid.uuid4().hex
    _save_upload(task_id, upload_id, {"state": "waiting"})
    return {"upload_id": upload_id, "url": storage.presigned_put_any(document_key(task_id, upload_id)),
            "method": "PUT", "expires_in": storage.PRESIGN_SECONDS}


def apply_document(scope: Scope, upload_id: str, method: str, action: str | None) -> int:
    """Starts applying an uploaded document (202), or says how it went: 202 while running,
    201 once applied, 400 with the reason when it could not be."""
    task_id = int(scope.task.task_id)
    record = _load_upload(task_id, upload_id)
    if record["state"] == "failed":
        raise ValidationFailed(record["message"])
    if record["state"] == "done":
        return 201
    if record["state"] == "waiting":
        if method == "PATCH" and action not in ACTIONS:
            raise ValidationFailed(["Please specify a correct 'action' for the request"])
        if not storage.exists(document_key(task_id, upload_id)):
            raise ValidationFailed(f"upload {upload_id}: the document has not arrived; PUT it to the URL first")
        payload = {"task_id": task_id, "job_id": None if scope.job is None else int(scope.job.job_id),
                   "upload_id": upload_id, "method": method, "action": action}
        client = aws.stepfunctions()
        with contextlib.suppress(client.exceptions.ExecutionAlreadyExists):
            client.start_execution(stateMachineArn=settings().apply_annotations_state_machine_arn,
                                   name=f"apply-{task_id}-{upload_id}", input=json.dumps(payload))
        _save_upload(task_id, upload_id, {"state": "running"})
    return 202


def apply_uploaded(task_id: int, job_id: int | None, upload_id: str, method: str, action: str | None) -> int | None:
    """The worker: applies the document as one all-or-nothing write and returns the new
    version; a refused document is recorded with the answer a request would have had."""
    try:
        try:
            document = json.loads(storage.get(document_key(task_id, upload_id)))
        except ValueError as error:
            raise ValidationFailed({"detail": f"JSON parse error - {error}"}) from None
        if not isinstance(document, dict):
            raise ValidationFailed({"non_field_errors": ["Invalid data. Expected a dictionary."]})
        task = load_task(task_id)
        jobs = jobs_of(task_id)
        job = next((j for j in jobs if int(j.job_id) == job_id), None) if job_id is not None else None
        answer = write(Scope(task, jobs, job), method, document, action=action)
    except ValidationFailed as refused:
        record_upload_failure(task_id, upload_id, refused.body)
        return None
    _save_upload(task_id, upload_id, {"state": "done"})
    storage.delete_keys([document_key(task_id, upload_id)])
    return int(answer.data["version"])


def record_upload_failure(task_id: int, upload_id: str, message: Any) -> None:
    _save_upload(task_id, upload_id, {"state": "failed", "message": message})
    storage.delete_keys([document_key(task_id, upload_id)])


def document_key(task_id: int, upload_id: str) -> str:
    return f"imports/{task_id}/{upload_id}/annotations.json"


def _save_upload(task_id: int, upload_id: str, record: dict[str, Any]) -> None:
    store.save_record(task_id, f"upload#{upload_id}", record)


def _load_upload(task_id: int, upload_id: str) -> dict[str, Any]:
    record = store.load_record(task_id, f"upload#{upload_id}")
    if record is None:
        raise ValidationFailed(f"upload {upload_id} is not an upload of this task")
    return record


def offload(name: str, etag: str, body: bytes) -> str:
    """A presigned URL of an S3 copy of an answer too large for Lambda (kept a day)."""
    key = f"exports/annotations/{name}-{etag.strip('\"')}.json"
    if not storage.exists(key):
        storage.put(key, body, "application/json")
    return storage.presigned_get(key, content_type="application/json")


def delete_all(task_id: int) -> int:
    """Removes every annotation item of a task (when the task is deleted)."""
    return store.delete_task(task_id)


def _apply(action: str | None, current: Objects, mine: Objects, every: Objects) -> Objects:
    """A job's new objects: `mine` is the part of the request this job receives, `every` the
    whole request (an update may move an object out of this job's frames)."""
    if action is None:  # PUT
        return mine
    result = {kind: dict(current[kind]) for kind in KINDS}
    for kind in KINDS:
        if action in ("update", "delete"):
            for object_id in every[kind]:
                result[kind].pop(object_id, None)
        if action != "delete":
            result[kind].update(mine[kind])
    return result


def _refuse_without_frames(scope: Scope) -> None:
    if not scope.job_ids:
        raise ValidationFailed("The task has no frames yet: attach data, and save annotations once it is built")


def _check_precondition(scope: Scope, head: Head, if_match: str | None) -> None:
    if if_match and if_match.strip() != "*" and scope.etag(head) not in [t.strip() for t in if_match.split(",")]:
        what = f"job {scope.job.job_id}" if scope.job else f"task {scope.task.task_id}"
        raise PreconditionFailed(
            f"The annotations of {what} changed since {if_match.strip()}: they are now at {scope.etag(head)}. "
            "Load them again and repeat the change."
        )


def _refuse_known_ids(current: dict[int, Objects], incoming: Objects, scope: Scope) -> None:
    for kind in KINDS:
        for object_id in incoming[kind]:
            if any(object_id in current[job][kind] for job in scope.job_ids):
                raise ValidationFailed(f"{kind}: id {object_id} is already used; use action=update to change it")


def _touch(task: TaskItem) -> None:
    task.update(actions=[TaskItem.updated_date.set(utcnow())])


def _objects(request: dict[str, Any]) -> Objects:
    return {kind: {obj["id"]: obj for obj in request[kind]} for kind in KINDS}


def _saved(request: dict[str, Any]) -> dict[str, Any]:
    return {kind: request[kind] for kind in KINDS}


def _allocate_ids(request: dict[str, Any]) -> None:
    for kind in KINDS:
        _fill_ids(request[kind], _ID_COUNTERS[kind])
    _fill_ids([shape for track in request["tracks"] for shape in track["shapes"]], "tracked_shape")


def _fill_ids(objects: list[dict[str, Any]], counter: str) -> None:
    missing = [obj for obj in objects if obj.get("id") is None]
    for obj, new_id in zip(missing, allocate_many(counter, len(missing)), strict=True):
        obj["id"] = new_id


# ---------------------------------------------------------------- validation


def check(scope: Scope, request: dict[str, Any]) -> None:
    """Spec §9.4 in its order (tags, shapes, tracks; first error wins), plus attribute values,
    frames inside the scope and point counts. Messages name the object and the field."""
    specs = _specs(scope.task.labels)
    first, last = scope.frames
    where = f"job {scope.job.job_id} (frames {first}..{last})" if scope.job else f"the task (frames {first}..{last})"
    for kind in KINDS:
        ids: set[int] = set()
        for index, obj in enumerate(request[kind]):
            name = f"{kind}[{index}]" + (f" (id {obj['id']})" if obj.get("id") is not None else "")
            if obj.get("id") is not None:
                if obj["id"] in ids:
                    raise ValidationFailed(f"{name}: id {obj['id']} appears twice")
                ids.add(obj["id"])
            label = specs.get(obj["label_id"])
            if label is None:
                raise ValidationFailed(f"label_id `{obj['label_id']}` is invalid")
            _check_attributes(name, obj["attributes"], label, mutable=False if kind == "tracks" else None)
            if kind == "tracks":
                for shape_index, shape in enumerate(obj["shapes"]):
                    shape_name = f"{name}.shapes[{shape_index}]"
                    _check_attributes(shape_name, shape["attributes"], label, mutable=True)
                    _check_geometry(shape_name, shape, first, last, where)
            else:
                _check_frame(name, obj["frame"], first, last, where)
                if kind == "shapes":
                    _check_geometry(name, obj, first, last, where)


def _check_frame(name: str, frame: int, first: int, last: int, where: str) -> None:
    if not first <= frame <= last:
        raise ValidationFailed(f"{name}: frame {frame} is outside {where}")


def _check_geometry(name: str, shape: dict[str, Any], first: int, last: int, where: str) -> None:
    _check_frame(name, shape["frame"], first, last, where)
    count = len(shape["points"])
    least, most = _POINTS[shape["type"]]
    if count % 2 or count < least or (most is not None and count > most):
        needed = f"exactly {least}" if most == least else f"an even count of at least {least}"
        raise ValidationFailed(f"{name}: points of a {shape['type']} need {needed} numbers, not {count}")
    if not all(math.isfinite(p) for p in shape["points"]):
        raise ValidationFailed(f"{name}: points must be finite numbers")


def _check_attributes(name: str, values: list[dict[str, Any]], label: dict[int, dict[str, Any]],
                      mutable: bool | None) -> None:
    for value in values:
        spec = label.get(value["spec_id"])
        if spec is None or (mutable is not None and spec["mutable"] != mutable):
            raise ValidationFailed(f"spec_id `{value['spec_id']}` is invalid")
        problem = _value_problem(spec, value["value"])
        if problem:
            raise ValidationFailed(f"{name}: attribute {spec['name']} (spec_id {value['spec_id']}) {problem}")


def _value_problem(spec: dict[str, Any], value: str) -> str | None:
    kind = spec["input_type"]
    options = [v for v in spec.get("values") or [] if v != ""]
    if kind in ("select", "radio") and options and value not in options:
        return f"value {value!r} is not one of {', '.join(options)}"
    if kind == "checkbox" and value.lower() not in ("true", "false"):
        return f"value {value!r} is not true or false"
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return f"value {value!r} is not a number"
        bounds = _number_bounds(options)
        if bounds and not bounds[0] <= number <= bounds[1]:
            return f"value {value} is outside {bounds[0]:g}..{bounds[1]:g}"
    return None


def _number_bounds(values: list[str]) -> tuple[float, float] | None:
    try:
        return float(values[0]), float(values[1])
    except (IndexError, ValueError):
        return None


def _specs(labels: list[dict[str, Any]]) -> dict[int, dict[int, dict[str, Any]]]:
    return {label["id"]: {a["id"]: a for a in label["attributes"]} for label in labels}


# ---------------------------------------------------------------- split and merge (spec §9.5)


def _for_job(scope: Scope, job_id: int, objects: Objects) -> Objects:
    """The part of a task-level write that a job receives."""
    if scope.job is not None:
        return objects
    job = next(j for j in scope.jobs if int(j.job_id) == job_id)
    start, stop = int(job.start_frame), int(job.stop_frame)
    result = store.empty()
    for kind in ("tags", "shapes"):
        result[kind] = {i: o for i, o in objects[kind].items() if start <= o["frame"] <= stop}
    for track_id, track in objects["tracks"].items():
        sliced = slice_track(track, start, stop)
        if sliced is not None:
            result["tracks"][track_id] = sliced
    return result


def slice_track(track: dict[str, Any], start: int, stop: int) -> dict[str, Any] | None:
    """The part of a track a segment [start, stop] holds, or None when it is not visible there.
    Where keyframes are cut off, the interpolated position at the edge becomes a keyframe."""
    shapes = sorted(track["shapes"], key=lambda s: s["frame"])
    if not _visible(shapes, start, stop):
        return None
    kept = [s for s in shapes if start <= s["frame"] <= stop]
    before = [s for s in shapes if s["frame"] < start]
    after = [s for s in shapes if s["frame"] > stop]
    if before and (not kept or kept[0]["frame"] != start):
        kept.insert(0, _at_frame(before[-1], kept[0] if kept else (after[0] if after else None), start))
    if after and kept and kept[-1]["frame"] != stop and not kept[-1]["outside"]:
        kept.append(_at_frame(kept[-1], after[0], stop))
    while len(kept) > 1 and kept[0]["outside"]:
        kept.pop(0)
    return {**track, "frame": kept[0]["frame"], "shapes": kept}


def _visible(shapes: list[dict[str, Any]], start: int, stop: int) -> bool:
    for shape, following in zip(shapes, [*shapes[1:], None], strict=True):
        span_end = following["frame"] - 1 if following else math.inf
        if not shape["outside"] and shape["frame"] <= stop and span_end >= start:
            return True
    return False


def _at_frame(a: dict[str, Any], b: dict[str, Any] | None, frame: int) -> dict[str, Any]:
    """Shape a moved to `frame` towards b (linear for boxes, points and cuboids; a's points
    otherwise, as after an outside keyframe)."""
    points = a["points"]
    if (b is not None and not a["outside"] and not b["outside"] and b["frame"] != a["frame"]
            and a["type"] == b["type"] and len(a["points"]) == len(b["points"])
            and a["type"] in ("rectangle", "cuboid", "points")):
        t = (frame - a["frame"]) / (b["frame"] - a["frame"])
        points = [p + (q - p) * t for p, q in zip(a["points"], b["points"], strict=True)]
    return {**a, "frame": frame, "points": points}


def merge_jobs(scope: Scope, objects: dict[int, Objects]) -> Objects:
    """The task's view of its jobs (spec §9.5): jobs in id order; objects in an overlap zone
    that an earlier job already holds (same id, or same label and type with IoU >= 0.75 for
    boxes and polygons) are taken once; tracks of one id are united."""
    jobs = sorted(scope.jobs, key=lambda j: int(j.job_id))
    merged = store.empty()
    overlap = int(scope.task.overlap or 0)
    for index, job in enumerate(jobs):
        start = int(job.start_frame)
        zone_end = start + overlap if index else start
        own = objects.get(int(job.job_id), store.empty())
        if index and overlap == 0:
            _close_tracks_at(merged["tracks"], start)
        for kind in ("tags", "shapes"):
            for object_id, obj in own[kind].items():
                if obj["frame"] >= zone_end or not _duplicate(kind, obj, merged[kind]):
                    merged[kind].setdefault(object_id, obj)
        for track_id, track in own["tracks"].items():
            known = merged["tracks"].get(track_id)
            merged["tracks"][track_id] = _unite(known, track) if known else track
    return merged


def _close_tracks_at(tracks: dict[int, dict[str, Any]], frame: int) -> None:
    for track in tracks.values():
        last = max(track["shapes"], key=lambda s: s["frame"])
        if not last["outside"] and last["frame"] < frame:
            track["shapes"] = [*track["shapes"], {**last, "frame": frame, "outside": True}]


def _duplicate(kind: str, obj: dict[str, Any], collected: dict[int, dict[str, Any]]) -> bool:
    if obj["id"] in collected:
        return True
    for other in collected.values():
        if other["frame"] != obj["frame"] or other["label_id"] != obj["label_id"]:
            continue
        if kind == "tags":
            return True
        if other["type"] == obj["type"] and obj["type"] in ("rectangle", "polygon") and iou(obj, other) >= 0.75:
            return True
    return False


def _unite(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    frames = {s["frame"] for s in earlier["shapes"]}
    shapes = earlier["shapes"] + [s for s in later["shapes"] if s["frame"] not in frames]
    return {**earlier, "shapes": sorted(shapes, key=lambda s: s["frame"])}


def iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Intersection over union of the boxes around two shapes (exact for rectangles)."""
    ax0, ay0, ax1, ay1 = _box(a["points"])
    bx0, by0, bx1, by1 = _box(b["points"])
    width = min(ax1, bx1) - max(ax0, bx0)
    height = min(ay1, by1) - max(ay0, by0)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union > 0 else 0.0


def _box(points: list[float]) -> tuple[float, float, float, float]:
    xs, ys = points[0::2], points[1::2]
    return min(xs), min(ys), max(xs), max(ys)


"""Segments and jobs of a task (spec §5.7)."""

from typing import Any

from shared.counters import allocate_many
from shared.tables import JobItem


def plan_segments(
    size: int, segment_size: int, overlap: int | None, interpolation: bool
) -> tuple[int, list[tuple[int, int]]]:
    """The effective overlap and the inclusive [start, stop] of every segment."""
    if size <= 0:
        return (overlap or 0), []
    segment = segment_size if segment_size > 0 else size
    step = segment if segment_size > 0 else None
    effective = overlap if overlap is not None else (5 if interpolation else 0)
    effective = min(effective, segment // 2)
    if step is None:
        return effective, [(0, size - 1)]
    step -= effective
    return effective, [(start, min(start + segment - 1, size - 1)) for start in range(0, size, step)]


def create_jobs(task_id: int, segments: list[tuple[int, int]]) -> list[JobItem]:
    jobs = [
        JobItem(job_id, task_id=task_id, start_frame=start, stop_frame=stop, status="annotation", version=0)
        for job_id, (start, stop) in zip(allocate_many("job", len(segments)), segments, strict=True)
    ]
    with JobItem.batch_write() as batch:
        for job in jobs:
            batch.save(job)
    return jobs


def delete_jobs(task_id: int) -> int:
    jobs = list(JobItem.by_task.query(task_id))
    delete_job_items(jobs)
    return len(jobs)


def delete_job_items(jobs: list[JobItem]) -> None:
    with JobItem.batch_write() as batch:
        for job in jobs:
            batch.delete(job)


def job_view(job: JobItem, base_url: str) -> dict[str, Any]:
    return {
        "url": f"{base_url}/api/v1/jobs/{job.job_id}",
        "id": int(job.job_id),
        "assignee": None if job.assignee_id is None else int(job.assignee_id),
        "status": job.status,
        "start_frame": int(job.start_frame),
        "stop_frame": int(job.stop_frame),
        "task_id": int(job.task_id),
    }


def task_status(statuses: list[str]) -> str:
    """Spec §4.3: annotation if any job is, else validation if any is, else completed."""
    for status in ("annotation", "validation"):
        if status in statuses:
            return status
    return "completed" if statuses else "annotation"

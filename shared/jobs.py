"""Segments and jobs of a task (spec §5.7)."""

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

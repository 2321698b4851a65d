"""PynamoDB models of the DynamoDB tables declared in template.yaml.

Table names come from the environment on first use (a descriptor on Meta), so importing this
module needs neither AWS nor environment variables.
"""

from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from shared.config import settings


class _TableName:
    """Resolves a table name from the settings each time PynamoDB asks for it."""

    def __init__(self, field: str) -> None:
        self.field = field

    def __get__(self, obj: Any, owner: Any) -> str:
        return str(getattr(settings(), self.field))


def utcnow() -> datetime:
    return datetime.now(UTC)


class TasksByKind(GlobalSecondaryIndex["TaskItem"]):
    """Every task under one partition, newest first (ids grow): the task list."""

    class Meta:
        index_name = "by-kind"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    task_id = NumberAttribute(range_key=True)


class TaskItem(Model):
    class Meta:
        table_name = _TableName("tasks_table")

    task_id = NumberAttribute(hash_key=True)
    kind = UnicodeAttribute(default="task")
    name = UnicodeAttribute()
    owner_id = NumberAttribute(null=True)
    assignee_id = NumberAttribute(null=True)
    bug_tracker = UnicodeAttribute(default="")
    created_date = UTCDateTimeAttribute(default=utcnow)
    updated_date = UTCDateTimeAttribute(default=utcnow)
    overlap = NumberAttribute(null=True)
    segment_size = NumberAttribute(default=0)
    z_order = BooleanAttribute(default=False)
    project_id = NumberAttribute(null=True)
    mode = UnicodeAttribute(default="")
    status = UnicodeAttribute(default="annotation")
    labels = JSONAttribute(default=list)
    # The attached data record (spec §5.1), absent until POST /data.
    data = JSONAttribute(null=True)
    # Task creation (the CreateTask workflow): announced uploads, the execution, its progress.
    upload_id = UnicodeAttribute(null=True)
    uploads_expected = NumberAttribute(null=True)  # files announced for uploads/{task_id}/{upload_id}/
    uploads_arrived = NumberAttribute(null=True)  # S3 notifications counted so far (at least once each)
    execution_name = UnicodeAttribute(null=True)
    stage = UnicodeAttribute(null=True)  # one of shared.creation.Stage
    chunks_total = NumberAttribute(null=True)
    chunks_done = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)  # the Failed message, "<ErrorType>: <text>\n"
    by_kind = TasksByKind()


class JobsByTask(GlobalSecondaryIndex["JobItem"]):
    class Meta:
        index_name = "by-task"
        projection = AllProjection()

    task_id = NumberAttribute(hash_key=True)
    job_id = NumberAttribute(range_key=True)


class JobsByAssignee(GlobalSecondaryIndex["JobItem"]):
    """Sparse: only jobs with an assignee."""

    class Meta:
        index_name = "by-assignee"
        projection = AllProjection()

    assignee_id = NumberAttribute(hash_key=True)
    job_id = NumberAttribute(range_key=True)


class JobItem(Model):
    class Meta:
        table_name = _TableName("jobs_table")

    job_id = NumberAttribute(hash_key=True)
    task_id = NumberAttribute()
    start_frame = NumberAttribute()
    stop_frame = NumberAttribute()
    status = UnicodeAttribute(default="annotation")
    assignee_id = NumberAttribute(null=True)
    version = NumberAttribute(default=0)
    by_task = JobsByTask()
    by_assignee = JobsByAssignee()


class AnnotationsByOwner(GlobalSecondaryIndex["AnnotationItem"]):
    """Every item of a task, by "{task}#{bucket}" (16 partitions per task, so a task's writes
    are not throttled on one index partition): how deleting a task finds them all."""

    class Meta:
        index_name = "by-owner"
        projection = KeysOnlyProjection()

    owner = UnicodeAttribute(hash_key=True)


class AnnotationItem(Model):
    """A tag, shape or track (see shared.annotation_store), or a task's annotation head."""

    class Meta:
        table_name = _TableName("annotations_table")

    partition = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    owner = UnicodeAttribute()
    body = BinaryAttribute(legacy_encoding=False)
    revision = NumberAttribute(null=True)  # head items only
    expires = TTLAttribute(null=True)  # records of exports and imports go after 10 hours
    by_owner = AnnotationsByOwner()


class CounterItem(Model):
    class Meta:
        table_name = _TableName("counters_table")

    name = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)


class SessionItem(Model):
    """A login session; the key itself is never stored, only its SHA-256."""

    class Meta:
        table_name = _TableName("sessions_table")

    key_hash = UnicodeAttribute(hash_key=True)
    username = UnicodeAttribute()
    user_id = NumberAttribute()
    csrf_token = UnicodeAttribute()
    created = UTCDateTimeAttribute(default=utcnow)
    expires = TTLAttribute()


class LoginFailuresItem(Model):
    """Recent failed logins of one username, in the Sessions table under `login-failures#<username>`
    (session keys are SHA-256 hex, so the two never collide). `version` makes every write
    conditional, so containers updating it at once never lose an attempt."""

    class Meta:
        table_name = _TableName("sessions_table")

    key_hash = UnicodeAttribute(hash_key=True)
    attempts = ListAttribute[float](default=list)  # epoch seconds, oldest first
    version = VersionAttribute()
    expires = TTLAttribute()  # when the newest attempt leaves the window

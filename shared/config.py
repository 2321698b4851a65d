"""Settings read from the environment that template.yaml's Globals give every function."""

import os
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Settings:
    tasks_table: str
    jobs_table: str
    annotations_table: str
    counters_table: str
    sessions_table: str
    idempotency_table: str
    media_bucket: str
    user_pool_id: str
    user_pool_client_id: str
    create_task_state_machine_arn: str
    apply_annotations_state_machine_arn: str
    export_state_machine_arn: str
    import_state_machine_arn: str
    share_prefix: str = "share/"
    server_version: str = "1.2"
    # Bodies above this answer 413: Lambda takes 6 MB of event, and binary bodies arrive base64.
    max_request_body: int = 4 * 1024 * 1024
    # JSON list of the agreements registration asks for (spec §11, /restrictions/user-agreements)
    user_agreements: str = "[]"
    # Restrictions of spec §2.1 (template parameters TaskLimit and ReduceTaskVisibility).
    task_limit: int | None = None
    reduce_task_visibility: bool = False

    @property
    def create_task_state_machine_name(self) -> str:
        return self.create_task_state_machine_arn.rsplit(":", 1)[-1]


@cache
def settings() -> Settings:
    """The settings of this process, read on first use (never at import time)."""
    env = os.environ
    return Settings(
        tasks_table=env["TASKS_TABLE"],
        jobs_table=env["JOBS_TABLE"],
        annotations_table=env["ANNOTATIONS_TABLE"],
        counters_table=env["COUNTERS_TABLE"],
        sessions_table=env["SESSIONS_TABLE"],
        idempotency_table=env["IDEMPOTENCY_TABLE"],
        media_bucket=env["MEDIA_BUCKET"],
        user_pool_id=env["USER_POOL_ID"],
        user_pool_client_id=env["USER_POOL_CLIENT_ID"],
        create_task_state_machine_arn=env["CREATE_TASK_STATE_MACHINE_ARN"],
        apply_annotations_state_machine_arn=env["APPLY_ANNOTATIONS_STATE_MACHINE_ARN"],
        export_state_machine_arn=env["EXPORT_STATE_MACHINE_ARN"],
        import_state_machine_arn=env["IMPORT_STATE_MACHINE_ARN"],
        share_prefix=env.get("SHARE_PREFIX", "share/"),
        user_agreements=env.get("USER_AGREEMENTS", "[]"),
        task_limit=int(env["TASK_LIMIT"]) if env.get("TASK_LIMIT", "").strip() else None,
        reduce_task_visibility=env.get("REDUCE_TASK_VISIBILITY", "false").strip().lower() == "true",
    )

"""A small CVAT v1 client for the tests: a requests session that logs in like the v1 CLI
(form fields, then the session cookie and X-CSRFToken)."""

import time
from typing import Any

import requests


class Client:
    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.session = requests.Session()

    def login(self, username: str, password: str) -> "Client":
        answer = self.session.post(f"{self.base}/api/v1/auth/login", data={"username": username, "password": password})
        answer.raise_for_status()
        self.session.headers["X-CSRFToken"] = self.session.cookies["csrftoken"]
        return self

    def url(self, path: str) -> str:
        return f"{self.base}/api/v1/{path.lstrip('/')}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url(path), **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url(path), **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.patch(self.url(path), **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.put(self.url(path), **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.delete(self.url(path), **kwargs)

    def create_task(self, name: str = "task", labels: list[dict[str, Any]] | None = None,
                    **fields: Any) -> dict[str, Any]:
        body = {"name": name, "labels": labels or [{"name": "car"}, {"name": "person"}], **fields}
        answer = self.post("tasks", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def wait_status(self, task_id: int, timeout: float = 180.0) -> dict[str, str]:
        """Polls /status until Finished or Failed, collecting every state seen."""
        deadline = time.monotonic() + timeout
        self.seen_states: list[str] = []
        while True:
            status = self.get(f"tasks/{task_id}/status").json()
            if not self.seen_states or self.seen_states[-1] != status["state"]:
                self.seen_states.append(status["state"])
            if status["state"] in ("Finished", "Failed") or time.monotonic() > deadline:
                return status  # type: ignore[no-any-return]
            time.sleep(0.1)

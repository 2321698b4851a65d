"""The local runtime (`python -m local`) started in a subprocess and driven over HTTP."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.client import Client

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def runtime_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("runtime") / "runtime.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"LOCAL_ADMIN_USER": "admin", "LOCAL_ADMIN_PASSWORD": "Admin-12345", "PYTHONUNBUFFERED": "1"})
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "local", "--port", str(port)], cwd=ROOT, env=env,
                                   stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the local runtime exited:\n{log.read_text()}")
        try:
            requests.get(f"{url}/api/v1/server/about", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"the local runtime did not start within 60 s:\n{log.read_text()}")


@pytest.fixture
def admin(runtime_url: str) -> Client:
    return Client(runtime_url).login("admin", "Admin-12345")

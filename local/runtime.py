"""The local runtime: moto in server mode, the stack of template.yaml provisioned in it, the
functions in this process, and the HTTP API on 127.0.0.1:8080. Everything lives in memory."""

import functools
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from moto.server import ThreadedMotoServer
from werkzeug.serving import BaseWSGIServer, make_server

from local.gateway import Gateway
from local.stack import Stack, apply_environment, install_lambda_seam
from local.template import ROOT

log = logging.getLogger("local")

DEFAULT_ADMIN = ("admin", "Admin-12345")


@dataclass
class Runtime:
    stack: Stack
    moto: ThreadedMotoServer
    api: BaseWSGIServer
    endpoint: str

    @property
    def url(self) -> str:
        host, port = self.api.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_forever(self) -> None:
        self.api.serve_forever()

    def stop(self) -> None:
        self.api.shutdown()
        self.moto.stop()


def start(host: str = "127.0.0.1", port: int = 8080, *, admin: tuple[str, str] | None = None,
          share: Path | None = None) -> Runtime:
    # werkzeug would log every request of moto and of the API to the console
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    for path in (str(ROOT), str(ROOT / "functions")):
        if path not in sys.path:
            sys.path.insert(0, path)
    _cache_moto_module_list()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    moto_host, moto_port = moto.get_host_and_port()
    endpoint = f"http://{moto_host}:{moto_port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    # Presigned URLs name another host than the API's, as S3 and API Gateway differ in AWS, so
    # that clients following a redirect keep their cookies (bound to a host, not a port) home.
    s3_host = "localhost" if host in ("127.0.0.1", "0.0.0.0") else "127.0.0.1"
    os.environ["AWS_ENDPOINT_URL_S3"] = f"http://{s3_host}:{moto_port}"
    os.environ["MOTO_PORT"] = str(moto_port)  # where moto's Step Functions interpreter calls Lambda
    for key, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"),
                       ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_REGION", "us-east-1")):
        os.environ.setdefault(key, value)
    requests.post(f"{endpoint}/moto-api/config",
                  json={"stepfunctions": {"execute_state_machine": True}}, timeout=10).raise_for_status()
    stack = Stack()
    stack.provision()
    apply_environment(stack, endpoint)
    install_lambda_seam(stack)
    username, password = admin or _admin_from_environment()
    seed_admin(username, password)
    if share is not None:
        seed_share(share)
    api = make_server(host, port, Gateway(stack), threaded=True)
    return Runtime(stack, moto, api, endpoint)


def _cache_moto_module_list() -> None:
    """moto's server lists its own package folder on every request to route it (moto 5.2:
    hundreds of stat calls, 10-30 ms a request here); the list never changes while running."""
    from moto import backends

    if not hasattr(backends.list_of_moto_modules, "cache_info"):
        listed = tuple(backends.list_of_moto_modules())
        backends.list_of_moto_modules = functools.cache(lambda: listed)


def seed_admin(username: str, password: str) -> None:
    from shared import users

    if users.find_user(username) is None:
        users.create_user(username, password, email=f"{username}@localhost", groups=("admin",))


def seed_share(folder: Path) -> int:
    """Copies a folder of this machine into the bucket's share/ prefix (what server_files and
    GET /server/share see), as an administrator would sync one to S3 in AWS."""
    from shared import storage
    from shared.config import settings

    files = [path for path in sorted(folder.rglob("*")) if path.is_file()]
    for path in files:
        storage.put(settings().share_prefix + path.relative_to(folder).as_posix(), path.read_bytes())
    return len(files)


def _admin_from_environment() -> tuple[str, str]:
    return (os.environ.get("LOCAL_ADMIN_USER", DEFAULT_ADMIN[0]),
            os.environ.get("LOCAL_ADMIN_PASSWORD", DEFAULT_ADMIN[1]))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("LOCAL_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_PORT", "8080")))
    parser.add_argument("--share", type=Path, default=os.environ.get("LOCAL_SHARE") or None,
                        help="a folder copied into the share at start (server_files); env LOCAL_SHARE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("botocore", "moto", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # a failing step is reported by the task's status; moto's interpreter would print its state dump
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    runtime = start(args.host, args.port, share=args.share)
    username, password = _admin_from_environment()
    print(_banner(runtime.url, username, password, args.share), flush=True)

    stopping = threading.Event()

    def stop(*_: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=runtime.api.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    try:
        runtime.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.moto.stop()
        print("Stopped; the local state (in memory) is gone.", flush=True)
    return 0


def _banner(url: str, username: str, password: str, share: Path | None) -> str:
    shared = f"{share} (server_files)" if share else "empty (set LOCAL_SHARE=/a/folder to fill it)"
    return (
        f"\nCVAT v1 task API (local runtime) on {url}\n"
        f"  log in:  curl -s -X POST {url}/api/v1/auth/login -d username={username} -d password='{password}'\n"
        f"  admin:   {username} / {password}   (LOCAL_ADMIN_USER, LOCAL_ADMIN_PASSWORD change it)\n"
        f"  share:   {shared}\n"
        f"  docs:    {url}/api/swagger\n"
        "  state:   in memory; Ctrl-C stops and forgets everything\n"
    )

"""What every benchmark needs to run the real servers: free ports, child processes, readiness,
memory sampling, and the command and environment of a Vouch or bare uvicorn process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent


def vouch_env(
    database_url: str, redis_url: str, secret_key: str, **settings: str
) -> dict[str, str]:
    """The environment of a Vouch process under benchmark: production settings, quiet logs,
    plus `settings` as VOUCH_<NAME> variables."""
    return {
        **os.environ,
        "VOUCH_DATABASE_URL": database_url,
        "VOUCH_REDIS_URL": redis_url,
        "VOUCH_SECRET_KEY": secret_key,
        "VOUCH_LOG_LEVEL": "WARNING",
        "VOUCH_ENV": "production",
        **{f"VOUCH_{name.upper()}": value for name, value in settings.items()},
    }


def uvicorn_command(app: str, port: int, *, factory: bool = False) -> list[str]:
    """One uvicorn process serving `app` ("module:attr") as the API is served: uvloop,
    httptools, no access log. The bare FastAPI endpoints every ratio is measured against run
    this way."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        *(["--factory"] if factory else []),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60, status: int | None = None) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1, trust_env=False, follow_redirects=False) as http:
        while time.monotonic() < deadline:
            try:
                resp = http.get(url)
                if status is None or resp.status_code == status:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout}s")


@dataclass
class Procs:
    items: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, env=env, cwd=ROOT)
        self.items.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.items:
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGTERM)
        for proc in self.items:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class RssSampler:
    """Max resident memory of one process, sampled every 0.2 s while running."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.max = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.max = max(self.max, self.proc.memory_info().rss)
            time.sleep(0.2)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

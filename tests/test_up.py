"""`make run` end to end: `vouch up` on a fresh data dir, Ctrl-C, nothing left behind, and a
second run that reuses the data. Real embedded PostgreSQL and Redis, real API and worker."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import psutil
import pytest

from shared.config import Settings

ROOT = Path(__file__).resolve().parents[1]
KEY_RE = re.compile(r"vk_live_[A-Za-z0-9_-]+")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Up:
    """One `vouch up` process. Its stdout is drained by a thread so the pipe never blocks."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.port = port
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: list[str] = []
        self._threads = [
            threading.Thread(target=self._drain, args=(self.proc.stdout, self.lines), daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for t in self._threads:
            t.start()

    @staticmethod
    def _drain(stream: IO[str], into: list[str]) -> None:
        for line in stream:
            into.append(line)

    @property
    def stdout(self) -> str:
        return "".join(self.lines)

    def describe(self) -> str:
        return f"stdout:\n{self.stdout}\nstderr (tail):\n{''.join(self.stderr[-40:])}"

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2, trust_env=False) as http:
            while time.monotonic() < deadline:
                assert self.proc.poll() is None, "vouch up exited early\n" + self.describe()
                try:
                    if http.get(f"http://127.0.0.1:{self.port}/readyz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        pytest.fail("/readyz never answered 200\n" + self.describe())

    def wait_output(self, text: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.stdout:
            assert time.monotonic() < deadline, f"{text!r} never printed\n" + self.describe()
            time.sleep(0.05)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)  # what Ctrl-C in `make run` sends
        try:
            code = self.proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        for t in self._threads:
            t.join(timeout=5)
        return code


def _processes(up: Up, data_dir: Path) -> list[psutil.Process]:
    """Everything `up` runs: its children (API, worker) and the embedded servers."""
    procs = psutil.Process(up.proc.pid).children(recursive=True)
    postmaster = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
    redis = int((data_dir / "redis" / "redis.pid").read_text().strip())
    procs += [psutil.Process(postmaster), psutil.Process(redis)]
    return procs


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _leftovers(data_dir: Path, ports: list[int]) -> list[str]:
    """Live processes whose command line names the data dir or one of the ports (postgres
    `-D <dir> -p <port>`, redis-server `127.0.0.1:<port>`)."""
    wanted = {str(p) for p in ports}
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.pid == os.getpid():
            continue
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmdline or wanted & set(re.split(r"[\s:=/]+", cmdline)):
            found.append(f"{proc.pid}: {cmdline}")
    return found


def _server_ports(data_dir: Path) -> list[int]:
    return [int(p) for p in re.findall(r"\d+", (data_dir / "runtime.json").read_text())]


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="vouch-up-"))
    # `vouch up` prefers fixed ports (55432, 56379) unless runtime.json names others; random
    # free ones keep parallel test runs on one machine from racing for the same port.
    ports = {"pg_port": _free_port(), "redis_port": _free_port()}
    (path / "runtime.json").write_text(json.dumps(ports))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _up_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOUCH_")}
    return env | {
        "VOUCH_DATA_DIR": str(data_dir),
        "VOUCH_PORT": str(port),
        "VOUCH_LOG_LEVEL": "WARNING",
    }


def _assert_all_stopped(up: Up, code: int, procs: list[psutil.Process], data_dir: Path) -> None:
    assert code == 0, up.describe()
    still = [f"{p.pid}: {' '.join(p.cmdline())}" for p in procs if _alive(p)]
    assert not still, still
    ports = [up.port, *_server_ports(data_dir)]
    assert not _leftovers(data_dir, ports), _leftovers(data_dir, ports)


def test_make_run_starts_everything_and_ctrl_c_stops_everything(data_dir: Path) -> None:
    port = _free_port()
    env = _up_env(data_dir, port)

    first = Up(env, port)
    try:
        first.wait_ready()
        first.wait_output("Try: curl")
        keys = set(KEY_RE.findall(first.stdout))
        assert len(keys) == 1, first.describe()  # one demo key (shown twice: panel + curl)
        key = keys.pop()
        resp = httpx.get(
            f"http://127.0.0.1:{port}/v1/brand",
            headers={"Authorization": f"Bearer {key}"},
            trust_env=False,
        )
        assert resp.status_code == 200 and resp.json()["name"] == "Demo brand", resp.text
        procs = _processes(first, data_dir)
        assert len(procs) >= 4  # API, worker, postmaster, redis-server
        # The scan used after exit does see the servers while they run.
        running = _leftovers(data_dir, _server_ports(data_dir))
        assert any("postgres" in p for p in running) and any("redis" in p for p in running)
    finally:
        code = first.stop()
    _assert_all_stopped(first, code, procs, data_dir)

    # Same data dir again: the database is reused, so no second demo brand or key.
    second = Up(env, port)
    try:
        second.wait_ready()
        second.wait_output("Vouch is running")
        assert not KEY_RE.search(second.stdout), second.describe()
        resp = httpx.get(
            f"http://127.0.0.1:{port}/v1/brand",
            headers={"Authorization": f"Bearer {key}"},
            trust_env=False,
        )
        assert resp.status_code == 200 and resp.json()["name"] == "Demo brand", resp.text
        procs = _processes(second, data_dir)
    finally:
        code = second.stop()
    _assert_all_stopped(second, code, procs, data_dir)


def test_up_with_unreachable_postgres_fails_fast_and_says_how_to_fix(
    settings: Settings, data_dir: Path
) -> None:
    closed = _free_port()  # bound and released: nothing listens there
    env = _up_env(data_dir, _free_port()) | {
        "VOUCH_DATABASE_URL": f"postgresql+asyncpg://vouch@127.0.0.1:{closed}/vouch",
        "VOUCH_REDIS_URL": settings.redis_url or "",
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "up"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert time.monotonic() - started < 30
    assert "PostgreSQL" in result.stderr and f"127.0.0.1:{closed}" in result.stderr
    assert "Fix:" in result.stderr and "VOUCH_DATABASE_URL" in result.stderr
    assert "Redis" not in result.stderr  # only the server that is down is named
    assert not (data_dir / "postgres").exists()  # nothing embedded was started


def test_ctrl_c_during_startup_still_stops_the_servers(data_dir: Path) -> None:
    port = _free_port()
    up = Up(_up_env(data_dir, port), port)
    try:
        deadline = time.monotonic() + 30
        while not (data_dir / "postgres").exists():  # `up` is starting PostgreSQL
            assert time.monotonic() < deadline and up.proc.poll() is None, up.describe()
            time.sleep(0.02)
    finally:
        code = up.stop()
    assert code == 0, up.describe()
    assert not KEY_RE.search(up.stdout)  # stopped before the demo brand was made
    ports = _server_ports(data_dir)
    assert not _leftovers(data_dir, ports), _leftovers(data_dir, ports)


def test_up_refuses_a_port_in_use_before_starting_anything(data_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", "up"],
            env=_up_env(data_dir, port),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2, result.stderr
    assert f"Port {port}" in result.stderr and "VOUCH_PORT" in result.stderr
    assert not (data_dir / "postgres").exists()  # no embedded server was started
    assert not (data_dir / "redis").exists()

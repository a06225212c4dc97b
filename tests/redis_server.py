"""A private `redis-server` for tests and fault tools: a free loopback port, a temporary
directory, no persistence unless asked, and controls to pause, kill and restart it.

Standard library only, so `scripts/chaos.py` can use it as well as the test suites. It never
touches a Redis it did not start (the one on 6379 included).

    with redis_server() as server:
        store = RedisStore(server.url)
        server.pause(); server.resume(); server.restart()
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ping(port: int, timeout: float = 0.5) -> bool:
    """True if a Redis on this loopback port answers PING (and is not loading)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process on 127.0.0.1, restartable on the same port."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        persistent: bool = False,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.persistent = persistent
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.directory / "redis.log"

    def _args(self) -> list[str]:
        args = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--logfile", str(self.log_path),
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--save", "",
        ]
        if self.persistent:
            # Every write on disk before the reply, so a restart keeps everything acknowledged.
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        return args + list(self.extra_args)

    def start(self, timeout: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("redis-server already running")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self._args(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self.process.returncode} on port {self.port}: "
                    + self._log_tail()
                )
            if ping(self.port):
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server did not answer on port {self.port}: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-800:]
        except OSError:
            return "(no log)"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: gone at once; without persistence its data is gone too."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM: a clean shutdown (an append-only file is flushed)."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self, *, hard: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL with hard=True) and start again on the same port."""
        if hard:
            self.kill()
        else:
            self.stop()
        self.start()


@contextlib.contextmanager
def redis_server(
    directory: Path | None = None, *, persistent: bool = False, extra_args: tuple[str, ...] = ()
) -> Iterator[RedisServer]:
    """Start a private redis-server on a free loopback port; kill it and clean up at the end."""
    owned = directory is None
    path = Path(tempfile.mkdtemp(prefix="lapak-redis-")) if directory is None else directory
    server: RedisServer | None = None
    try:
        for _attempt in range(5):
            # The free port can be taken between probing and binding: try another.
            server = RedisServer(path, persistent=persistent, extra_args=extra_args)
            try:
                server.start()
                break
            except RuntimeError:
                server.kill()
                server = None
        if server is None:
            raise RuntimeError("could not start redis-server on a free loopback port")
        yield server
    finally:
        if server is not None:
            server.kill()
        if owned:
            shutil.rmtree(path, ignore_errors=True)


def available() -> bool:
    return os.access(REDIS_SERVER, os.X_OK)

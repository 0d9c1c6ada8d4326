"""More than one web process on one port: ``sokhan serve --processes N``.

One Python process runs Python on one core at a time, so a busy web app needs a process per core.
Each process binds its own listening socket with ``SO_REUSEPORT`` and the kernel spreads new
connections over them. The first process (the one ``sokhan serve`` started) also migrates, runs the
in-process worker and watches the others, starting a new one when one exits unexpectedly. The
others are started fresh (``sokhan serve --web-only``), not forked, so no thread, database or Redis
connection is shared across a fork.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

RESTART_PAUSE = 1.0  # seconds before starting a replacement, so a process that dies at start can't spin


def default_processes() -> int:
    """``SOKHAN_WEB_PROCESSES``, else one per core on PostgreSQL and one on SQLite (whose single
    writer gains nothing from more processes)."""
    configured = os.environ.get("SOKHAN_WEB_PROCESSES", "").strip()
    if configured:
        return max(1, int(configured))
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        return 1
    return max(1, os.cpu_count() or 1)


def can_share_port() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int, *, share: bool) -> socket.socket:
    """A socket listening on ``host:port``; with ``share`` other processes may bind the same."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if share:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(1024)
    sock.setblocking(False)
    return sock


class Siblings:
    """The extra web processes: started, restarted when they exit on their own, stopped at the end."""

    def __init__(self, count: int, *, host: str, port: int, threads: int) -> None:
        self.command = [sys.executable, "-m", "sokhan.cli", "serve", "--web-only", str(os.getpid())]
        self.command += ["--host", host, "--port", str(port), "--threads", str(threads)]
        self.count = count
        self.procs: list[subprocess.Popen[bytes]] = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.watcher = threading.Thread(target=self._watch, name="sokhan-web-processes", daemon=True)

    def start(self) -> None:
        with self.lock:
            self.procs = [self._spawn() for _ in range(self.count)]
        self.watcher.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command)

    def _watch(self) -> None:
        while not self.stopping.wait(0.5):
            with self.lock:
                for index, proc in enumerate(self.procs):
                    code = proc.poll()
                    if code is not None and not self.stopping.is_set():
                        logger.warning("web process %s exited with %s; starting another", proc.pid, code)
                        time.sleep(RESTART_PAUSE)
                        self.procs[index] = self._spawn()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        with self.lock:
            procs = list(self.procs)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def exit_with_parent(parent: int) -> None:
    """In an extra web process: stop when the first process (``parent``) is gone, even killed
    outright, so no orphan keeps serving on the port. The PID comes from the command line: read
    here, the parent could already be gone and replaced."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)

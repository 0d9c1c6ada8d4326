"""A fault-injecting HTTP reverse proxy on 127.0.0.1 for publishing tests.

Put it between Sokhan's connectors and a server (the loopback sink, or a real server started by the
e2e fixtures) by giving channels the proxy's URL. Every request is forwarded unchanged, except the
publish requests of keys that have faults queued in :attr:`FaultProxy.faults` (``key_of`` tells
which key a request publishes; each publish request of that key takes the next fault):

* ``Fault("503")`` — answer 503 without forwarding (nothing was posted);
* ``Fault("429", seconds)`` — answer 429 with ``Retry-After: seconds`` without forwarding;
* ``Fault("hold_before", seconds)`` — read the request, forward nothing, keep the connection silent for
  ``seconds`` (past the client's timeout), then close it;
* ``Fault("hold_after", seconds)`` — forward the request (the server acts on it), throw its answer away,
  keep the connection silent for ``seconds``, then close it: "sent, but the outcome is unknown".

:attr:`FaultProxy.log` records every publish request: its key, arrival time, the fault applied and
the status returned (``0`` when no answer was given), so a test can check retry timing.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
)

type KeyOf = Callable[[str, str, Mapping[str, str], bytes], str | None]


@dataclass(frozen=True)
class Fault:
    kind: str  # "503", "429", "hold_before", "hold_after"
    seconds: float = 0.0


@dataclass(frozen=True)
class Entry:
    key: str
    method: str
    path: str
    fault: str  # "" when forwarded untouched
    arrived: float  # time.time() when the request arrived
    answered: float  # time.time() when the answer was sent or the connection was closed
    status: int  # 0: no answer


def mastodon_key(method: str, path: str, headers: Mapping[str, str], body: bytes) -> str | None:
    """Mastodon: ``POST /api/v1/statuses`` with an ``Idempotency-Key``."""
    if method == "POST" and urlsplit(path).path == "/api/v1/statuses":
        return headers.get("Idempotency-Key") or None
    return None


def matrix_key(method: str, path: str, headers: Mapping[str, str], body: bytes) -> str | None:
    """Matrix: ``PUT …/rooms/{room}/send/m.room.message/{txnId}``; the transaction id is the key."""
    parts = urlsplit(path).path.split("/")
    if method == "PUT" and len(parts) >= 3 and parts[-3] == "send" and parts[-2] == "m.room.message":
        return unquote(parts[-1])
    return None


def botapi_key(method: str, path: str, headers: Mapping[str, str], body: bytes) -> str | None:
    """Telegram-shaped Bot API ``sendMessage`` (no idempotency key): the message text is the key."""
    if method == "POST" and urlsplit(path).path.endswith("/sendMessage"):
        try:
            return str(json.loads(body or b"{}").get("text", "")) or None
        except ValueError:
            return None
    return None


def any_key(*readers: KeyOf) -> KeyOf:
    def read(method: str, path: str, headers: Mapping[str, str], body: bytes) -> str | None:
        for reader in readers:
            key = reader(method, path, headers, body)
            if key:
                return key
        return None

    return read


@dataclass
class FaultProxy:
    upstream: str
    key_of: KeyOf = mastodon_key
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    log: list[Entry] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    stop: threading.Event = field(default_factory=threading.Event)

    def add(self, key: str, *faults: Fault) -> None:
        with self.lock:
            self.faults.setdefault(key, []).extend(faults)

    def next_fault(self, key: str) -> Fault | None:
        with self.lock:
            queue = self.faults.get(key)
            return queue.pop(0) if queue else None

    def record(self, entry: Entry) -> None:
        with self.lock:
            self.log.append(entry)

    def entries(self, key: str) -> list[Entry]:
        with self.lock:
            return sorted((e for e in self.log if e.key == key), key=lambda e: e.arrived)

    def keys(self) -> set[str]:
        with self.lock:
            return {e.key for e in self.log}


class _Handler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        arrived = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        key = self.proxy.key_of(self.command, self.path, headers, body)
        fault = self.proxy.next_fault(key) if key else None
        kind = fault.kind if fault else ""

        def done(status: int) -> None:
            if key:
                self.proxy.record(Entry(key, self.command, self.path, kind, arrived, time.time(), status))

        if kind == "503":
            self._answer(503, {"Content-Type": "application/json"}, b'{"error": "Service Unavailable (injected)"}')
            return done(503)
        if kind == "429":
            assert fault is not None
            seconds = round(fault.seconds)
            error = {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests (injected)"}
            payload = json.dumps({**error, "retry_after_ms": seconds * 1000}).encode()
            self._answer(429, {"Content-Type": "application/json", "Retry-After": str(seconds)}, payload)
            return done(429)
        if kind == "hold_before":
            assert fault is not None
            self._hold(fault.seconds)
            return done(0)
        try:
            status, reply_headers, reply = self._forward(headers, body)
        except OSError as exc:
            self._answer(502, {"Content-Type": "text/plain"}, f"upstream failed: {exc}".encode())
            return done(502)
        if kind == "hold_after":
            assert fault is not None
            self._hold(fault.seconds)
            return done(0)
        self._answer(status, reply_headers, reply)
        return done(status)

    def _forward(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        target = urlsplit(self.proxy.upstream)
        conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 80, timeout=60)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
            forwarded["Host"] = target.netloc
            if body or self.command in ("POST", "PUT"):
                forwarded["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body or None, headers=forwarded)
            response = conn.getresponse()
            reply = response.read()
            reply_headers = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
            return response.status, reply_headers, reply
        finally:
            conn.close()

    def _answer(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _hold(self, seconds: float) -> None:
        """Say nothing for ``seconds`` (or until the proxy stops), then hang up."""
        self.proxy.stop.wait(seconds)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(2)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):  # a client that gave up on a held connection
            return
        super().handle_error(request, client_address)


class FaultProxyServer:
    """``with FaultProxyServer(upstream, key_of=...) as proxy:`` — serves on a free 127.0.0.1 port."""

    def __init__(self, upstream: str, *, key_of: KeyOf = mastodon_key) -> None:
        self.proxy = FaultProxy(upstream=upstream.rstrip("/"), key_of=key_of)
        handler = type("Handler", (_Handler,), {"proxy": self.proxy})
        self.server = _Server(("127.0.0.1", 0), handler)
        self.proxy.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self.proxy

    def __exit__(self, *exc: object) -> None:
        self.proxy.stop.set()
        self.server.shutdown()
        self.server.server_close()

"""Contract-test replay server: serves recorded HTTP exchanges on 127.0.0.1 and checks each request.

Recorded exchanges live in ``tests/networks/cassettes/<network>/<name>.json``::

    {
      "doc": "https://docs.joinmastodon.org/methods/statuses/#create",   # the page the shapes follow
      "interactions": [
        {
          "request": {
            "method": "POST",
            "path": "/api/v1/statuses",
            "query": {"limit": "40"},                 # optional: must be present with these values
            "headers": {"Idempotency-Key": "t-1"},    # optional: must be present with these values
            "json": {"status": "Hello"},              # optional: a subset of the JSON body
            "form": {"status": "Hello"},              # optional: a subset of a form body
            "body_contains": ["multipart-part"]       # optional: substrings of the raw body
          },
          "response": {"status": 200, "headers": {...}, "json": {...}}  # or "body": "text"
        }
      ]
    }

Requests must arrive in the recorded order. Because the server is a real socket, any client
library (httpx, requests, aiohttp, an SDK) can be tested the same way, with the connector's base
URL pointed at ``server.url``. Sockets to anything but loopback are disabled in the test run.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

CASSETTES = Path(__file__).parent / "cassettes"


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _subset(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_subset(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


@dataclass
class Replay:
    name: str
    interactions: list[dict[str, Any]]
    doc: str = ""
    served: int = 0
    errors: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> dict[str, Any]:
        with self.lock:
            self.requests.append({"method": method, "path": path, "query": query, "body": body[:2000]})
            if self.served >= len(self.interactions):
                self.errors.append(f"unexpected extra request {method} {path}")
                return {"status": 599, "json": {"error": "no more recorded interactions"}}
            expected = self.interactions[self.served]
            self.served += 1
        want = expected["request"]
        problems = []
        if want["method"].upper() != method:
            problems.append(f"method {method} != {want['method']}")
        if want["path"] != path:
            problems.append(f"path {path} != {want['path']}")
        for key, value in want.get("query", {}).items():
            got = query.get(key)
            wanted = value if isinstance(value, list) else [value]
            if got != wanted:
                problems.append(f"query {key}={got} != {wanted}")
        lower = {k.lower(): v for k, v in headers.items()}
        for key, value in want.get("headers", {}).items():
            if lower.get(key.lower()) != value:
                problems.append(f"header {key}={lower.get(key.lower())!r} != {value!r}")
        if "json" in want:
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                payload = None
            if not _subset(want["json"], payload):
                problems.append(f"json body {payload!r} does not contain {want['json']!r}")
        if "form" in want:
            form = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            if not _subset(want["form"], form):
                problems.append(f"form body {form!r} does not contain {want['form']!r}")
        for needle in want.get("body_contains", []):
            if needle.encode() not in body:
                problems.append(f"body lacks {needle!r}")
        if problems:
            self.errors.append(f"interaction {self.served} ({want['method']} {want['path']}): " + "; ".join(problems))
        response: dict[str, Any] = expected["response"]
        return response

    def verify(self) -> None:
        """Every recorded request arrived, in order, as recorded."""
        assert not self.errors, f"{self.name}: " + "\n".join(self.errors)
        assert self.served == len(self.interactions), (
            f"{self.name}: only {self.served} of {len(self.interactions)} recorded requests were made"
        )


def load(name: str) -> Replay:
    data = json.loads((CASSETTES / f"{name}.json").read_text())
    doc = data.get("doc", "")
    assert doc.startswith("https://"), f"{name}: cite the official API reference page in 'doc'"
    return Replay(name=name, interactions=data["interactions"], doc=doc)


class _Handler(BaseHTTPRequestHandler):
    replay: Replay

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(length) if length else b""
        response = self.replay.check(
            self.command, split.path, parse_qs(split.query, keep_blank_values=True), dict(self.headers), body
        )
        if "json" in response:
            payload = json.dumps(response["json"], ensure_ascii=False).encode()
            content_type = "application/json; charset=utf-8"
        else:
            payload = str(response.get("body", "")).encode()
            content_type = "text/plain; charset=utf-8"
        payload = payload.replace(b"{base_url}", self.replay.url.encode())
        self.send_response(int(response.get("status", 200)))
        headers = {"Content-Type": content_type, **response.get("headers", {})}
        for key, value in headers.items():
            self.send_header(key, str(value).replace("{base_url}", self.replay.url))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return


class ReplayServer:
    def __init__(self, replay: Replay) -> None:
        handler = type("Handler", (_Handler,), {"replay": replay})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        replay.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.replay = replay
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> Replay:
        self.thread.start()
        return self.replay

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

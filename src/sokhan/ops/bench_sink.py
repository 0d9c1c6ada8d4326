"""A tiny Mastodon-compatible sink on 127.0.0.1, used by ``sokhan bench publish`` and the publishing tests.

It speaks the part of the Mastodon API the real ``MastodonConnector`` uses to publish
(``POST /api/v1/statuses`` with ``Idempotency-Key``, ``GET /api/v1/accounts/verify_credentials``,
``GET /api/v1/accounts/:id/statuses``) and, like Mastodon, answers a repeated ``Idempotency-Key``
with the status it already created. It counts *requests* and *created statuses* per key, so a caller
can tell a safe re-send from a duplicate post. ``script`` makes the next publish requests misbehave:
``("503",)``, ``("504",)``, ``("401",)``, ``("429", seconds)``, ``("422", reason)``, ``("drop",)``
(create the status, then close the connection without answering); ``stall_once``/``stall_every``
make a new post hang after it was created, until ``release`` is set.

It also answers the Telegram-shaped Bot API's ``POST /bot<token>/sendMessage`` (a network with no
idempotency key): every such request creates a new message, counted per text in ``messages``.
Run as a module (``python -m sokhan.ops.bench_sink SECONDS``) it serves in its own process.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT = {
    "id": "1",
    "username": "sokhan",
    "acct": "sokhan",
    "display_name": "Sokhan",
    "note": "",
    "url": "https://sink.example/@sokhan",
    "avatar": "",
    "header": "",
    "followers_count": 1,
    "following_count": 1,
    "statuses_count": 0,
    "fields": [],
    "created_at": "2024-01-01T00:00:00.000Z",
}


@dataclass
class Sink:
    url: str = ""
    requests: Counter[str] = field(default_factory=Counter)  # publish requests per Idempotency-Key
    created: Counter[str] = field(default_factory=Counter)  # statuses created per Idempotency-Key
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)  # by key
    messages: Counter[str] = field(default_factory=Counter)  # Bot API messages created per text
    script: list[tuple[Any, ...]] = field(default_factory=list)
    read_script: list[tuple[Any, ...]] = field(default_factory=list)  # answers to timeline reads: ("429", secs)
    stall_every: bool = False  # every new post stalls, until ``release`` is set
    stall_once: bool = False  # only the first new post stalls (crash test), until ``release`` is set
    stalled: threading.Event = field(default_factory=threading.Event)
    stalled_key: str = ""  # the key of the first post that stalled
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: int = 1000

    def status(self, key: str, text: str) -> tuple[dict[str, Any], bool]:
        with self.lock:
            self.requests[key] += 1
            if key and key in self.statuses:
                return self.statuses[key], False
            self.next_id += 1
            sid = str(self.next_id)
            status: dict[str, Any] = {
                "id": sid,
                "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "content": f"<p>{text}</p>",
                "visibility": "public",
                "url": f"https://sink.example/@sokhan/{sid}",
                "uri": f"https://sink.example/users/sokhan/statuses/{sid}",
                "account": ACCOUNT,
                "in_reply_to_id": None,
                "media_attachments": [],
                "mentions": [],
                "tags": [],
                "emojis": [],
                "language": "fa",
            }
            self.created[key] += 1
            if key:
                self.statuses[key] = status
            else:
                self.statuses[f"nokey-{sid}"] = status
            return status, True

    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.created.items() if n > 1}


class _Handler(BaseHTTPRequestHandler):
    sink: Sink
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY a kept-alive connection waits for
    # the client's delayed ACK (~40 ms) between them. Servers in front of Mastodon (nginx's
    # ``tcp_nodelay``, Puma) set it too.
    disable_nagle_algorithm = True

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/api/v1/accounts/verify_credentials":
            return self._json(200, ACCOUNT)
        if path.startswith("/api/v1/accounts/") and path.endswith("/statuses"):
            with self.sink.lock:
                step = self.sink.read_script.pop(0) if self.sink.read_script else None
            if step and step[0] == "429":
                return self._json(429, {"error": "Too many requests"}, {"Retry-After": str(step[1])})
            return self._json(200, list(reversed(list(self.sink.statuses.values())))[:40])
        return self._json(404, {"error": "Record not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        if urlsplit(self.path).path.startswith("/bot") and urlsplit(self.path).path.endswith("/sendMessage"):
            return self._bot_message(body)
        if urlsplit(self.path).path != "/api/v1/statuses":
            return self._json(404, {"error": "Record not found"})
        form = parse_qs(body)
        text = (form.get("status") or [""])[0]
        key = self.headers.get("Idempotency-Key", "")
        with self.sink.lock:
            step = self.sink.script.pop(0) if self.sink.script else None
        if step and step[0] == "503":
            self.sink.requests[key] += 1
            return self._json(503, {"error": "Service Unavailable"})
        if step and step[0] == "429":
            self.sink.requests[key] += 1
            return self._json(429, {"error": "Too many requests"}, {"Retry-After": str(step[1])})
        if step and step[0] == "504":
            self.sink.requests[key] += 1
            return self._json(504, {"error": "Gateway Timeout"})
        if step and step[0] == "401":
            self.sink.requests[key] += 1
            return self._json(401, {"error": "The access token is invalid"})
        if step and step[0] == "422":
            self.sink.requests[key] += 1
            return self._json(422, {"error": f"Validation failed: {step[1]}"})
        status, fresh = self.sink.status(key, text)
        if step and step[0] == "drop":
            self.close_connection = True
            self.connection.close()
            return None
        # Decided under the lock: with several workers posting at once, exactly one post stalls
        # for ``stall_once`` and the test learns which one.
        with self.sink.lock:
            first = not self.sink.stalled.is_set()
            stall = (
                fresh and not self.sink.release.is_set() and (self.sink.stall_every or (self.sink.stall_once and first))
            )
            if stall and first:
                self.sink.stalled_key = key
            if stall:
                self.sink.stalled.set()
        if stall:
            self.sink.release.wait(120)
        return self._json(200, status)

    def _bot_message(self, body: str) -> None:
        """Bot API ``sendMessage``: no idempotency, every request makes a new message."""
        payload = json.loads(body or "{}")
        text = str(payload.get("text", ""))
        with self.sink.lock:
            self.sink.next_id += 1
            message_id = self.sink.next_id
            self.sink.messages[text] += 1
        chat = {"id": -1001000000001, "type": "channel", "title": "Sink", "username": "sokhan_sink"}
        message = {"message_id": message_id, "chat": chat, "date": int(time.time()), "text": text}
        return self._json(200, {"ok": True, "result": message})

    def log_message(self, format: str, *args: Any) -> None:
        return


class SinkServer:
    def __init__(self, sink: Sink | None = None) -> None:
        self.sink = sink or Sink()
        handler = type("Handler", (_Handler,), {"sink": self.sink})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.sink.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> Sink:
        self.thread.start()
        return self.sink

    def __exit__(self, *exc: object) -> None:
        self.sink.release.set()
        self.server.shutdown()
        self.server.server_close()


def make_channel(workspace: Any, base_url: str, *, credentials: Any = None, **extra: Any) -> Any:
    """An active channel of ``network`` (default Mastodon) at ``base_url``, checked just now."""
    from django.utils import timezone

    from sokhan.channels.models import Channel
    from sokhan.networks.types import Credentials

    channel = Channel(
        workspace=workspace,
        network=extra.pop("network", "mastodon"),
        display_name=extra.pop("display_name", "Sink"),
        base_url=base_url,
        remote_id=extra.pop("remote_id", "1"),
        handle="sokhan",
        last_check_ok=True,
        last_check_at=timezone.now(),
        **extra,
    )
    channel.credentials = credentials or Credentials(access_token="tok-sink")  # noqa: S106 - the sink takes any
    channel.save()
    return channel


def forget_buckets() -> None:
    """Empty Sokhan's rate-limit buckets in Redis (when configured)."""
    from django.conf import settings

    from sokhan.channels import ratelimit

    if not settings.REDIS_URL:
        return
    store = ratelimit.RedisStore(settings.REDIS_URL)
    keys = list(store.client.scan_iter(f"{ratelimit.KEY_PREFIX}*"))
    if keys:
        store.client.delete(*keys)


if __name__ == "__main__":  # pragma: no cover - used by hand
    with SinkServer() as s:
        print(s.url, flush=True)
        threading.Event().wait(int(sys.argv[1]) if len(sys.argv) > 1 else 3600)

"""Fixtures: a loopback HTTP server whose answers a test sets (feeds, media files), channels, and
fetching allowed on 127.0.0.1 (production refuses private addresses unless configured)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from tests.publishing.test_dispatcher_sink import make_channel
from tests.web.helpers import sign_in

from sokhan.channels.models import Channel
from sokhan.core.models import User, Workspace


@dataclass
class Resource:
    body: bytes
    content_type: str = "application/xml"
    status: int = 200
    etag: str = ""


@dataclass
class LoopbackServer:
    base: str
    resources: dict[str, Resource] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def serve(self, path: str, body: bytes | str, **options: Any) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.resources[path] = Resource(data, **options)
        return self.base + path


def _handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            resource = server.resources.get(self.path)
            if resource is None:
                self.send_response(404)
                self.end_headers()
                return
            if resource.etag and self.headers.get("If-None-Match") == resource.etag:
                self.send_response(304)
                self.send_header("ETag", resource.etag)
                self.end_headers()
                return
            self.send_response(resource.status)
            self.send_header("Content-Type", resource.content_type)
            self.send_header("Content-Length", str(len(resource.body)))
            if resource.etag:
                self.send_header("ETag", resource.etag)
            self.end_headers()
            self.wfile.write(resource.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    holder = LoopbackServer(base="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(holder))
    holder.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield holder
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _fetch_loopback(settings: Any, tmp_path: Any) -> Iterator[None]:
    settings.AUTOMATION_FETCH_ALLOW_PRIVATE = True
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def mastodon(workspace: Workspace) -> Channel:
    channel: Channel = make_channel(workspace, "http://127.0.0.1:9")
    channel.display_name = "Mastodon main"
    channel.handle = "acme"
    channel.save()
    return channel


@pytest.fixture
def x_channel(workspace: Workspace) -> Channel:
    channel: Channel = make_channel(workspace, "", network="x")
    channel.display_name = "Acme on X"
    channel.handle = "acme_x"
    channel.save()
    return channel


@pytest.fixture
def owner_client(owner: User, workspace: Workspace) -> Client:
    owner.language = "en"
    owner.save(update_fields=["language"])
    client = Client()
    sign_in(client, owner.email)
    return client

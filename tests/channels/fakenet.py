"""A tiny social network on 127.0.0.1 and two connectors for it, registered with the real registry.

``FakeNetwork`` keeps accounts, tokens, posts and OAuth codes in memory and speaks plain JSON over
HTTP with the headers real networks send (``X-RateLimit-*``, ``Retry-After``, 401 for a bad token).
The token endpoint checks PKCE (S256) like a real authorisation server.

* ``TokenNet`` (key ``fake_token``): connect by typing an instance URL, an access token and an
  optional chat id; publish, read and edit the profile.
* ``OAuthNet`` (key ``fake_oauth``): OAuth 2.0 with PKCE against the same server, refresh tokens,
  expiring access tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from sokhan.networks import registry
from sokhan.networks.base import Connector, CredentialField, OAuthClient, OAuthSpec
from sokhan.networks.errors import AuthExpired, Rejected
from sokhan.networks.http import Http
from sokhan.networks.types import (
    AuthKind,
    Capability,
    Credentials,
    Limits,
    MediaLimits,
    Profile,
    ProfileUpdate,
    PublishRequest,
    PublishResult,
)


@dataclass
class FakeAccount:
    id: str
    handle: str
    name: str
    bio: str = ""
    url: str = ""
    avatar: str = ""
    followers: int = 10


@dataclass
class FakeNetwork:
    accounts: dict[str, FakeAccount] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> account id
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (account id, challenge)
    posts: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    rate_headers: dict[str, str] = field(default_factory=dict)
    status_override: int | None = None
    rotate_refresh: bool = False  # send a new refresh token on refresh (else none, like many networks)
    token_lifetime: int = 3600
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def add_account(self, handle: str, name: str, **extra: Any) -> tuple[FakeAccount, str]:
        account = FakeAccount(id=str(len(self.accounts) + 100), handle=handle, name=name, **extra)
        self.accounts[account.id] = account
        token = f"tok-{secrets.token_hex(6)}"
        self.tokens[token] = account.id
        return account, token

    def grant_code(self, account_id: str, challenge: str) -> str:
        code = f"code-{secrets.token_hex(6)}"
        self.codes[code] = (account_id, challenge)
        return code

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r == (method, path))


def _profile_json(account: FakeAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "handle": account.handle,
        "name": account.name,
        "bio": account.bio,
        "url": account.url,
        "avatar": account.avatar,
        "followers": account.followers,
    }


def make_handler(net: FakeNetwork) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in {**net.rate_headers, **(headers or {})}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            if self.headers.get("Content-Type", "").startswith("application/json"):
                return dict(json.loads(raw or "{}"))
            return {k: v[0] for k, v in parse_qs(raw).items()}

        def _account(self) -> FakeAccount | None:
            auth = self.headers.get("Authorization", "")
            account_id = net.tokens.get(auth.removeprefix("Bearer ").strip())
            return net.accounts.get(account_id) if account_id else None

        def _handle(self, method: str) -> None:
            path = urlsplit(self.path).path
            with net.lock:
                net.requests.append((method, path))
            body = self._body() if method in ("POST", "PATCH") else {}
            if net.status_override is not None:
                self._send(net.status_override, {"error": "overridden"})
                return
            if path == "/oauth/token":
                self._token(body)
                return
            account = self._account()
            if account is None:
                self._send(401, {"error": "The access token is invalid"})
                return
            if path == "/me" and method == "GET":
                self._send(200, _profile_json(account))
            elif path == "/me" and method == "PATCH":
                for key in ("name", "bio", "url"):
                    if body.get(key) is not None:
                        setattr(account, key, body[key])
                self._send(200, _profile_json(account))
            elif path == "/posts" and method == "POST":
                key = self.headers.get("Idempotency-Key", "")
                existing = next((p for p in net.posts if key and p["key"] == key), None)
                if existing is None:
                    existing = {"id": str(len(net.posts) + 1), "text": body["text"], "key": key, "by": account.id}
                    net.posts.append(existing)
                self._send(200, {"id": existing["id"], "url": f"{net.url}/posts/{existing['id']}"})
            else:
                self._send(404, {"error": "not found"})

        def _token(self, body: dict[str, Any]) -> None:
            grant = body.get("grant_type")
            if grant == "authorization_code":
                found = net.codes.pop(str(body.get("code")), None)
                verifier = str(body.get("code_verifier") or "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if found is None or found[1] != digest:
                    self._send(400, {"error": "invalid_grant"})
                    return
                account_id = found[0]
            elif grant == "refresh_token":
                account_id_or_none = net.refresh_tokens.pop(str(body.get("refresh_token")), None)
                if account_id_or_none is None:
                    self._send(400, {"error": "invalid_grant"})
                    return
                account_id = account_id_or_none
            else:
                self._send(400, {"error": "unsupported_grant_type"})
                return
            access = f"tok-{secrets.token_hex(6)}"
            net.tokens[access] = account_id
            answer: dict[str, Any] = {"access_token": access, "expires_in": net.token_lifetime, "scope": "read write"}
            if grant == "authorization_code" or net.rotate_refresh:
                refresh = f"ref-{secrets.token_hex(6)}"
                net.refresh_tokens[refresh] = account_id
                answer["refresh_token"] = refresh
            else:  # keep the same refresh token valid, and do not send it again
                net.refresh_tokens[str(body.get("refresh_token"))] = account_id
            self._send(200, answer)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

    return Handler


class FakeServer:
    def __init__(self) -> None:
        self.net = FakeNetwork()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.net))
        self.net.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeNetwork:
        self.thread.start()
        return self.net

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------- connectors for the fake network


class _FakeBase(Connector):
    limits = Limits(max_text=280, media=MediaLimits(max_count=0, min_image_pixels=(400, 400)))

    def _http(self) -> Http:
        return Http(self.key, self.base_url, headers={"Authorization": f"Bearer {self.credentials.access_token}"})

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        http = self._http()
        try:
            return dict(http.json(method, path, **kwargs))
        finally:
            self.last_rate_limit = http.last_rate_limit
            http.close()

    @staticmethod
    def _profile(data: dict[str, Any]) -> Profile:
        return Profile(
            remote_id=str(data["id"]),
            handle=data["handle"],
            display_name=data["name"],
            bio=data["bio"],
            url=data["url"],
            avatar_url=data["avatar"],
            followers=data["followers"],
        )

    def verify(self) -> Profile:
        return self._profile(self._json("GET", "/me"))

    def publish(self, request: PublishRequest) -> PublishResult:
        data = self._json(
            "POST", "/posts", json={"text": request.text}, headers={"Idempotency-Key": request.idempotency_key}
        )
        return PublishResult(remote_id=str(data["id"]), url=str(data["url"]))

    def update_profile(self, update: ProfileUpdate) -> Profile:
        return self._profile(
            self._json("PATCH", "/me", json={"name": update.display_name, "bio": update.bio, "url": update.url})
        )


class TokenNet(_FakeBase):
    key = "fake_token"
    name = "Fake Token Network"
    auth = AuthKind.ACCESS_TOKEN
    capabilities = frozenset({Capability.PROFILE_READ, Capability.PUBLISH_TEXT, Capability.PROFILE_UPDATE})
    credential_fields: ClassVar[Sequence[CredentialField]] = (
        CredentialField("base_url", "Instance URL"),
        CredentialField("access_token", "Access token", secret=True),
        CredentialField("chat_id", "Chat id", required=False),
    )


class OAuthNet(_FakeBase):
    key = "fake_oauth"
    name = "Fake OAuth Network"
    auth = AuthKind.OAUTH2_PKCE
    capabilities = frozenset({Capability.PROFILE_READ, Capability.PUBLISH_TEXT, Capability.PROFILE_UPDATE})
    oauth = OAuthSpec(authorize_url="/oauth/authorize", token_url="/oauth/token", scopes=("read", "write"))
    credential_fields: ClassVar[Sequence[CredentialField]] = (CredentialField("base_url", "Instance URL"),)

    @classmethod
    def authorization_url(cls, client: OAuthClient, *, state: str, code_challenge: str, base_url: str = "") -> str:
        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uri,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{base_url}/oauth/authorize?{urlencode(params)}"

    @classmethod
    def _token(cls, base_url: str, data: dict[str, str]) -> Credentials:
        http = Http(cls.key, base_url)
        try:
            answer = http.json("POST", "/oauth/token", data=data)
        except Rejected as exc:  # 400 invalid_grant: the refresh token or code is no good
            raise AuthExpired("token endpoint refused", network=cls.key, detail=str(exc)) from exc
        finally:
            http.close()
        return Credentials(
            access_token=answer["access_token"],
            refresh_token=answer.get("refresh_token", ""),
            expires_at=datetime.now(UTC) + timedelta(seconds=int(answer["expires_in"])),
            scopes=tuple(str(answer.get("scope", "")).split()),
        )

    @classmethod
    def exchange_code(cls, client: OAuthClient, *, code: str, code_verifier: str, base_url: str = "") -> Credentials:
        return cls._token(
            base_url,
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
                "client_id": client.client_id,
                "redirect_uri": client.redirect_uri,
            },
        )

    @classmethod
    def refresh(cls, client: OAuthClient, credentials: Credentials, *, base_url: str = "") -> Credentials:
        return cls._token(
            base_url,
            {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token, "client_id": client.client_id},
        )


for _cls in (TokenNet, OAuthNet):
    try:
        registry.get(_cls.key)
    except KeyError:
        registry.register(_cls)

"""Channels over the API: networks, connect (credentials or OAuth), check, pause/resume, disconnect,
profile snapshots and updates, the consistency report, and a test post. See docs/channels.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from sokhan.api.auth import Scope, access, access_of, client_ip
from sokhan.api.pagination import PageParams, paginate
from sokhan.api.schemas import ERRORS, ErrorOut, PageMeta
from sokhan.channels import conf, oauth
from sokhan.channels.calls import connector_class
from sokhan.channels.consistency import consistency_report
from sokhan.channels.models import Channel, ChannelStatus, ProfileSnapshot
from sokhan.channels.services import (
    Connected,
    channel_check_now,
    channel_connect,
    channel_get,
    channel_oauth_start,
    channel_profile_update,
    channel_set_status,
    channel_test_post,
)
from sokhan.core.errors import DomainError
from sokhan.core.permissions import Perm
from sokhan.networks import registry

router = Router(tags=["channels"])
RESPONSES: dict[int, type[ErrorOut]] = {**ERRORS, 502: ErrorOut, 503: ErrorOut}


class CredentialFieldOut(Schema):
    name: str
    label: str
    secret: bool
    required: bool
    help: str


class NetworkOut(Schema):
    key: str
    name: str
    auth: str
    capabilities: list[str]
    oauth: bool = Field(description="Connect by signing in at the network (an OAuth app is available).")
    pkce: bool
    credential_fields: list[CredentialFieldOut]
    docs: str


class SnapshotOut(Schema):
    id: int
    display_name: str
    handle: str
    bio: str
    url: str
    links: list[str]
    avatar_url: str
    header_url: str
    followers: int | None
    following: int | None
    posts: int | None
    taken_at: datetime
    last_seen_at: datetime


class ChannelOut(Schema):
    id: int
    network: str
    display_name: str
    handle: str
    base_url: str
    remote_id: str
    target: str
    status: str
    status_reason: str
    connected_at: datetime
    connected_by: str | None
    credentials_expires_at: datetime | None
    last_check_at: datetime | None
    last_check_ok: bool | None
    last_error: str
    rate_limit: dict[str, Any]
    rate_limited_until: datetime | None
    capabilities: list[str]


class ChannelPage(PageMeta):
    results: list[ChannelOut]


class SnapshotPage(PageMeta):
    results: list[SnapshotOut]


class ConnectedOut(Schema):
    channel: ChannelOut
    profile: SnapshotOut
    reconnected: bool


class ConnectIn(Schema):
    network: str = Field(..., min_length=1, max_length=40)
    values: dict[str, str] = Field(default_factory=dict, description="Named after the network's credential_fields.")
    channel_id: int | None = Field(None, description="Reconnect this channel instead of adding one.")


class OAuthStartIn(ConnectIn):
    pass


class OAuthStartOut(Schema):
    authorize_url: str
    expires_in: int


class ProfileIn(Schema):
    display_name: str | None = Field(None, max_length=300)
    bio: str | None = Field(None, max_length=5000)
    url: str | None = Field(None, max_length=1000)


class TestPostIn(Schema):
    text: str = Field(..., min_length=1, max_length=10000)
    idempotency_key: str | None = Field(None, max_length=200)


class TestPostOut(Schema):
    remote_id: str
    url: str


def channel_out(channel: Channel) -> dict[str, Any]:
    try:
        capabilities = sorted(c.value for c in connector_class(channel.network).capabilities)
    except DomainError:  # a connector that is no longer installed still lists its channel
        capabilities = []
    return {
        "id": channel.pk,
        "network": channel.network,
        "display_name": channel.display_name,
        "handle": channel.handle,
        "base_url": channel.base_url,
        "remote_id": channel.remote_id,
        "target": channel.target,
        "status": channel.status,
        "status_reason": channel.status_reason,
        "connected_at": channel.connected_at,
        "connected_by": channel.connected_by.email if channel.connected_by else None,
        "credentials_expires_at": channel.credentials_expires_at,
        "last_check_at": channel.last_check_at,
        "last_check_ok": channel.last_check_ok,
        "last_error": channel.last_error,
        "rate_limit": channel.rate_limit or {},
        "rate_limited_until": channel.rate_limited_until,
        "capabilities": capabilities,
    }


def snapshot_out(snapshot: ProfileSnapshot) -> dict[str, Any]:
    return {
        "id": snapshot.pk,
        "display_name": snapshot.display_name,
        "handle": snapshot.handle,
        "bio": snapshot.bio,
        "url": snapshot.url,
        "links": [str(x) for x in snapshot.links or []],
        "avatar_url": snapshot.avatar_url,
        "header_url": snapshot.header_url,
        "followers": snapshot.followers,
        "following": snapshot.following,
        "posts": snapshot.posts,
        "taken_at": snapshot.taken_at,
        "last_seen_at": snapshot.last_seen_at,
    }


def connected_out(result: Connected) -> dict[str, Any]:
    return {
        "channel": channel_out(result.channel),
        "profile": snapshot_out(result.snapshot),
        "reconnected": result.reconnected,
    }


@router.get("/workspaces/{ws}/networks", response={200: list[NetworkOut], **ERRORS}, auth=access(Perm.CHANNELS_VIEW))
def networks_list(request: HttpRequest, ws: str) -> list[dict[str, Any]]:
    workspace = access_of(request).workspace_membership.workspace
    return [
        {
            "key": cls.key,
            "name": cls.name,
            "auth": cls.auth.value,
            "capabilities": sorted(c.value for c in cls.capabilities),
            "oauth": oauth.can_start(workspace, cls),
            "pkce": bool(cls.oauth and cls.oauth.pkce),
            "credential_fields": [
                {"name": f.name, "label": str(f.label), "secret": f.secret, "required": f.required, "help": str(f.help)}
                for f in cls.credential_fields
            ],
            "docs": cls.docs_url,
        }
        for cls in registry.all_connectors()
    ]


@router.get("/workspaces/{ws}/channels", response={200: ChannelPage, **ERRORS}, auth=access(Perm.CHANNELS_VIEW))
def channels_list(request: HttpRequest, ws: str, page: Query[PageParams], status: str = "") -> dict[str, Any]:
    workspace = access_of(request).workspace_membership.workspace
    rows = Channel.objects.filter(workspace=workspace).select_related("connected_by")
    if status:
        rows = rows.filter(status=status)
    return paginate(request, rows.order_by("network", "display_name", "pk"), page, channel_out)


@router.post(
    "/workspaces/{ws}/channels",
    response={201: ConnectedOut, 200: ConnectedOut, **RESPONSES},
    auth=access(Perm.CHANNELS_MANAGE, Scope.WRITE),
)
def channels_connect(request: HttpRequest, ws: str, payload: ConnectIn) -> Status[dict[str, Any]]:
    membership = access_of(request).workspace_membership
    result = channel_connect(
        actor=membership,
        network=payload.network,
        values=payload.values,
        reconnect_id=payload.channel_id,
        ip=client_ip(request),
    )
    return Status(200 if result.reconnected else 201, connected_out(result))


@router.post(
    "/workspaces/{ws}/channels/oauth/start",
    response={200: OAuthStartOut, **RESPONSES},
    auth=access(Perm.CHANNELS_MANAGE, Scope.WRITE),
)
def channels_oauth_start(request: HttpRequest, ws: str, payload: OAuthStartIn) -> dict[str, Any]:
    """The URL to open in the browser of the person who owns the account. The network sends them
    back to Sokhan's callback, which must be opened in the same user's signed-in browser session."""
    membership = access_of(request).workspace_membership
    url = channel_oauth_start(
        actor=membership, network=payload.network, values=payload.values, reconnect_id=payload.channel_id
    )
    return {"authorize_url": url, "expires_in": int(conf.oauth_lifetime().total_seconds())}


@router.get(
    "/workspaces/{ws}/channels/consistency",
    response={200: dict[str, Any], **ERRORS},
    auth=access(Perm.CHANNELS_VIEW),
)
def channels_consistency(request: HttpRequest, ws: str) -> dict[str, Any]:
    workspace = access_of(request).workspace_membership.workspace
    return consistency_report(workspace).as_json()


@router.get(
    "/workspaces/{ws}/channels/{channel_id}", response={200: ChannelOut, **ERRORS}, auth=access(Perm.CHANNELS_VIEW)
)
def channels_get(request: HttpRequest, ws: str, channel_id: int) -> dict[str, Any]:
    workspace = access_of(request).workspace_membership.workspace
    return channel_out(channel_get(workspace, channel_id))


@router.delete(
    "/workspaces/{ws}/channels/{channel_id}",
    response={204: None, **ERRORS},
    auth=access(Perm.CHANNELS_MANAGE, Scope.WRITE),
)
def channels_disconnect(request: HttpRequest, ws: str, channel_id: int) -> Status[None]:
    membership = access_of(request).workspace_membership
    channel_set_status(
        actor=membership, channel_id=channel_id, status=ChannelStatus.DISCONNECTED, ip=client_ip(request)
    )
    return Status(204, None)


@router.post(
    "/workspaces/{ws}/channels/{channel_id}/check",
    response={200: ConnectedOut, **RESPONSES},
    auth=access(Perm.CHANNELS_MANAGE, Scope.WRITE),
)
def channels_check(request: HttpRequest, ws: str, channel_id: int) -> dict[str, Any]:
    """Verify the credentials now and store the profile. A refused token moves the channel to
    ``needs_reconnect`` (and answers 400 ``token_refused``)."""
    membership = access_of(request).workspace_membership
    channel, _profile, snapshot = channel_check_now(actor=membership, channel_id=channel_id)
    channel.refresh_from_db()
    return {"channel": channel_out(channel), "profile": snapshot_out(snapshot), "reconnected": False}


@router.post(
    "/workspaces/{ws}/channels/{channel_id}/pause",
    response={200: ChannelOut, **ERRORS},
    auth=access(Perm.CHANNELS_MANAGE, Scope.WRITE),
)
def channels_pause(request: HttpRequest, ws: str, channel_id: int) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    return channel_out(
        channel_set_status(actor=membership, channel_id=channel_id, status=ChannelStatus.PAUSED, ip=client_ip(request))
    )


@router.post(
    "/workspaces/{ws}/channels/{channel_id}/resume",
    response={200: ChannelOut, **ERRORS},
    auth=access(Perm.CHANNELS_MANAGE, Scope.WRITE),
)
def channels_resume(request: HttpRequest, ws: str, channel_id: int) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    return channel_out(
        channel_set_status(actor=membership, channel_id=channel_id, status=ChannelStatus.ACTIVE, ip=client_ip(request))
    )


@router.get(
    "/workspaces/{ws}/channels/{channel_id}/snapshots",
    response={200: SnapshotPage, **ERRORS},
    auth=access(Perm.CHANNELS_VIEW),
)
def channels_snapshots(request: HttpRequest, ws: str, channel_id: int, page: Query[PageParams]) -> dict[str, Any]:
    workspace = access_of(request).workspace_membership.workspace
    channel = channel_get(workspace, channel_id)
    rows = ProfileSnapshot.objects.filter(workspace=workspace, channel=channel).order_by("-taken_at", "-id")
    return paginate(request, rows, page, snapshot_out)


@router.patch(
    "/workspaces/{ws}/channels/{channel_id}/profile",
    response={200: SnapshotOut, **RESPONSES},
    auth=access(Perm.CHANNELS_MANAGE, Scope.WRITE),
)
def channels_profile_update(request: HttpRequest, ws: str, channel_id: int, payload: ProfileIn) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    _profile, snapshot = channel_profile_update(
        actor=membership,
        channel_id=channel_id,
        display_name=payload.display_name,
        bio=payload.bio,
        url=payload.url,
        ip=client_ip(request),
    )
    return snapshot_out(snapshot)


@router.post(
    "/workspaces/{ws}/channels/{channel_id}/test-post",
    response={201: TestPostOut, **RESPONSES},
    auth=access(Perm.POSTS_PUBLISH, Scope.WRITE),
)
def channels_test_post(request: HttpRequest, ws: str, channel_id: int, payload: TestPostIn) -> Status[dict[str, Any]]:
    membership = access_of(request).workspace_membership
    result = channel_test_post(
        actor=membership,
        channel_id=channel_id,
        text=payload.text,
        idempotency_key=payload.idempotency_key or "",
        ip=client_ip(request),
    )
    return Status(201, {"remote_id": result.remote_id, "url": result.url})

"""Channel pages: health overview, connect, channel detail (health, profile, history), profile
edit, consistency report, OAuth apps, and the global OAuth callback. Thin: services do the work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sokhan.channels import conf, oauth, ratelimit
from sokhan.channels.alerts import channel_alerts
from sokhan.channels.calls import account_bucket, app_bucket, connector_class
from sokhan.channels.consistency import consistency_report
from sokhan.channels.forms import (
    AUTH_LABELS,
    CredentialsForm,
    OAuthAppForm,
    ProfileForm,
    StandardForm,
    TestPostForm,
    capability_labels,
)
from sokhan.channels.models import Channel, ChannelStatus, OAuthApp, ProfileSnapshot
from sokhan.channels.profiles import latest_snapshot, snapshot_changes
from sokhan.channels.services import (
    Connected,
    OAuthFailed,
    channel_check_now,
    channel_connect,
    channel_get,
    channel_oauth_finish,
    channel_oauth_start,
    channel_profile_update,
    channel_set_status,
    channel_test_post,
    oauth_app_delete,
    oauth_app_save,
    profile_standard,
    profile_standard_save,
)
from sokhan.core.errors import DomainError, NotFound
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm, role_can
from sokhan.networks import registry
from sokhan.networks.base import Connector
from sokhan.networks.types import AuthKind, Capability
from sokhan.publishing.feeds import feed_urls
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip, current_user
from sokhan.web.views.common import apply_domain_error

HISTORY_ROWS = 50


@dataclass(frozen=True)
class NetworkView:
    """What templates need of a connector class (templates would call a class, so never pass one)."""

    key: str
    name: str
    docs_url: str
    auth: str
    capabilities: list[str]
    oauth: bool
    fields: bool

    @classmethod
    def of(cls, connector: type[Connector]) -> NetworkView:
        return cls(
            key=connector.key,
            name=connector.name,
            docs_url=connector.docs_url,
            auth=str(AUTH_LABELS[connector.auth]),
            capabilities=capability_labels(connector),
            oauth=connector.oauth is not None,
            fields=bool(connector.credential_fields),
        )


def _channel(membership: Membership, channel_id: int) -> Channel:
    try:
        return channel_get(membership.workspace, channel_id)
    except NotFound:
        raise Http404("channel not found") from None


def _connector(network: str) -> type[Connector]:
    try:
        return connector_class(network)
    except DomainError:
        raise Http404("unknown network") from None


def _page(request: HttpRequest, membership: Membership, template: str, status: int = 200, **extra: Any) -> HttpResponse:
    context = workspace_context(membership, "channels", alerts=channel_alerts(membership.workspace), **extra)
    return render(request, f"channels/{template}", context, status=status)


def _connected_message(request: HttpRequest, result: Connected) -> None:
    name = result.profile.display_name or result.profile.handle or result.channel.remote_id
    handle = result.profile.handle or result.channel.remote_id
    if result.reconnected:
        messages.success(request, _("Reconnected as %(name)s (%(handle)s).") % {"name": name, "handle": handle})
    else:
        messages.success(request, _("Connected as %(name)s (%(handle)s).") % {"name": name, "handle": handle})


def _rate_state(channel: Channel) -> dict[str, Any]:
    bucket = ratelimit.state(account_bucket(channel))
    app = ratelimit.state(app_bucket(channel.network, channel.base_url))
    return {
        "tokens": int(bucket.tokens),
        "capacity": int(account_bucket(channel).capacity),
        "blocked_until": bucket.blocked_until or app.blocked_until,
        "network": channel.rate_limit or {},
    }


# ---------------------------------------------------------------- list and health


@workspace_page(Perm.CHANNELS_VIEW)
@require_GET
def channel_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    channels = list(Channel.objects.filter(workspace=membership.workspace).select_related("connected_by"))
    names = {cls.key: cls.name for cls in registry.all_connectors()}
    rows = [(c, names.get(c.network, c.network)) for c in channels]
    return _page(request, membership, "list.html", rows=rows)


# ---------------------------------------------------------------- connect


@workspace_page(Perm.CHANNELS_MANAGE)
@require_GET
def connect_index(request: HttpRequest, membership: Membership) -> HttpResponse:
    networks = [(NetworkView.of(cls), oauth.can_start(membership.workspace, cls)) for cls in registry.all_connectors()]
    return _page(request, membership, "connect.html", networks=networks)


def _connect_page(
    request: HttpRequest, membership: Membership, cls: type[Connector], reconnect: Channel | None
) -> HttpResponse:
    mode = request.POST.get("mode", "")
    token_form = CredentialsForm(cls, request.POST if mode == "token" else None, reconnect=reconnect, prefix="token")
    oauth_form = CredentialsForm(cls, request.POST if mode == "oauth" else None, secrets=False, reconnect=reconnect)
    status = 200
    if request.method == "POST":
        status = 400
        form = token_form if mode == "token" else oauth_form
        if mode in ("token", "oauth") and form.is_valid():
            try:
                if mode == "token":
                    result = channel_connect(
                        actor=membership,
                        network=cls.key,
                        values=form.values(),
                        reconnect_id=reconnect.pk if reconnect else None,
                        ip=client_ip(request),
                    )
                    _connected_message(request, result)
                    return redirect("channels:detail", ws=membership.workspace.slug, channel_id=result.channel.pk)
                url = channel_oauth_start(
                    actor=membership,
                    network=cls.key,
                    values=form.values(),
                    reconnect_id=reconnect.pk if reconnect else None,
                )
                return redirect(url)
            except DomainError as error:
                apply_domain_error(form, error)
    return _page(
        request,
        membership,
        "connect_network.html",
        status=status,
        network=NetworkView.of(cls),
        token_form=token_form
        if cls.credential_fields and (cls.auth is AuthKind.NONE or any(f.secret for f in cls.credential_fields))
        else None,
        oauth_form=oauth_form if cls.oauth is not None else None,
        oauth_ready=oauth.can_start(membership.workspace, cls, reconnect.base_url if reconnect else ""),
        reconnect=reconnect,
        redirect_uri=oauth.redirect_uri(),
    )


@workspace_page(Perm.CHANNELS_MANAGE)
def connect_network(request: HttpRequest, membership: Membership, network: str) -> HttpResponse:
    return _connect_page(request, membership, _connector(network), None)


@workspace_page(Perm.CHANNELS_MANAGE)
def channel_reconnect(request: HttpRequest, membership: Membership, channel_id: int) -> HttpResponse:
    channel = _channel(membership, channel_id)
    return _connect_page(request, membership, _connector(channel.network), channel)


@login_required
@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """Where every network sends the person back. The ``state`` names the attempt, which names the
    workspace, the user and the network; nothing here trusts anything else from the query."""
    try:
        result = channel_oauth_finish(
            user=current_user(request),
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            error=request.GET.get("error_description") or request.GET.get("error", ""),
            ip=client_ip(request),
        )
    except OAuthFailed as failure:
        attempt = failure.attempt
        if attempt is not None and failure.code != "oauth_state_user":
            messages.error(request, failure.message)
            if attempt.reconnect_id:
                return redirect("channels:reconnect", ws=attempt.workspace.slug, channel_id=attempt.reconnect_id)
            return redirect("channels:connect_network", ws=attempt.workspace.slug, network=attempt.network)
        return render(request, "channels/oauth_failed.html", {"message": failure.message}, status=400)
    _connected_message(request, result)
    return redirect("channels:detail", ws=result.channel.workspace.slug, channel_id=result.channel.pk)


# ---------------------------------------------------------------- one channel


@workspace_page(Perm.CHANNELS_VIEW)
@require_GET
def channel_detail(request: HttpRequest, membership: Membership, channel_id: int) -> HttpResponse:
    channel = _channel(membership, channel_id)
    cls = _connector(channel.network)
    history = list(ProfileSnapshot.objects.filter(workspace=membership.workspace, channel=channel)[:HISTORY_ROWS])
    changes = [
        (snap, snapshot_changes(history[i + 1] if i + 1 < len(history) else None, snap))
        for i, snap in enumerate(history)
    ]
    can_post = role_can(membership.role, Perm.POSTS_PUBLISH) and cls.has(Capability.PUBLISH_TEXT)
    return _page(
        request,
        membership,
        "detail.html",
        channel=channel,
        network=NetworkView.of(cls),
        profile=history[0] if history else None,
        history=changes,
        rate=_rate_state(channel),
        preflight_minutes=int(conf.preflight_lead().total_seconds() // 60),
        can_edit_profile=cls.has(Capability.PROFILE_UPDATE),
        test_form=TestPostForm() if can_post and channel.usable else None,
        feed_urls=feed_urls(channel),
    )


@workspace_page(Perm.CHANNELS_MANAGE)
@require_POST
def channel_check(request: HttpRequest, membership: Membership, channel_id: int) -> HttpResponse:
    channel = _channel(membership, channel_id)
    try:
        channel_check_now(actor=membership, channel_id=channel.pk)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The credentials work; the profile was read again."))
    return redirect("channels:detail", ws=membership.workspace.slug, channel_id=channel.pk)


@workspace_page(Perm.CHANNELS_MANAGE)
@require_POST
def channel_status(request: HttpRequest, membership: Membership, channel_id: int) -> HttpResponse:
    channel = _channel(membership, channel_id)
    wanted = request.POST.get("status", "")
    try:
        channel_set_status(actor=membership, channel_id=channel.pk, status=wanted, ip=client_ip(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        done = {
            ChannelStatus.PAUSED: _("Channel paused: nothing is published to it until you resume it."),
            ChannelStatus.ACTIVE: _("Channel resumed."),
            ChannelStatus.DISCONNECTED: _("Channel disconnected; its access was forgotten."),
        }
        messages.success(request, str(done.get(ChannelStatus(wanted), "")))
    return redirect("channels:detail", ws=membership.workspace.slug, channel_id=channel.pk)


@workspace_page(Perm.POSTS_PUBLISH)
@require_POST
def channel_test_post_view(request: HttpRequest, membership: Membership, channel_id: int) -> HttpResponse:
    channel = _channel(membership, channel_id)
    form = TestPostForm(request.POST)
    if form.is_valid():
        try:
            result = channel_test_post(
                actor=membership, channel_id=channel.pk, text=form.cleaned_data["text"], ip=client_ip(request)
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, _("Posted. Remote id: %(id)s %(url)s") % {"id": result.remote_id, "url": result.url}
            )
    else:
        messages.error(request, _("Write something to post."))
    return redirect("channels:detail", ws=membership.workspace.slug, channel_id=channel.pk)


@workspace_page(Perm.CHANNELS_MANAGE)
def channel_profile(request: HttpRequest, membership: Membership, channel_id: int) -> HttpResponse:
    channel = _channel(membership, channel_id)
    cls = _connector(channel.network)
    if not cls.has(Capability.PROFILE_UPDATE):
        raise Http404("this network's profile cannot be edited")
    current = latest_snapshot(channel)
    initial = {"display_name": current.display_name, "bio": current.bio, "url": current.url} if current else {}
    form = ProfileForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                channel_profile_update(
                    actor=membership,
                    channel_id=channel.pk,
                    display_name=data["display_name"] if form.has_changed() else None,
                    bio=data["bio"] if "bio" in form.changed_data else None,
                    url=data["url"] if "url" in form.changed_data else None,
                    ip=client_ip(request),
                )
            except DomainError as error:
                apply_domain_error(form, error)
            else:
                messages.success(request, _("Profile updated on %(network)s.") % {"network": cls.name})
                return redirect("channels:detail", ws=membership.workspace.slug, channel_id=channel.pk)
    return _page(
        request, membership, "profile_edit.html", status=status, channel=channel, network=NetworkView.of(cls), form=form
    )


# ---------------------------------------------------------------- workspace-wide


@workspace_page(Perm.CHANNELS_VIEW)
def consistency(request: HttpRequest, membership: Membership) -> HttpResponse:
    standard = profile_standard(membership.workspace)
    can_manage = role_can(membership.role, Perm.CHANNELS_MANAGE)
    initial = {
        "brand_name": standard.brand_name,
        "link": standard.link,
        "bio_keywords": "\n".join(standard.bio_keywords or []),
    }
    form = StandardForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied(Perm.CHANNELS_MANAGE.value)
        status = 400
        if form.is_valid():
            try:
                profile_standard_save(
                    actor=membership,
                    brand_name=form.cleaned_data["brand_name"],
                    link=form.cleaned_data["link"],
                    bio_keywords=form.keywords(),
                    ip=client_ip(request),
                )
            except DomainError as error:
                apply_domain_error(form, error)
            else:
                messages.success(request, _("Saved. The report below uses the new standard."))
                return redirect("channels:consistency", ws=membership.workspace.slug)
    report = consistency_report(membership.workspace)
    return _page(
        request, membership, "consistency.html", status=status, report=report, form=form if can_manage else None
    )


def _oauth_networks() -> list[tuple[str, str]]:
    return [(cls.key, cls.name) for cls in registry.all_connectors() if cls.oauth is not None]


@workspace_page(Perm.WORKSPACE_SETTINGS)
def oauth_apps(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = OAuthAppForm(_oauth_networks(), request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                oauth_app_save(
                    actor=membership,
                    network=form.cleaned_data["network"],
                    base_url=form.cleaned_data["base_url"],
                    client_id=form.cleaned_data["client_id"],
                    client_secret=form.cleaned_data["client_secret"],
                    ip=client_ip(request),
                )
            except DomainError as error:
                apply_domain_error(form, error)
            else:
                messages.success(request, _("OAuth app saved."))
                return redirect("channels:oauth_apps", ws=membership.workspace.slug)
    names = {cls.key: cls.name for cls in registry.all_connectors()}
    env = [
        (cls.name, oauth.env_name(cls.key, "CLIENT_ID"), oauth.env_client(cls, "") is not None)
        for cls in registry.all_connectors()
        if cls.oauth is not None
    ]
    apps = [
        (app, names.get(app.network, app.network)) for app in OAuthApp.objects.filter(workspace=membership.workspace)
    ]
    return _page(
        request,
        membership,
        "oauth_apps.html",
        status=status,
        form=form,
        apps=apps,
        env=env,
        redirect_uri=oauth.redirect_uri(),
    )


@workspace_page(Perm.WORKSPACE_SETTINGS)
@require_POST
def oauth_app_remove(request: HttpRequest, membership: Membership, oauthapp_id: int) -> HttpResponse:
    try:
        oauth_app_delete(actor=membership, app_id=oauthapp_id, ip=client_ip(request))
    except NotFound:
        raise Http404("no such app") from None
    messages.success(request, _("OAuth app removed."))
    return redirect(reverse("channels:oauth_apps", kwargs={"ws": membership.workspace.slug}))

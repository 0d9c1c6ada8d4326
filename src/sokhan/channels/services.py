"""Actions on channels: connect (credentials or OAuth), reconnect, check, pause, disconnect, test
post, profile update, the workspace's profile standard and its OAuth apps. Views and API routes are
thin wrappers around these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.channels import oauth
from sokhan.channels.calls import ChannelUnavailable, app_bucket, call, connector_class, take
from sokhan.channels.models import (
    Channel,
    ChannelStatus,
    OAuthApp,
    OAuthAttempt,
    ProfileSnapshot,
    ProfileStandard,
)
from sokhan.channels.profiles import snapshot_record
from sokhan.core.errors import Conflict, DomainError, NotAllowed, NotFound
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.scoping import access_workspace
from sokhan.core.services import audit_record
from sokhan.networks.base import Connector
from sokhan.networks.errors import (
    AuthExpired,
    ConnectorError,
    NotSupported,
    OutcomeUnknown,
    RateLimited,
    Rejected,
)
from sokhan.networks.types import (
    Account,
    Capability,
    Credentials,
    Profile,
    ProfileUpdate,
    PublishRequest,
    PublishResult,
)

# Names of ``credential_fields`` that fill the connector's Account and Credentials directly; any
# other secret value goes to ``Credentials.data`` and any other plain value to ``Account.options``.
ACCOUNT_ATTRS = ("base_url", "remote_id", "handle", "target")
CREDENTIAL_ATTRS = ("access_token", "refresh_token", "username", "password")


class NetworkError(DomainError):
    """The network could not be reached or asked us to wait: not the caller's input."""

    status = 502
    code = "network_unavailable"


@dataclass(frozen=True)
class Connected:
    channel: Channel
    snapshot: ProfileSnapshot
    reconnected: bool
    profile: Profile


def _require(membership: Membership, perm: Perm) -> None:
    if not role_can(membership.role, perm):
        raise NotAllowed(_("Your role may not do this."))


def channel_get(workspace: Workspace, channel_id: int) -> Channel:
    channel = Channel.objects.filter(workspace=workspace, pk=channel_id).select_related("workspace").first()
    if channel is None:
        raise NotFound(_("No such channel in this workspace."))
    return channel


def user_error(exc: ConnectorError, *, secret_field: str = "") -> DomainError:
    """A connector's typed error as a message a person can act on."""
    if isinstance(exc, AuthExpired):
        return DomainError(
            _("The network refused the token or password. Check it, or create a new one, and try again."),
            fields={secret_field: _("refused by the network")} if secret_field else None,
            code="token_refused",
        )
    if isinstance(exc, RateLimited):
        wait = int(exc.retry_after or 60)
        error = NetworkError(
            _("The network asks Sokhan to wait %(seconds)s seconds before trying again.") % {"seconds": wait},
            code="network_rate_limited",
        )
        error.status = 503
        return error
    if isinstance(exc, OutcomeUnknown):
        return NetworkError(
            _("The network did not answer in time; the action may or may not have happened. Check the account."),
            code="outcome_unknown",
        )
    if isinstance(exc, NotSupported):
        return DomainError(_("This network does not support that."), code="not_supported")
    if isinstance(exc, Rejected):
        reason = exc.reason + (f" ({exc.detail})" if exc.detail else "")
        message = _("The network refused this: %(reason)s") % {"reason": reason}
        return DomainError(message, fields={exc.field: message} if exc.field else None, code="rejected")
    detail = exc.detail or exc.message
    return NetworkError(_("Could not reach the network: %(detail)s") % {"detail": detail})


def _secret_field(cls: type[Connector]) -> str:
    return next((f.name for f in cls.credential_fields if f.secret), "")


def clean_base_url(value: str, *, field: str = "base_url") -> str:
    url = oauth.normalize_base_url(value)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in url:
        raise DomainError(
            _("Enter a full address such as https://example.social"), fields={field: "invalid"}, code="invalid"
        )
    return url


def split_values(
    cls: type[Connector], values: dict[str, str], *, secrets: bool = True, base: Channel | None = None
) -> tuple[Account, Credentials]:
    """Turn what a person typed (named after ``credential_fields``) into Account and Credentials.

    ``secrets=False`` reads only the plain fields (the OAuth start form). ``base`` (a reconnect)
    supplies the Account values the person did not type again."""
    account: dict[str, Any] = {}
    options: dict[str, str] = {}
    creds: dict[str, Any] = {}
    data: dict[str, str] = {}
    missing: dict[str, str] = {}
    if base is not None:
        account = {"base_url": base.base_url, "target": base.target, "handle": base.handle}
        options = {str(k): str(v) for k, v in (base.options or {}).items()}
    for field in cls.credential_fields:
        if field.secret and not secrets:
            continue
        raw = str(values.get(field.name) or "").strip()
        if not raw:
            if account.get(field.name):
                continue
            if field.required:
                missing[field.name] = str(_("This field is required."))
            continue
        if field.name == "base_url":
            raw = clean_base_url(raw)
        if field.name in ACCOUNT_ATTRS:
            account[field.name] = raw
        elif field.name in CREDENTIAL_ATTRS:
            creds[field.name] = raw
        elif field.secret:
            data[field.name] = raw
        else:
            options[field.name] = raw
    if "target" not in {f.name for f in cls.credential_fields} and values.get("target"):
        account["target"] = str(values["target"]).strip()
    if missing:
        first = next(iter(missing))
        label = next((str(f.label) for f in cls.credential_fields if f.name == first), first)
        raise DomainError(_("%(field)s is required.") % {"field": label}, fields=missing, code="invalid")
    return Account(options=options, **account), Credentials(data=data, **creds)


def _verify(cls: type[Connector], account: Account, credentials: Credentials) -> Profile:
    take(app_bucket(cls.key, account.base_url), network=cls.key)
    connector = cls(account, credentials)
    try:
        return connector.verify()
    except ConnectorError as exc:
        raise user_error(exc, secret_field=_secret_field(cls)) from exc


def _target_label(channel: Channel) -> str:
    return f"{channel.network}:{channel.handle or channel.remote_id}"


@transaction.atomic
def _save_connected(
    *,
    workspace: Workspace,
    user: User,
    cls: type[Connector],
    account: Account,
    credentials: Credentials,
    profile: Profile,
    reconnect: Channel | None,
    ip: str | None,
) -> Connected:
    now = timezone.now()
    remote_id = (profile.remote_id or account.remote_id).strip()
    if not remote_id:
        raise DomainError(_("The network did not say which account these credentials belong to."))
    if reconnect is not None and reconnect.remote_id != remote_id:
        raise Conflict(
            _("These credentials belong to %(handle)s, not to this channel's account.")
            % {"handle": profile.handle or remote_id},
            code="different_account",
        )
    target = reconnect.target if reconnect is not None else account.target
    existing = (
        Channel.objects.select_for_update()
        .filter(workspace=workspace, network=cls.key, remote_id=remote_id, target=target)
        .first()
    )
    channel = existing or Channel(workspace=workspace, network=cls.key, remote_id=remote_id, target=target)
    channel.display_name = (profile.display_name or profile.handle or remote_id)[:200]
    channel.base_url = account.base_url
    channel.handle = (profile.handle or account.handle)[:255]
    channel.options = dict(account.options)
    channel.credentials = credentials
    channel.status, channel.status_changed_at, channel.status_reason = ChannelStatus.ACTIVE, now, ""
    channel.last_check_at, channel.last_check_ok, channel.last_error = now, True, ""
    channel.expiry_warned_at = None
    channel.connected_by, channel.connected_at = user, now
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError:
        raise Conflict(_("This account is already connected here.")) from None
    snapshot, _created = snapshot_record(channel, profile, at=now)
    action = "channel.reconnect" if existing is not None else "channel.connect"
    audit_record(
        workspace=workspace,
        actor=user,
        action=action,
        target=_target_label(channel),
        data={"channel": channel.pk, "network": cls.key, "name": channel.display_name},
        ip=ip,
    )
    return Connected(channel=channel, snapshot=snapshot, reconnected=existing is not None, profile=profile)


def channel_connect(
    *,
    actor: Membership,
    network: str,
    values: dict[str, str],
    reconnect_id: int | None = None,
    ip: str | None = None,
) -> Connected:
    """Connect (or reconnect) with typed credentials: verified with the network before anything is saved."""
    _require(actor, Perm.CHANNELS_MANAGE)
    reconnect = channel_get(actor.workspace, reconnect_id) if reconnect_id is not None else None
    cls = connector_class(reconnect.network if reconnect is not None else network)
    if not cls.credential_fields:
        raise DomainError(_("%(network)s is connected by signing in there.") % {"network": cls.name}, code="use_oauth")
    account, credentials = split_values(cls, values, base=reconnect)
    profile = _verify(cls, account, credentials)
    return _save_connected(
        workspace=actor.workspace,
        user=actor.user,
        cls=cls,
        account=account,
        credentials=credentials,
        profile=profile,
        reconnect=reconnect,
        ip=ip,
    )


def channel_oauth_start(
    *,
    actor: Membership,
    network: str,
    values: dict[str, str],
    reconnect_id: int | None = None,
    redirect_to: str = "",
) -> str:
    """Store an OAuth attempt and return the URL to send the person to."""
    _require(actor, Perm.CHANNELS_MANAGE)
    reconnect = channel_get(actor.workspace, reconnect_id) if reconnect_id is not None else None
    cls = connector_class(reconnect.network if reconnect is not None else network)
    if cls.oauth is None:
        raise DomainError(_("%(network)s has no sign-in flow; enter its token.") % {"network": cls.name})
    account, _creds = split_values(cls, values, secrets=False, base=reconnect)
    try:
        client = oauth.oauth_client(actor.workspace, cls, account.base_url, register=True)
    except ConnectorError as exc:
        raise user_error(exc) from exc
    if client is None:
        raise DomainError(
            _("No OAuth app is set up for %(network)s. An owner or admin can add one under Channels → OAuth apps.")
            % {"network": cls.name},
            code="oauth_not_configured",
        )
    attempt, challenge = oauth.attempt_create(
        membership=actor,
        cls=cls,
        base_url=account.base_url,
        account={"target": account.target, "handle": account.handle, "options": dict(account.options)},
        redirect_to=redirect_to,
        reconnect_id=reconnect.pk if reconnect is not None else None,
    )
    return oauth.authorize_url(cls, client, attempt, challenge)


class OAuthFailed(DomainError):
    """The callback failed; ``attempt`` (when known) says which workspace to send the person back to."""

    def __init__(self, error: DomainError, attempt: OAuthAttempt | None) -> None:
        super().__init__(error.message, fields=error.fields, code=error.code)
        self.status = error.status
        self.attempt = attempt


def channel_oauth_finish(*, user: User, state: str, code: str, error: str = "", ip: str | None = None) -> Connected:
    """The callback: check the attempt, exchange the code, verify, save."""
    attempt: OAuthAttempt | None = None
    try:
        attempt = oauth.oauth_attempt_claim(user=user, state=state)
        try:
            membership = access_workspace(user, attempt.workspace.slug, Perm.CHANNELS_MANAGE)
        except PermissionError:
            raise NotAllowed(_("Your role may not do this.")) from None
        if error or not code:
            raise DomainError(
                _("The network did not grant access (%(error)s).") % {"error": error or _("no code")},
                code="oauth_denied",
            )
        cls = connector_class(attempt.network)
        client = oauth.oauth_client(attempt.workspace, cls, attempt.base_url)
        if client is None:
            raise DomainError(_("The OAuth app for this network was removed meanwhile."), code="oauth_not_configured")
        try:
            credentials = cls.exchange_code(
                client, code=code, code_verifier=attempt.code_verifier, base_url=attempt.base_url
            )
        except ConnectorError as exc:
            raise user_error(exc) from exc
        saved = dict(attempt.account or {})
        account = Account(
            base_url=attempt.base_url,
            target=str(saved.get("target") or ""),
            handle=str(saved.get("handle") or ""),
            options={str(k): str(v) for k, v in (saved.get("options") or {}).items()},
        )
        profile = _verify(cls, account, credentials)
        reconnect = channel_get(attempt.workspace, attempt.reconnect_id) if attempt.reconnect_id else None
        return _save_connected(
            workspace=membership.workspace,
            user=user,
            cls=cls,
            account=account,
            credentials=credentials,
            profile=profile,
            reconnect=reconnect,
            ip=ip,
        )
    except DomainError as exc:
        raise OAuthFailed(exc, attempt) from exc


def channel_set_status(*, actor: Membership, channel_id: int, status: str, ip: str | None = None) -> Channel:
    """Pause, resume or disconnect. Disconnecting forgets the credentials; history stays."""
    _require(actor, Perm.CHANNELS_MANAGE)
    actions = {
        ChannelStatus.PAUSED: "channel.pause",
        ChannelStatus.ACTIVE: "channel.resume",
        ChannelStatus.DISCONNECTED: "channel.disconnect",
    }
    if status not in actions:
        raise DomainError(_("Unknown status."), fields={"status": "invalid"})
    with transaction.atomic():
        channel = Channel.objects.select_for_update().filter(workspace=actor.workspace, pk=channel_id).first()
        if channel is None:
            raise NotFound(_("No such channel in this workspace."))
        if status == ChannelStatus.ACTIVE and channel.status != ChannelStatus.PAUSED:
            raise DomainError(_("Only a paused channel can be resumed; reconnect it instead."), code="invalid")
        if status == ChannelStatus.PAUSED and channel.status != ChannelStatus.ACTIVE:
            raise DomainError(_("Only an active channel can be paused."), code="invalid")
        if channel.status == status:
            return channel
        channel.status, channel.status_changed_at, channel.status_reason = status, timezone.now(), ""
        if status == ChannelStatus.DISCONNECTED:
            channel.credentials = Credentials()
        channel.save()
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action=actions[ChannelStatus(status)],
            target=_target_label(channel),
            data={"channel": channel.pk},
            ip=ip,
        )
    return channel


def channel_check(channel: Channel) -> tuple[Profile, ProfileSnapshot]:
    """Verify the credentials and store the profile (raises the connector's typed errors)."""
    profile: Profile = call(channel, "verify")
    snapshot, _created = snapshot_record(channel, profile, at=timezone.now())
    return profile, snapshot


def channel_check_now(*, actor: Membership, channel_id: int) -> tuple[Channel, Profile, ProfileSnapshot]:
    """ "Check now" from the UI or API. Not in a transaction: a refused token must stay recorded."""
    _require(actor, Perm.CHANNELS_MANAGE)
    channel = channel_get(actor.workspace, channel_id)
    cls = connector_class(channel.network)
    try:
        profile, snapshot = channel_check(channel)
    except ConnectorError as exc:
        raise user_error(exc, secret_field=_secret_field(cls)) from exc
    return channel, profile, snapshot


def channel_test_post(
    *, actor: Membership, channel_id: int, text: str, idempotency_key: str = "", ip: str | None = None
) -> PublishResult:
    """Publish a short text post now, to prove the channel works end to end."""
    _require(actor, Perm.POSTS_PUBLISH)
    channel = channel_get(actor.workspace, channel_id)
    if not channel.usable:
        raise ChannelUnavailable(
            _("This channel is %(status)s; it cannot publish.") % {"status": channel.get_status_display()}
        )
    cls = connector_class(channel.network)
    if not cls.has(Capability.PUBLISH_TEXT):
        raise DomainError(_("%(network)s cannot publish text posts.") % {"network": cls.name}, code="not_supported")
    text = text.strip()
    if not text:
        raise DomainError(_("Write something to post."), fields={"text": "required"})
    request = PublishRequest(text=text, idempotency_key=idempotency_key or f"sokhan-test-{uuid.uuid4().hex}")
    try:
        cls(channel.account, channel.credentials).check_publish(request)
        result: PublishResult = call(channel, "publish", request)
    except ConnectorError as exc:
        raise user_error(exc) from exc
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="channel.test_post",
        target=_target_label(channel),
        data={"channel": channel.pk, "remote_id": result.remote_id, "url": result.url},
        ip=ip,
    )
    return result


def channel_profile_update(
    *,
    actor: Membership,
    channel_id: int,
    display_name: str | None,
    bio: str | None,
    url: str | None,
    ip: str | None = None,
) -> tuple[Profile, ProfileSnapshot]:
    _require(actor, Perm.CHANNELS_MANAGE)
    channel = channel_get(actor.workspace, channel_id)
    cls = connector_class(channel.network)
    if not cls.has(Capability.PROFILE_UPDATE):
        raise DomainError(_("%(network)s does not let Sokhan edit the profile.") % {"network": cls.name})
    update = ProfileUpdate(display_name=display_name or None, bio=bio, url=url)
    try:
        profile: Profile = call(channel, "update_profile", update)
    except ConnectorError as exc:
        raise user_error(exc) from exc
    snapshot, _created = snapshot_record(channel, profile, at=timezone.now())
    changed = {k: v for k, v in {"display_name": display_name, "bio": bio, "url": url}.items() if v is not None}
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="channel.profile_update",
        target=_target_label(channel),
        data={"channel": channel.pk, **changed},
        ip=ip,
    )
    if profile.display_name and profile.display_name != channel.display_name:
        Channel.objects.filter(pk=channel.pk).update(display_name=profile.display_name[:200])
    return profile, snapshot


def profile_standard(workspace: Workspace) -> ProfileStandard:
    found = ProfileStandard.objects.filter(workspace=workspace).first()
    return found or ProfileStandard(workspace=workspace)


def profile_standard_save(
    *, actor: Membership, brand_name: str, link: str, bio_keywords: list[str], ip: str | None = None
) -> ProfileStandard:
    _require(actor, Perm.CHANNELS_MANAGE)
    keywords = [k.strip() for k in bio_keywords if k.strip()][:50]
    with transaction.atomic():
        standard, _created = ProfileStandard.objects.select_for_update().get_or_create(workspace=actor.workspace)
        standard.brand_name, standard.link, standard.bio_keywords = brand_name.strip(), link.strip(), keywords
        standard.updated_at = timezone.now()
        standard.save()
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action="channel.profile_standard",
            target=standard.brand_name,
            data={"brand_name": standard.brand_name, "link": standard.link, "bio_keywords": keywords},
            ip=ip,
        )
    return standard


def oauth_app_save(
    *,
    actor: Membership,
    network: str,
    base_url: str,
    client_id: str,
    client_secret: str,
    ip: str | None = None,
) -> OAuthApp:
    """Store this workspace's OAuth app for a network (secret encrypted; empty keeps the old one)."""
    _require(actor, Perm.WORKSPACE_SETTINGS)
    cls = connector_class(network)
    if cls.oauth is None:
        raise DomainError(_("%(network)s does not use OAuth.") % {"network": cls.name}, fields={"network": "invalid"})
    base = clean_base_url(base_url) if base_url.strip() else ""
    client_id = client_id.strip()
    if not client_id:
        raise DomainError(_("Enter the client id."), fields={"client_id": "required"})
    with transaction.atomic():
        app = OAuthApp.objects.select_for_update().filter(workspace=actor.workspace, network=cls.key, base_url=base)
        row = app.first() or OAuthApp(workspace=actor.workspace, network=cls.key, base_url=base)
        row.client_id = client_id
        if client_secret.strip():
            row.client_secret = client_secret.strip()
        row.updated_by, row.updated_at = actor.user, timezone.now()
        row.save()
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action="channel.oauth_app",
            target=f"{cls.key} {base}".strip(),
            data={"network": cls.key, "base_url": base, "client_id": client_id},
            ip=ip,
        )
    return row


def oauth_app_delete(*, actor: Membership, app_id: int, ip: str | None = None) -> None:
    _require(actor, Perm.WORKSPACE_SETTINGS)
    with transaction.atomic():
        row = OAuthApp.objects.filter(workspace=actor.workspace, pk=app_id).first()
        if row is None:
            raise NotFound(_("No such OAuth app in this workspace."))
        row.delete()
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action="channel.oauth_app_delete",
            target=f"{row.network} {row.base_url}".strip(),
            data={"network": row.network, "base_url": row.base_url},
            ip=ip,
        )

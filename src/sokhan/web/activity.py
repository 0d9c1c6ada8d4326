"""How audit events read on screen: a translated label per action and readable details.

Actions without a label here show their code, so new domains' events are never hidden.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sokhan.core.models import AuditEvent
from sokhan.core.permissions import ROLE_LABELS, Role

_ROLE_VALUES = {role.value for role in ROLE_LABELS}

ACTION_LABELS: dict[str, str | Promise] = {
    "auth.login": _("Signed in"),
    "auth.password_change": _("Changed their password"),
    "auth.totp_enable": _("Turned on two-factor sign-in"),
    "auth.totp_disable": _("Turned off two-factor sign-in"),
    "workspace.create": _("Created the workspace"),
    "workspace.settings": _("Changed workspace settings"),
    "member.invite": _("Invited a member"),
    "member.invite_revoke": _("Revoked an invitation"),
    "member.join": _("Joined the workspace"),
    "member.role": _("Changed a member's role"),
    "member.remove": _("Removed a member"),
    "token.create": _("Created an API token"),
    "token.revoke": _("Revoked an API token"),
    "channel.connect": _("Connected a channel"),
    "channel.reconnect": _("Reconnected a channel"),
    "channel.disconnect": _("Disconnected a channel"),
    "channel.pause": _("Paused a channel"),
    "channel.resume": _("Resumed a channel"),
    "channel.needs_reconnect": _("A channel needs reconnecting"),
    "channel.refresh_failed": _("Refreshing a channel's credentials failed"),
    "channel.expiring": _("A channel's credentials will expire soon"),
    "channel.oauth_app": _("Saved a network app"),
    "channel.oauth_app_delete": _("Removed a network app"),
    "channel.profile_standard": _("Changed the profile standard"),
    "channel.profile_update": _("Updated a channel profile"),
    "channel.test_post": _("Published a test post"),
    "channel.slots": _("Changed a channel's posting times"),
    "media.upload": _("Uploaded media"),
    "media.alt_text": _("Changed media alt text"),
    "media.delete": _("Deleted media"),
    "post.create": _("Created a post"),
    "post.update": _("Edited a post"),
    "post.submit": _("Sent a post for review"),
    "post.approve": _("Approved a post"),
    "post.reject": _("Rejected a post"),
    "post.request_changes": _("Asked for changes to a post"),
    "post.comment": _("Commented on a post"),
    "post.schedule": _("Scheduled a post"),
    "post.reschedule": _("Moved a post to another time"),
    "post.unschedule": _("Unscheduled a post"),
    "post.resolve": _("Resolved a post's unknown outcome"),
    "publishing.pause": _("Paused all publishing"),
    "publishing.resume": _("Resumed publishing"),
    "approval.settings": _("Changed the approval workflow"),
    "approval.reset": _("A post's review started again after an edit"),
    "approval.link_create": _("Created a sign-off link"),
    "approval.link_revoke": _("Revoked a sign-off link"),
    "approval.external_approve": _("A client approved a post by link"),
    "approval.external_request_changes": _("A client asked for changes by link"),
    "brand_rules.update": _("Changed the brand rules"),
    "import.validate": _("Checked a CSV import"),
    "import.run": _("Imported posts from CSV"),
    "feed.create": _("Added a feed to watch"),
    "feed.update": _("Changed a watched feed"),
    "feed.pause": _("Paused a watched feed"),
    "feed.resume": _("Resumed a watched feed"),
    "feed.delete": _("Removed a watched feed"),
    "recurring.create": _("Created a recurring post"),
    "recurring.pause": _("Paused a recurring post"),
    "recurring.resume": _("Resumed a recurring post"),
    "recurring.delete": _("Deleted a recurring post"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def _value(value: Any) -> str:
    if isinstance(value, str):
        return str(ROLE_LABELS[Role(value)]) if value in _ROLE_VALUES else value
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False)


def _change(before: Any, after: Any) -> str:
    # Translated so RTL languages can point the arrow their way.
    return gettext("%(before)s → %(after)s") % {"before": _value(before), "after": _value(after)}


def details_lines(event: AuditEvent) -> list[tuple[str, str]]:
    """(key, value) pairs; settings changes (recorded as [before, after]) read "before → after"."""
    data = event.data
    if not data:
        return []
    if not isinstance(data, dict):
        return [("", _value(data))]
    if event.action == "workspace.settings":
        return [
            (key, _change(v[0], v[1]) if isinstance(v, list) and len(v) == 2 else _value(v)) for key, v in data.items()
        ]
    if set(data) == {"from", "to"}:
        return [("", _change(data["from"], data["to"]))]
    return [(key, _value(v)) for key, v in data.items()]


def details_text(data: Any) -> str:
    """Details as one line of JSON-ish text, for exports."""
    if not data:
        return ""
    if isinstance(data, dict):
        return "; ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in data.items())
    return json.dumps(data, ensure_ascii=False)

"""The one place that says which role may do what.

Views, API routes and templates ask ``role_can(role, Perm.X)``; nothing else compares role names.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    EDITOR = "editor"
    CONTRIBUTOR = "contributor"
    APPROVER = "approver"
    ANALYST = "analyst"
    VIEWER = "viewer"


ROLE_LABELS = {
    Role.OWNER: _("Owner"),
    Role.ADMIN: _("Admin"),
    Role.MANAGER: _("Manager"),
    Role.EDITOR: _("Editor"),
    Role.CONTRIBUTOR: _("Contributor"),
    Role.APPROVER: _("Approver"),
    Role.ANALYST: _("Analyst"),
    Role.VIEWER: _("Viewer"),
}

ROLE_HELP = {
    Role.OWNER: _("Everything, including deleting the workspace and transferring ownership."),
    Role.ADMIN: _("Everything except ownership: members, settings, channels, content."),
    Role.MANAGER: _("Runs the content plan: channels, publishing, approvals, inbox, analytics."),
    Role.EDITOR: _("Writes, schedules and publishes content and answers the inbox."),
    Role.CONTRIBUTOR: _("Writes drafts that others approve and publish."),
    Role.APPROVER: _("Reviews and signs off content (for example a client)."),
    Role.ANALYST: _("Reads analytics and reports."),
    Role.VIEWER: _("Reads the calendar and content, changes nothing."),
}


class Perm(StrEnum):
    WORKSPACE_VIEW = "workspace.view"
    WORKSPACE_SETTINGS = "workspace.settings"
    WORKSPACE_DELETE = "workspace.delete"
    MEMBERS_VIEW = "members.view"
    MEMBERS_MANAGE = "members.manage"
    AUDIT_VIEW = "audit.view"
    CHANNELS_VIEW = "channels.view"
    CHANNELS_MANAGE = "channels.manage"
    POSTS_VIEW = "posts.view"
    POSTS_DRAFT = "posts.draft"
    POSTS_EDIT = "posts.edit"
    POSTS_PUBLISH = "posts.publish"
    POSTS_APPROVE = "posts.approve"
    INBOX_VIEW = "inbox.view"
    INBOX_REPLY = "inbox.reply"
    LISTENING_VIEW = "listening.view"
    LISTENING_MANAGE = "listening.manage"
    ANALYTICS_VIEW = "analytics.view"
    REPORTS_MANAGE = "reports.manage"
    TOKENS_USE = "tokens.use"


_ALL = frozenset(Perm)
_ADMIN = _ALL - {Perm.WORKSPACE_DELETE}
_MANAGER = frozenset(
    {
        Perm.WORKSPACE_VIEW,
        Perm.MEMBERS_VIEW,
        Perm.AUDIT_VIEW,
        Perm.CHANNELS_VIEW,
        Perm.CHANNELS_MANAGE,
        Perm.POSTS_VIEW,
        Perm.POSTS_DRAFT,
        Perm.POSTS_EDIT,
        Perm.POSTS_PUBLISH,
        Perm.POSTS_APPROVE,
        Perm.INBOX_VIEW,
        Perm.INBOX_REPLY,
        Perm.LISTENING_VIEW,
        Perm.LISTENING_MANAGE,
        Perm.ANALYTICS_VIEW,
        Perm.REPORTS_MANAGE,
        Perm.TOKENS_USE,
    }
)
_EDITOR = frozenset(
    {
        Perm.WORKSPACE_VIEW,
        Perm.CHANNELS_VIEW,
        Perm.POSTS_VIEW,
        Perm.POSTS_DRAFT,
        Perm.POSTS_EDIT,
        Perm.POSTS_PUBLISH,
        Perm.INBOX_VIEW,
        Perm.INBOX_REPLY,
        Perm.LISTENING_VIEW,
        Perm.ANALYTICS_VIEW,
        Perm.TOKENS_USE,
    }
)
_CONTRIBUTOR = frozenset({Perm.WORKSPACE_VIEW, Perm.CHANNELS_VIEW, Perm.POSTS_VIEW, Perm.POSTS_DRAFT})
_APPROVER = frozenset({Perm.WORKSPACE_VIEW, Perm.POSTS_VIEW, Perm.POSTS_APPROVE})
_ANALYST = frozenset(
    {Perm.WORKSPACE_VIEW, Perm.CHANNELS_VIEW, Perm.ANALYTICS_VIEW, Perm.LISTENING_VIEW, Perm.TOKENS_USE}
)
_VIEWER = frozenset({Perm.WORKSPACE_VIEW, Perm.CHANNELS_VIEW, Perm.POSTS_VIEW})

MATRIX: dict[Role, frozenset[Perm]] = {
    Role.OWNER: _ALL,
    Role.ADMIN: _ADMIN,
    Role.MANAGER: _MANAGER,
    Role.EDITOR: _EDITOR,
    Role.CONTRIBUTOR: _CONTRIBUTOR,
    Role.APPROVER: _APPROVER,
    Role.ANALYST: _ANALYST,
    Role.VIEWER: _VIEWER,
}

# Roles a member with MEMBERS_MANAGE may hand out; only an owner makes another owner.
ASSIGNABLE_BY: dict[Role, list[Role]] = {
    Role.OWNER: list(Role),
    Role.ADMIN: [r for r in Role if r != Role.OWNER],
}


def role_can(role: str | Role | None, perm: Perm) -> bool:
    if role is None:
        return False
    try:
        return perm in MATRIX[Role(role)]
    except ValueError:
        return False


def assignable_roles(role: str | Role) -> list[Role]:
    return list(ASSIGNABLE_BY.get(Role(role), []))

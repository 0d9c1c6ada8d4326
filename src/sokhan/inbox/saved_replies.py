"""Saved replies: reusable answers with variables, kept per workspace (audited), and filling them in.

Variables are written in braces: ``{author_name}``, ``{author_handle}``, ``{brand_name}``,
``{agent_name}``, ``{channel_name}``. A variable Sokhan does not know is left as written, so a typo
shows in the text instead of vanishing; ``saved_reply_check`` lists such names for the editor's
warning. See docs/inbox-rules.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.core.errors import DomainError, NotAllowed, NotFound
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.inbox.models import Conversation, InboxSettings, Message, SavedReply

VARIABLES = ("author_name", "author_handle", "brand_name", "agent_name", "channel_name")
TITLE_MAX = 120
TEXT_MAX = 10_000
LANGUAGE_MAX = 16

# ``\w`` is Unicode-aware, so a Persian name in braces («{نام}») is found too, and reported unknown.
_VARIABLE = re.compile(r"\{(\w+)\}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")


def unknown_variables(text: str, known: Iterable[str]) -> list[str]:
    """The ``{names}`` in ``text`` that are not in ``known``, each once, in order of appearance."""
    allowed = set(known)
    unknown: list[str] = []
    for name in _VARIABLE.findall(text):
        if name not in allowed and name not in unknown:
            unknown.append(name)
    return unknown


def fill_variables(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``{name}`` in ``values`` filled in; other ``{names}`` stay as written.
    Shared with other prepared texts (listening's holding statements)."""

    def fill(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return _VARIABLE.sub(fill, text)


def saved_reply_check(text: str) -> list[str]:
    """The unknown variable names in ``text``, each once, in order of appearance."""
    return unknown_variables(text, VARIABLES)


def brand_name_of(workspace: Workspace) -> str:
    """The name replies sign with: the inbox settings' brand name, else the workspace's name."""
    brand = InboxSettings.objects.filter(workspace=workspace).values_list("brand_name", flat=True).first()
    return (brand or "").strip() or workspace.name


def reply_variables(
    conversation: Conversation, agent: User | None, *, message: Message | None = None
) -> dict[str, str]:
    """The values of the variables for a reply in ``conversation``. The author is ``message``'s
    when given (an automatic reply answers one message), else the conversation's contact. Without
    an agent (a rule's automatic reply) ``{agent_name}`` is the brand's name."""
    brand = brand_name_of(conversation.workspace)
    if message is not None and (message.author_name or message.author_handle):
        name, handle = message.author_name, message.author_handle
    else:
        name, handle = conversation.contact_name, conversation.contact_handle
    agent_name = ((agent.full_name or "").strip() or agent.email) if agent is not None else brand
    return {
        "author_name": (name or handle or "").strip(),
        "author_handle": (handle or "").strip(),
        "brand_name": brand,
        "agent_name": agent_name,
        "channel_name": conversation.channel.display_name,
    }


def render_saved_reply(
    text: str, conversation: Conversation, agent: User | None, *, message: Message | None = None
) -> str:
    """``text`` with the known variables filled in; unknown ``{names}`` stay visible as written."""
    return fill_variables(text, reply_variables(conversation, agent, message=message))


def saved_replies_for(workspace: Workspace, language: str = "") -> list[SavedReply]:
    """The workspace's saved replies by title; with ``language``, those in it first, then the ones
    without a language (replies in other languages are left out)."""
    replies = SavedReply.objects.filter(workspace=workspace).order_by("title", "id")
    if not language:
        return list(replies)
    language = language.lower()
    primary = language.split("-")[0]
    matching = [r for r in replies if r.language and r.language.split("-")[0] == primary]
    neutral = [r for r in replies if not r.language]
    return matching + neutral


def saved_reply_get(workspace: Workspace, reply_id: int) -> SavedReply:
    reply = SavedReply.objects.filter(workspace=workspace, pk=reply_id).first()
    if reply is None:
        raise NotFound(_("Saved reply not found."))
    return reply


# ------------------------------------------------------------------ changes


def _require(membership: Membership) -> None:
    if not role_can(membership.role, Perm.INBOX_REPLY):
        raise NotAllowed(_("Your role may not change saved replies."))


def saved_reply_clean(data: Mapping[str, Any]) -> dict[str, str]:
    """``title``, ``text`` and ``language`` checked; a ``DomainError`` names every wrong field.
    Unknown variables are not an error here (the editor warns about them)."""
    fields: dict[str, str] = {}
    title = data.get("title", "")
    text = data.get("text", "")
    language = data.get("language", "") or ""
    if not isinstance(title, str) or not title.strip():
        fields["title"] = _("Give the saved reply a title.")
    elif len(title.strip()) > TITLE_MAX:
        fields["title"] = _("The title is at most %(n)s characters.") % {"n": TITLE_MAX}
    if not isinstance(text, str) or not text.strip():
        fields["text"] = _("The saved reply has no text.")
    elif len(text.strip()) > TEXT_MAX:
        fields["text"] = _("The text is at most %(n)s characters.") % {"n": TEXT_MAX}
    if not isinstance(language, str) or (language.strip() and not _LANGUAGE.fullmatch(language.strip().lower())):
        fields["language"] = _("Write the language as a code such as fa or en, or leave it empty.")
    if fields:
        raise DomainError(next(iter(fields.values())), fields=fields)
    return {"title": str(title).strip(), "text": str(text).strip(), "language": str(language).strip().lower()}


def _snapshot(reply: SavedReply) -> dict[str, str]:
    return {"title": reply.title, "text": reply.text, "language": reply.language}


@transaction.atomic
def saved_reply_create(membership: Membership, data: Mapping[str, Any], ip: str | None = None) -> SavedReply:
    _require(membership)
    clean = saved_reply_clean(data)
    reply = SavedReply.objects.create(
        workspace=membership.workspace, created_by=membership.user, updated_at=timezone.now(), **clean
    )
    audit_record(
        workspace=membership.workspace,
        actor=membership.user,
        action="inbox.saved_reply.create",
        target=f"saved_reply:{reply.pk}",
        data=clean,
        ip=ip,
    )
    return reply


@transaction.atomic
def saved_reply_update(
    membership: Membership, reply_id: int, data: Mapping[str, Any], ip: str | None = None
) -> SavedReply:
    """Change a saved reply; fields left out of ``data`` keep their value."""
    _require(membership)
    reply = saved_reply_get(membership.workspace, reply_id)
    before = _snapshot(reply)
    clean = saved_reply_clean({**before, **data})
    if clean == before:
        return reply
    for name, value in clean.items():
        setattr(reply, name, value)
    reply.updated_at = timezone.now()
    reply.save()
    audit_record(
        workspace=membership.workspace,
        actor=membership.user,
        action="inbox.saved_reply.update",
        target=f"saved_reply:{reply.pk}",
        data={"from": before, "to": clean},
        ip=ip,
    )
    return reply


@transaction.atomic
def saved_reply_delete(membership: Membership, reply_id: int, ip: str | None = None) -> None:
    _require(membership)
    reply = saved_reply_get(membership.workspace, reply_id)
    audit_record(
        workspace=membership.workspace,
        actor=membership.user,
        action="inbox.saved_reply.delete",
        target=f"saved_reply:{reply.pk}",
        data=_snapshot(reply),
        ip=ip,
    )
    reply.delete()

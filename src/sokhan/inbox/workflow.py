"""Working a conversation: assign, status (open, pending, snoozed, closed), priority, tags, notes,
and who is looking at it. Each change is audited; the ones a teammate must notice bump the
conversation's ``version`` (the collision guard of replies compares it).

``actor`` is the member doing it, or ``None`` for the system (rules); the caller has checked the
member's permission (views and the API do, through ``inbox_access``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sokhan.core.errors import DomainError
from sokhan.core.models import Membership, User
from sokhan.core.services import audit_record
from sokhan.inbox.models import Activity, Conversation, Note, Presence, Priority, Status, Tag, Team

PRESENCE_FRESH = timedelta(seconds=45)  # the page refreshes presence every 15 s
TAG_MAX = 60
_MENTION = re.compile(r"@([\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+|[\w.\-]+)")


def _touch(conversation: Conversation, *, now: datetime, fields: list[str]) -> None:
    conversation.version = F("version") + 1
    conversation.updated_at = now
    conversation.save(update_fields=[*fields, "version", "updated_at"])
    conversation.refresh_from_db(fields=["version"])


def _audit(conversation: Conversation, actor: User | None, action: str, **data: Any) -> None:
    audit_record(
        workspace=conversation.workspace,
        actor=actor,
        action=action,
        target=f"conversation:{conversation.pk}",
        data=data,
    )


def conversation_assign(
    conversation: Conversation, *, actor: User | None, user: User | None = None, team: Team | None = None
) -> None:
    """Give the conversation to a member and/or a team (``None`` for both: unassign)."""
    if user is not None and not Membership.objects.filter(workspace_id=conversation.workspace_id, user=user).exists():
        raise DomainError(_("Only a member of this workspace can be assigned."), fields={"assignee": "not_member"})
    if team is not None and team.workspace_id != conversation.workspace_id:
        raise DomainError(_("That team is not in this workspace."), fields={"team": "unknown"})
    now = timezone.now()
    with transaction.atomic():
        conversation.assignee, conversation.team = user, team
        _touch(conversation, now=now, fields=["assignee", "team"])
        _audit(
            conversation,
            actor,
            "inbox.assign",
            assignee=user.email if user else None,
            team=team.name if team else None,
        )
    if user is not None and user != actor:
        from sokhan.notifications.services import notify

        notify(
            [user],
            workspace=conversation.workspace,
            kind="inbox.assigned",
            title=gettext_lazy("A conversation was assigned to you"),
            body=conversation.preview,
            url=conversation_url(conversation),
            exclude=[actor],
        )


def conversation_set_status(
    conversation: Conversation, status: str, *, actor: User | None, until: datetime | None = None
) -> None:
    """Open, pending, snoozed (``until`` a time in the future) or closed."""
    if status not in Status.values:
        raise DomainError(_("Unknown status %(status)s.") % {"status": status}, fields={"status": "unknown"})
    now = timezone.now()
    if status == Status.SNOOZED:
        if until is None or until <= now:
            raise DomainError(_("Snooze until a time in the future."), fields={"until": "not_future"})
    else:
        until = None
    with transaction.atomic():
        conversation.status, conversation.snoozed_until = status, until
        conversation.closed_at = now if status == Status.CLOSED else None
        _touch(conversation, now=now, fields=["status", "snoozed_until", "closed_at"])
        _audit(conversation, actor, "inbox.status", status=status, until=until.isoformat() if until else None)


def conversation_set_priority(conversation: Conversation, priority: str, *, actor: User | None) -> None:
    if priority not in Priority.values:
        raise DomainError(_("Unknown priority %(value)s.") % {"value": priority}, fields={"priority": "unknown"})
    with transaction.atomic():
        conversation.priority = priority
        _touch(conversation, now=timezone.now(), fields=["priority"])
        _audit(conversation, actor, "inbox.priority", priority=priority)


def tag_get(workspace_id: int, name: str) -> Tag:
    clean = " ".join(name.split()).lstrip("#")
    if not clean:
        raise DomainError(_("A tag needs a name."), fields={"tag": "empty"})
    if len(clean) > TAG_MAX:
        raise DomainError(_("A tag is at most %(n)s characters.") % {"n": TAG_MAX}, fields={"tag": "too_long"})
    tag = Tag.objects.filter(workspace_id=workspace_id, name__iexact=clean).first()
    return tag or Tag.objects.create(workspace_id=workspace_id, name=clean)


def conversation_tag(conversation: Conversation, name: str, *, actor: User | None, remove: bool = False) -> Tag:
    with transaction.atomic():
        tag = tag_get(conversation.workspace_id, name)
        if remove:
            conversation.tags.remove(tag)
        else:
            conversation.tags.add(tag)
        _touch(conversation, now=timezone.now(), fields=[])
        _audit(conversation, actor, "inbox.untag" if remove else "inbox.tag", tag=tag.name)
    return tag


def note_add(conversation: Conversation, text: str, *, author: User) -> Note:
    """An internal note; ``@name`` or ``@email`` of members notifies them."""
    text = text.strip()
    if not text:
        raise DomainError(_("The note is empty."), fields={"text": "empty"})
    members = list(User.objects.filter(memberships__workspace_id=conversation.workspace_id, is_active=True).distinct())
    mentioned = _mentioned(text, members)
    with transaction.atomic():
        note = Note.objects.create(
            workspace_id=conversation.workspace_id, conversation=conversation, author=author, text=text
        )
        note.mentions.set(mentioned)
        _touch(conversation, now=timezone.now(), fields=[])
        _audit(conversation, author, "inbox.note", mentions=[u.email for u in mentioned])
    if mentioned:
        from sokhan.notifications.services import notify

        notify(
            mentioned,
            workspace=conversation.workspace,
            kind="inbox.mentioned",
            title=gettext_lazy("You were mentioned in an inbox note"),
            body=text[:500],
            url=conversation_url(conversation),
            exclude=[author],
        )
    return note


def _mentioned(text: str, members: list[User]) -> list[User]:
    found: dict[int, User] = {}
    for token in _MENTION.findall(text):
        needle = token.casefold()
        for user in members:
            names = {user.email.casefold(), user.email.split("@")[0].casefold()}
            full = (user.full_name or "").replace(" ", "").casefold()
            if full:
                names.add(full)
            if needle in names:
                found[user.pk] = user
    return list(found.values())


def presence_touch(conversation: Conversation, user: User, activity: str = Activity.VIEWING) -> None:
    if activity not in Activity.values:
        activity = Activity.VIEWING
    Presence.objects.update_or_create(
        conversation=conversation,
        user=user,
        defaults={"workspace_id": conversation.workspace_id, "activity": activity, "seen_at": timezone.now()},
    )


def presence_leave(conversation: Conversation, user: User) -> None:
    Presence.objects.filter(conversation=conversation, user=user).delete()


def presence_others(conversation: Conversation, user: User) -> list[dict[str, str]]:
    """Who else has the conversation open now, and whether they are typing a reply."""
    since = timezone.now() - PRESENCE_FRESH
    rows = (
        Presence.objects.filter(conversation=conversation, seen_at__gte=since)
        .exclude(user=user)
        .select_related("user")
        .order_by("user__email")
    )
    return [{"user": display_name(p.user), "activity": p.activity} for p in rows]


def display_name(user: User | None) -> str:
    if user is None:
        return ""
    return (user.full_name or "").strip() or user.email


def conversation_url(conversation: Conversation) -> str:
    from django.urls import reverse

    return reverse("inbox:conversation", args=[conversation.workspace.slug, conversation.pk])


def wake_snoozed(now: datetime | None = None) -> int:
    """Snoozed conversations whose time has come are open again."""
    now = now or timezone.now()
    return Conversation.objects.filter(status=Status.SNOOZED, snoozed_until__lte=now).update(
        status=Status.OPEN, snoozed_until=None, version=F("version") + 1, updated_at=now
    )

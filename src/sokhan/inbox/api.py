"""The unified inbox over the API: the conversation list (the page's filters, keyset paging), one
conversation with its messages, replies with the collision guard, the workflow (assign, status,
priority, tags, notes), message actions, presence, saved views and a change feed. See docs/inbox.md.

Reads need ``inbox.view``, changes ``inbox.reply``. Every id is looked up inside the workspace of
the URL, so another workspace's conversation or message is a 404.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.responses import NinjaJSONEncoder

from sokhan.api.auth import Scope, access, access_of, client_ip
from sokhan.api.schemas import ERRORS
from sokhan.core.errors import DomainError, NotFound
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Perm
from sokhan.core.services import audit_record
from sokhan.inbox import workflow
from sokhan.inbox.models import Activity, Conversation, Message, Note, RuleHit, SavedView, Team
from sokhan.inbox.private_messages import private_message_send
from sokhan.inbox.queries import (
    LIST_FIELDS,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    conversations_for,
    keyset,
    next_cursor,
    page_size,
    parse_filters,
)
from sokhan.inbox.replies import MAX_REPLY_CHARS, message_action, reply_retry, reply_send
from sokhan.inbox.reply_media import MAX_ATTACHMENTS

router = Router(tags=["inbox"])

BASE = "/workspaces/{ws}/inbox"
MESSAGE_LIMIT = 500  # newest messages shown with a conversation; ``message_count`` says if there are more
UPDATES_LIMIT = 500
# A change committed by a transaction that started before a poll can carry an older ``updated_at``
# than the poll's clock: the next poll looks this far back again (so items may repeat).
UPDATES_OVERLAP = timedelta(seconds=5)
# What the list reads: the conversation's list columns and the names shown beside them, in one
# query (not the channel's credentials and options, nor the assignee's other columns).
LIST_ONLY = (
    *LIST_FIELDS,
    "channel__network",
    "channel__display_name",
    "assignee__email",
    "team__name",
)
DETAIL_ONLY = (
    *LIST_ONLY,
    "workspace_id",
    "thread_key",
    "subject_remote_id",
    "subject_url",
    "contact_remote_id",
    "contact_followers",
    "created_at",
    "updated_at",
    "closed_at",
    "origin_message",
)
_ALLOWED = "Comma-separated or repeated."


# ----------------------------------------------------------------------------- schemas


class FiltersQuery(Schema):
    """The inbox filters, as on the page and in saved views."""

    channels: list[str] | None = Field(None, description=f"Channel ids. {_ALLOWED} (also `channel`).")
    kinds: list[str] | None = Field(None, description=f"`comment`, `mention`, `dm`. {_ALLOWED} (also `kind`).")
    statuses: list[str] | None = Field(
        None, description=f"`open`, `pending`, `snoozed`, `closed`. {_ALLOWED} (also `status`)."
    )
    assignee: str | None = Field(None, description="`me`, `none` or a member's user id.")
    team: int | None = Field(None, description="A team id.")
    tags: list[str] | None = Field(None, description=f"Tag names; all must be on the conversation. {_ALLOWED}")
    sentiments: list[str] | None = Field(None, description=f"`positive`, `neutral`, `negative`. {_ALLOWED}")
    priorities: list[str] | None = Field(None, description=f"`low`, `normal`, `high`, `urgent`. {_ALLOWED}")
    languages: list[str] | None = Field(None, description=f"Language codes (fa, en…). {_ALLOWED}")
    since: str | None = Field(None, description="Last activity on or after this date (YYYY-MM-DD).")
    until: str | None = Field(None, description="Last activity on or before this date (YYYY-MM-DD).")
    awaiting: bool | None = Field(None, description="Only conversations waiting for a reply.")
    text: str | None = Field(None, description="Words in the preview or the contact's name or handle (also `q`).")


class PageQuery(Schema):
    before: str = Field("", description="The `next` of the previous page.")
    size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"Rows per page, 1–{MAX_PAGE_SIZE}.")


class UpdatesQuery(Schema):
    since: str = Field(description="ISO 8601 time with zone (UTC if none), or the `next` of the last poll.")
    size: int = Field(200, ge=1, le=UPDATES_LIMIT, description=f"Most conversations returned, 1–{UPDATES_LIMIT}.")


class ChannelRef(Schema):
    id: int
    network: str
    name: str


class ConversationItem(Schema):
    id: int
    channel: ChannelRef
    kind: str
    status: str
    priority: str
    assignee_id: int | None
    assignee: str | None = Field(description="The assigned member's email.")
    team_id: int | None
    team: str | None = Field(description="The assigned team's name.")
    tags: list[str]
    language: str
    sentiment: str
    contact_handle: str
    contact_name: str
    preview: str
    message_count: int
    last_message_at: datetime | None
    awaiting_since: datetime | None = Field(description="The oldest received message not answered yet.")
    snoozed_until: datetime | None
    version: int = Field(description="Send it back with a reply: a newer one means the conversation changed.")
    subject_text: str


class ConversationPage(Schema):
    results: list[ConversationItem]
    next: str | None = Field(description="Pass as `before` for the next page; null on the last page.")


class AttachmentOut(Schema):
    asset_id: int | None = Field(description="The media library file (`/workspaces/{ws}/media/{id}`).")
    name: str
    mime_type: str
    alt_text: str


class MessageOut(Schema):
    id: int
    direction: str = Field(description="`in` (received) or `out` (sent).")
    kind: str
    text: str
    remote_id: str
    url: str
    in_reply_to: str
    author_handle: str
    author_name: str
    created_at: datetime
    language: str
    sentiment: str
    sentiment_score: float | None
    needs_response: bool
    answered_at: datetime | None
    hidden: bool
    deleted: bool
    liked: bool
    sent_by: str | None
    send_state: str = Field(description="Sent messages: `sending`, `sent`, `failed` (may be retried) or `unknown`.")
    send_error: str
    automatic: bool
    attachments: list[AttachmentOut] = Field(description="Sent messages: the files sent with it.")


class NoteOut(Schema):
    id: int
    author: str | None
    text: str
    mentions: list[str]
    created_at: datetime


class RuleHitOut(Schema):
    id: int
    rule_id: int | None
    rule: str
    message_id: int
    actions: list[dict[str, Any]]
    created_at: datetime


class PresenceOut(Schema):
    user: str
    activity: str


class ConversationOut(ConversationItem):
    thread_key: str
    subject_remote_id: str
    subject_url: str
    contact_remote_id: str
    contact_followers: int | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    origin_message_id: int | None = Field(
        description="A direct-message conversation opened from a comment or mention: the message it started from."
    )
    origin_conversation_id: int | None = Field(description="The conversation of `origin_message_id`.")
    messages: list[MessageOut] = Field(description=f"Oldest first; the newest {MESSAGE_LIMIT} at most.")
    notes: list[NoteOut]
    rule_hits: list[RuleHitOut]
    others: list[PresenceOut] = Field(description="Other members who have it open now, and whether they type.")


class ReplyIn(Schema):
    text: str = Field(max_length=MAX_REPLY_CHARS)
    version: int | None = Field(
        None, description="The conversation's `version` your view showed; if it changed since, 409 `stale_view`."
    )
    seen_at: datetime | None = Field(
        None, description="When your view was loaded; a 409 then names what arrived or who replied since."
    )
    confirm: bool = Field(False, description="Send even though the conversation changed.")
    to: int | None = Field(None, description="The message id to answer; the latest received one by default.")
    media: list[int] = Field(
        default_factory=list,
        max_length=MAX_ATTACHMENTS,
        description="Media library ids to send with it, where the network takes media in a reply (see the "
        "channel's `reply_media` capability and limits); the text may then be empty.",
    )


class ReplyOut(Schema):
    message: MessageOut
    version: int = Field(description="The conversation's version after the reply.")


class PrivateIn(Schema):
    text: str = Field(max_length=MAX_REPLY_CHARS)
    media: list[int] = Field(
        default_factory=list, max_length=MAX_ATTACHMENTS, description="Media library ids to send with it."
    )


class PrivateOut(Schema):
    message: MessageOut
    conversation_id: int = Field(description="The direct-message conversation it went into.")
    version: int = Field(description="That conversation's version after the message.")


class AssignIn(Schema):
    user_id: int | None = Field(None, description="A member's user id; null to unassign.")
    team_id: int | None = Field(None, description="A team id; null for no team.")


class StatusIn(Schema):
    status: str = Field(description="`open`, `pending`, `snoozed` or `closed`.")
    until: datetime | None = Field(None, description="With `snoozed`: when it opens again (ISO 8601 with zone).")


class PriorityIn(Schema):
    priority: str = Field(description="`low`, `normal`, `high` or `urgent`.")


class TagIn(Schema):
    tag: str = Field(max_length=200)


class NoteIn(Schema):
    text: str = Field(max_length=20_000, description="`@name` or `@email` of members notifies them.")


class ActionIn(Schema):
    action: Literal["like", "hide", "delete"]


class PresenceIn(Schema):
    activity: Literal["viewing", "replying"] = "viewing"
    leave: bool = Field(False, description="The conversation was closed: forget this member's presence.")


class PresenceList(Schema):
    others: list[PresenceOut]


class ViewIn(Schema):
    name: str = Field(max_length=100)
    filters: dict[str, Any] = Field(default_factory=dict, description="The list's filters, as query parameters.")
    shared: bool = Field(False, description="Shared with the workspace; otherwise only yours.")


class ViewPatch(Schema):
    name: str | None = Field(None, max_length=100)
    filters: dict[str, Any] | None = None
    shared: bool | None = None


class ViewOut(Schema):
    id: int
    name: str
    filters: dict[str, Any]
    shared: bool
    owner: str | None
    created_at: datetime


class UpdatesOut(Schema):
    results: list[ConversationItem] = Field(description="Oldest change first.")
    more: bool = Field(description="More changes than returned: ask again with `next` at once.")
    next: str = Field(description="Pass as `since` in the next poll. Items may repeat; compare `version`.")


# ----------------------------------------------------------------------------- shapes


def list_rows(rows: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """``rows`` reading only what a list item shows, with the names beside it, in one query."""
    return rows.select_related("channel", "assignee", "team").only(*LIST_ONLY)


def list_values(rows: QuerySet[Conversation], *extra: str) -> QuerySet[Conversation, dict[str, Any]]:
    """``rows`` as the list reads them (``LIST_ONLY`` keys), without building models: a page of 50
    as model instances with their channel, assignee and team costs more CPU than its query."""
    found: QuerySet[Conversation, dict[str, Any]] = rows.values(*LIST_ONLY, *extra)
    return found


def row_of(c: Conversation) -> dict[str, Any]:
    """A loaded conversation in ``list_values``'s shape."""
    return {
        **{name: getattr(c, name) for name in LIST_FIELDS},
        "channel__network": c.channel.network,
        "channel__display_name": c.channel.display_name,
        "assignee__email": c.assignee.email if c.assignee_id and c.assignee else None,
        "team__name": c.team.name if c.team_id and c.team else None,
    }


def tags_of(ids: list[int]) -> dict[int, list[str]]:
    """The tag names of these conversations, in one query. (Django's ``prefetch_related`` builds a
    manager and a model per row: about 3.5 ms for a page of 50, more than the page's own query.)"""
    found: dict[int, list[str]] = {pk: [] for pk in ids}
    if ids:
        links = Conversation.tags.through.objects.filter(conversation_id__in=ids)
        for conversation_id, name in links.order_by("tag__name").values_list("conversation_id", "tag__name"):
            found[conversation_id].append(name)
    return found


def items_out(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tags = tags_of([row["id"] for row in rows])
    return [item_out(row, tags[row["id"]]) for row in rows]


def item_out(row: dict[str, Any], tags: list[str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "channel": {"id": row["channel_id"], "network": row["channel__network"], "name": row["channel__display_name"]},
        "kind": row["kind"],
        "status": row["status"],
        "priority": row["priority"],
        "assignee_id": row["assignee_id"],
        "assignee": row["assignee__email"],
        "team_id": row["team_id"],
        "team": row["team__name"],
        "tags": tags,
        "language": row["language"],
        "sentiment": row["sentiment"],
        "contact_handle": row["contact_handle"],
        "contact_name": row["contact_name"],
        "preview": row["preview"],
        "message_count": row["message_count"],
        "last_message_at": row["last_message_at"],
        "awaiting_since": row["awaiting_since"],
        "snoozed_until": row["snoozed_until"],
        "version": row["version"],
        "subject_text": row["subject_text"],
    }


def message_out(m: Message) -> dict[str, Any]:
    return {
        "id": m.pk,
        "direction": m.direction,
        "kind": m.kind,
        "text": m.text,
        "remote_id": m.remote_id,
        "url": m.url,
        "in_reply_to": m.in_reply_to,
        "author_handle": m.author_handle,
        "author_name": m.author_name,
        "created_at": m.created_at,
        "language": m.language,
        "sentiment": m.sentiment,
        "sentiment_score": m.sentiment_score,
        "needs_response": m.needs_response,
        "answered_at": m.answered_at,
        "hidden": m.hidden,
        "deleted": m.deleted,
        "liked": m.liked,
        "sent_by": m.sent_by.email if m.sent_by_id and m.sent_by else None,
        "send_state": m.send_state,
        "send_error": m.send_error,
        "automatic": m.automatic,
        "attachments": [
            {
                "asset_id": a.get("asset_id"),
                "name": str(a.get("name", "")),
                "mime_type": str(a.get("mime_type", "")),
                "alt_text": str(a.get("alt_text", "")),
            }
            for a in m.attachments or []
            if isinstance(a, dict)
        ],
    }


def conversation_out(c: Conversation, user: User) -> dict[str, Any]:
    newest = list(c.messages.select_related("sent_by").order_by("-created_at", "-id")[:MESSAGE_LIMIT])
    messages = newest[::-1]
    notes = c.notes.select_related("author").prefetch_related(Prefetch("mentions", queryset=User.objects.only("email")))
    hits = RuleHit.objects.filter(message_id__in=[m.pk for m in messages]).order_by("created_at", "id")
    return {
        **item_out(row_of(c), tags_of([c.pk])[c.pk]),
        "thread_key": c.thread_key,
        "subject_remote_id": c.subject_remote_id,
        "subject_url": c.subject_url,
        "contact_remote_id": c.contact_remote_id,
        "contact_followers": c.contact_followers,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "closed_at": c.closed_at,
        "origin_message_id": c.origin_message_id,
        "origin_conversation_id": (
            Message.objects.filter(pk=c.origin_message_id).values_list("conversation_id", flat=True).first()
            if c.origin_message_id
            else None
        ),
        "messages": [message_out(m) for m in messages],
        "notes": [note_out(n) for n in notes],
        "rule_hits": [
            {
                "id": h.pk,
                "rule_id": h.rule_id,
                "rule": h.rule_name,
                "message_id": h.message_id,
                "actions": [a for a in h.actions or [] if isinstance(a, dict)],
                "created_at": h.created_at,
            }
            for h in hits
        ],
        "others": workflow.presence_others(c, user),
    }


def note_out(n: Note) -> dict[str, Any]:
    return {
        "id": n.pk,
        "author": n.author.email if n.author_id and n.author else None,
        "text": n.text,
        "mentions": sorted(u.email for u in n.mentions.all()),
        "created_at": n.created_at,
    }


def view_out(v: SavedView) -> dict[str, Any]:
    return {
        "id": v.pk,
        "name": v.name,
        "filters": v.filters or {},
        "shared": v.owner_id is None,
        "owner": v.owner.email if v.owner_id and v.owner else None,
        "created_at": v.created_at,
    }


# ----------------------------------------------------------------------------- lookups


def _membership(request: HttpRequest) -> Membership:
    return access_of(request).workspace_membership


def _conversation(workspace: Workspace, conversation_id: int) -> Conversation:
    found = (
        Conversation.objects.select_related("workspace", "channel", "assignee", "team")
        .filter(workspace=workspace, pk=conversation_id)
        .first()
    )
    if found is None:
        raise NotFound(_("No such conversation."))
    return found


def _message(workspace: Workspace, message_id: int, *, conversation: Conversation | None = None) -> Message:
    rows = Message.objects.select_related("channel", "conversation__workspace", "conversation__channel")
    rows = rows.filter(workspace=workspace, pk=message_id)
    if conversation is not None:
        rows = rows.filter(conversation=conversation)
    found = rows.first()
    if found is None:
        raise NotFound(_("No such message."))
    return found


def _item(conversation_id: int) -> dict[str, Any]:
    return items_out(list(list_values(Conversation.objects.filter(pk=conversation_id))))[0]


def _version(conversation_id: int) -> int:
    return int(Conversation.objects.values_list("version", flat=True).get(pk=conversation_id))


def _views(membership: Membership) -> QuerySet[SavedView]:
    """The saved views a member sees: shared ones and their own."""
    return SavedView.objects.select_related("owner").filter(
        Q(owner__isnull=True) | Q(owner=membership.user), workspace=membership.workspace
    )


def _clean_view(name: str, filters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name = " ".join(name.split())
    if not name:
        raise DomainError(_("A view needs a name."), fields={"name": "empty"})
    # Saved JSON may hold numbers and booleans (``as_dict`` writes ``"awaiting": true``); the parser
    # reads query-string shapes: strings or lists of them.
    shaped = {k: [str(x) for x in v] if isinstance(v, list | tuple) else str(v) for k, v in filters.items()}
    return name, parse_filters(shaped).as_dict()


# ----------------------------------------------------------------------------- reads


@router.get(f"{BASE}/conversations", response={200: ConversationPage, **ERRORS}, auth=access(Perm.INBOX_VIEW))
def conversations_list(
    request: HttpRequest,
    ws: str,
    filters: Query[FiltersQuery],
    page: Query[PageQuery],
) -> HttpResponse:
    """Conversations matching the filters, newest activity first, a page at a time (keyset: ask
    again with ``before`` = ``next``). A bad filter is a 400 whose ``fields`` name it."""
    membership = _membership(request)
    # The raw query string, not ``filters``: it keeps repeated and comma-separated values and ``q``.
    parsed = parse_filters(request.GET)
    rows = conversations_for(membership.workspace, parsed, user=membership.user)
    # A '+' in the cursor's time zone arrives as a space when the client did not encode it.
    size = page_size(page.size)
    found = list(list_values(keyset(rows, page.before.replace(" ", "+")))[: size + 1])
    items = found[:size]
    cursor = next_cursor(items[-1]["last_message_at"], items[-1]["id"]) if len(found) > size else ""
    body = {"results": items_out(items), "next": cursor or None}
    # The inbox's hot path: written out as is, skipping ninja's validation of what ``items_out`` built
    # (about 10 % of the request's CPU for a page of 50). The shape is ``ConversationPage``, which the
    # OpenAPI schema shows and the tests pin.
    return HttpResponse(json.dumps(body, cls=NinjaJSONEncoder), content_type="application/json; charset=utf-8")


@router.get(f"{BASE}/updates", response={200: UpdatesOut, **ERRORS}, auth=access(Perm.INBOX_VIEW))
def conversations_updates(
    request: HttpRequest,
    ws: str,
    params: Query[UpdatesQuery],
) -> dict[str, Any]:
    """Conversations changed since ``since`` (new messages, replies, assignment, status, tags,
    notes), oldest change first. The list's filters apply too, except ``since``/``until``."""
    membership = _membership(request)
    clock = timezone.now()
    # ``<time>`` or, continuing a batch, ``<time>|<id>`` (many rows can share one time: snoozed
    # conversations woken together).
    stamp, _sep, after = params.since.strip().replace(" ", "+").partition("|")
    try:
        at = datetime.fromisoformat(stamp)
        after_id = int(after) if after else None
    except ValueError:
        raise DomainError(_("since must be a time like 2026-03-21T09:00:00Z."), fields={"since": "bad_time"}) from None
    if timezone.is_naive(at):
        at = at.replace(tzinfo=UTC)
    query = request.GET.copy()
    for name in ("since", "until", "size"):
        query.pop(name, None)
    rows = conversations_for(membership.workspace, parse_filters(query), user=membership.user)
    if after_id is None:
        rows = rows.filter(updated_at__gte=at)
    else:
        rows = rows.filter(Q(updated_at__gt=at) | Q(updated_at=at, id__gt=after_id))
    size = params.size
    items = list(list_values(rows.order_by("updated_at", "id"), "updated_at")[: size + 1])
    more = len(items) > size
    items = items[:size]
    if more:
        following = f"{items[-1]['updated_at'].isoformat()}|{items[-1]['id']}"
    else:
        following = max(at, clock - UPDATES_OVERLAP).isoformat()
    return {"results": items_out(items), "more": more, "next": following}


@router.get(
    f"{BASE}/conversations/{{conversation_id}}",
    response={200: ConversationOut, **ERRORS},
    auth=access(Perm.INBOX_VIEW),
)
def conversations_get(request: HttpRequest, ws: str, conversation_id: int) -> dict[str, Any]:
    """One conversation: its messages (oldest first), internal notes, what rules did, and who
    else has it open."""
    membership = _membership(request)
    rows = list_rows(Conversation.objects.filter(workspace=membership.workspace, pk=conversation_id))
    found = rows.only(*DETAIL_ONLY).first()
    if found is None:
        raise NotFound(_("No such conversation."))
    return conversation_out(found, membership.user)


# ----------------------------------------------------------------------------- replies and messages


@router.post(
    f"{BASE}/conversations/{{conversation_id}}/reply",
    response={201: ReplyOut, **ERRORS},
    auth=access(Perm.INBOX_REPLY, Scope.WRITE),
)
def conversations_reply(
    request: HttpRequest, ws: str, conversation_id: int, payload: ReplyIn
) -> Status[dict[str, Any]]:
    """Answer: a reply to ``to`` (or the latest received message), a direct message in a DM thread.
    With ``version`` from your view, a conversation that changed since is a 409 ``stale_view`` whose
    message says what changed; send again with ``confirm: true`` to send anyway. The answer is 201
    with the message in its final state: ``sent`` (with ``remote_id``), ``failed`` (nothing went
    out; ``…/retry`` sends it again) or ``unknown`` (check the account)."""
    membership = _membership(request)
    conversation = _conversation(membership.workspace, conversation_id)
    to = _message(membership.workspace, payload.to, conversation=conversation) if payload.to is not None else None
    sent = reply_send(
        conversation,
        payload.text,
        actor=membership.user,
        seen_version=payload.version,
        seen_at=payload.seen_at,
        confirm=payload.confirm,
        to=to,
        ip=client_ip(request),
        media=payload.media,
    )
    return Status(201, {"message": message_out(sent), "version": _version(conversation.pk)})


@router.post(
    f"{BASE}/messages/{{message_id}}/private",
    response={201: PrivateOut, **ERRORS},
    auth=access(Perm.INBOX_REPLY, Scope.WRITE),
)
def messages_private(request: HttpRequest, ws: str, message_id: int, payload: PrivateIn) -> Status[dict[str, Any]]:
    """Message the author of a received comment or mention privately: into the direct-message
    conversation with them on the same channel (created when there is none, pointing back at this
    message). Facebook and Instagram send Meta's private reply (once per comment, within 7 days);
    Mastodon, Matrix, Telegram and Bale a direct message. A network or message that does not allow it
    is a 400 ``not_supported`` saying why; the answer is 201 with the message in its final state, as
    for a reply."""
    membership = _membership(request)
    message = _message(membership.workspace, message_id)
    sent = private_message_send(
        message, payload.text, actor=membership.user, media=payload.media, ip=client_ip(request)
    )
    conversation_id = sent.conversation_id
    return Status(
        201, {"message": message_out(sent), "conversation_id": conversation_id, "version": _version(conversation_id)}
    )


@router.post(
    f"{BASE}/messages/{{message_id}}/retry",
    response={200: ReplyOut, **ERRORS},
    auth=access(Perm.INBOX_REPLY, Scope.WRITE),
)
def messages_retry(request: HttpRequest, ws: str, message_id: int) -> dict[str, Any]:
    """Send a ``failed`` reply again (the network refused it, so nothing went out)."""
    membership = _membership(request)
    message = _message(membership.workspace, message_id)
    sent = reply_retry(message, actor=membership.user)
    return {"message": message_out(sent), "version": _version(message.conversation_id)}


@router.post(
    f"{BASE}/messages/{{message_id}}/actions",
    response={200: MessageOut, **ERRORS},
    auth=access(Perm.INBOX_REPLY, Scope.WRITE),
)
def messages_action(request: HttpRequest, ws: str, message_id: int, payload: ActionIn) -> dict[str, Any]:
    """Like, hide or delete a received message on the network. A network that cannot is a 400
    ``not_supported``; one that refuses is a 400 ``network_refused``."""
    membership = _membership(request)
    message = _message(membership.workspace, message_id)
    done = message_action(message, payload.action, actor=membership.user, ip=client_ip(request))
    return message_out(done)


# ----------------------------------------------------------------------------- workflow


@router.post(
    f"{BASE}/conversations/{{conversation_id}}/assign",
    response={200: ConversationItem, **ERRORS},
    auth=access(Perm.INBOX_REPLY, Scope.WRITE),
)
def conversations_assign(request: HttpRequest, ws: str, conversation_id: int, payload: AssignIn) -> dict[str, Any]:
    """Give it to a member and/or a team; both null unassigns. The member is notified."""
    membership = _membership(request)
    workspace = membership.workspace
    conversation = _conversation(workspace, conversation_id)
    user: User | None = None
    if payload.user_id is not None:
        user = User.objects.filter(pk=payload.user_id, memberships__workspace=workspace).first()
        if user is None:
            raise DomainError(_("Only a member of this workspace can be assigned."), fields={"user_id": "not_member"})
    team: Team | None = None
    if payload.team_id is not None:
        team = Team.objects.filter(pk=payload.team_id, workspace=workspace).first()
        if team is None:
            raise DomainError(_("That team is not in this workspace."), fields={"team_id": "unknown"})
    workflow.conversation_assign(conversation, actor=membership.user, user=user, team=team)
    return _item(conversation.pk)


@router.post(
    f"{BASE}/conversations/{{conversation_id}}/status",
    response={200: ConversationItem, **ERRORS},
    auth=access(Perm.INBOX_REPLY, Scope.WRITE),
)
def conversations_status(request: HttpRequest, ws: str, conversation_id: int, payload: StatusIn) -> dict[str, Any]:
    """Open, pending, snoozed (with ``until`` in the future: it opens again then) or closed."""
    membership = _membership(request)
    conversation = _conversation(membership.workspace, conversation_id)
    until = payload.until
    if until is not None and timezone.is_naive(until):
        raise DomainError(_("Give until with a time zone, e.g. 2026-03-21T09:00:00+03:30."), fields={"until": "naive"})
    workflow.conversation_set_status(conversation, payload.status, actor=membership.user, until=until)
    return _item(conversation.pk)


@router.post(
    f"{BASE}/conversations/{{conversation_id}}/priority",
    response={200: ConversationItem, **ERRORS},
    auth=access(Perm.INBOX_REPLY, Scope.WRITE),
)
def conversations_priority(request: HttpRequest, ws: str, conversation_id: int, payload: PriorityIn) -> dict[str, Any]:
    membership = _membership(request)
    conversation = _conversation(membership.workspace, conversation_id)
    workflow.conversation_set_priority(conversation, payload.priority, actor=membership.user)
    return _item(conversation.pk)


@router.post(
    f"{BASE}/conversations/{{conversation_id}}/tags",
    response={200: ConversationItem, **ERRORS},
    auth=access(Perm.INBOX_REPLY, Scope.WRITE),
)
def conversations_tag(request: HttpRequest, ws: str, conversation_id: int, payload: TagIn) -> dict[str, Any]:
    """Add a tag (created in the workspace when new; names compare without case)."""
    membership = _membership(request)
    conversation = _conversation(membership.workspace, conversation_id)
    workflow.conversation_tag(conversation, payload.tag, actor=membership.user)
    return _item(conversation.pk)


@router.delete(
    f"{BASE}/conversations/{{conversation_id}}/tags/{{tag}}",
    response={200: ConversationItem, **ERRORS},
    auth=access(Perm.INBOX_REPLY, Scope.WRITE),
)
def conversations_untag(request: HttpRequest, ws: str, conversation_id: int, tag: str) -> dict[str, Any]:
    membership = _membership(request)
    conversation = _conversation(membership.workspace, conversation_id)
    workflow.conversation_tag(conversation, tag, actor=membership.user, remove=True)
    return _item(conversation.pk)


@router.post(
    f"{BASE}/conversations/{{conversation_id}}/notes",
    response={201: NoteOut, **ERRORS},
    auth=access(Perm.INBOX_REPLY, Scope.WRITE),
)
def conversations_note(request: HttpRequest, ws: str, conversation_id: int, payload: NoteIn) -> Status[dict[str, Any]]:
    """An internal note, seen only by the team."""
    membership = _membership(request)
    conversation = _conversation(membership.workspace, conversation_id)
    note = workflow.note_add(conversation, payload.text, author=membership.user)
    return Status(201, note_out(note))


@router.post(
    f"{BASE}/conversations/{{conversation_id}}/presence",
    response={200: PresenceList, **ERRORS},
    auth=access(Perm.INBOX_VIEW),
)
def conversations_presence(request: HttpRequest, ws: str, conversation_id: int, payload: PresenceIn) -> dict[str, Any]:
    """Heartbeat while the conversation is open (every 15 s; ``replying`` while typing), or
    ``leave``. Answers who else has it open."""
    membership = _membership(request)
    conversation = _conversation(membership.workspace, conversation_id)
    if payload.leave:
        workflow.presence_leave(conversation, membership.user)
    else:
        workflow.presence_touch(conversation, membership.user, Activity(payload.activity))
    return {"others": workflow.presence_others(conversation, membership.user)}


# ----------------------------------------------------------------------------- saved views


@router.get(f"{BASE}/views", response={200: list[ViewOut], **ERRORS}, auth=access(Perm.INBOX_VIEW))
def views_list(request: HttpRequest, ws: str) -> list[dict[str, Any]]:
    """The shared views and your own."""
    return [view_out(v) for v in _views(_membership(request))]


@router.post(f"{BASE}/views", response={201: ViewOut, **ERRORS}, auth=access(Perm.INBOX_REPLY, Scope.WRITE))
def views_create(request: HttpRequest, ws: str, payload: ViewIn) -> Status[dict[str, Any]]:
    """Save a set of filters. A bad filter is a 400 whose ``fields`` name it."""
    membership = _membership(request)
    name, filters = _clean_view(payload.name, payload.filters)
    with transaction.atomic():
        view = SavedView.objects.create(
            workspace=membership.workspace,
            owner=None if payload.shared else membership.user,
            name=name,
            filters=filters,
        )
        audit_record(
            workspace=membership.workspace,
            actor=membership.user,
            action="inbox.view.create",
            target=f"view:{view.pk}",
            data={"name": name, "shared": payload.shared},
            ip=client_ip(request),
        )
    return Status(201, view_out(view))


@router.patch(
    f"{BASE}/views/{{view_id}}", response={200: ViewOut, **ERRORS}, auth=access(Perm.INBOX_REPLY, Scope.WRITE)
)
def views_update(request: HttpRequest, ws: str, view_id: int, payload: ViewPatch) -> dict[str, Any]:
    """Rename, change the filters, or share (``shared: true``) / take back (``false``: it becomes yours)."""
    membership = _membership(request)
    view = _views(membership).filter(pk=view_id).first()
    if view is None:
        raise NotFound(_("No such view."))
    name, filters = _clean_view(
        payload.name if payload.name is not None else view.name,
        payload.filters if payload.filters is not None else view.filters,
    )
    view.name, view.filters = name, filters
    if payload.shared is not None:
        view.owner = None if payload.shared else membership.user
    with transaction.atomic():
        view.save(update_fields=["name", "filters", "owner"])
        audit_record(
            workspace=membership.workspace,
            actor=membership.user,
            action="inbox.view.update",
            target=f"view:{view.pk}",
            data={"name": name, "shared": view.owner_id is None},
            ip=client_ip(request),
        )
    return view_out(view)


@router.delete(f"{BASE}/views/{{view_id}}", response={204: None, **ERRORS}, auth=access(Perm.INBOX_REPLY, Scope.WRITE))
def views_delete(request: HttpRequest, ws: str, view_id: int) -> Status[None]:
    membership = _membership(request)
    view = _views(membership).filter(pk=view_id).first()
    if view is None:
        raise NotFound(_("No such view."))
    with transaction.atomic():
        audit_record(
            workspace=membership.workspace,
            actor=membership.user,
            action="inbox.view.delete",
            target=f"view:{view.pk}",
            data={"name": view.name},
            ip=client_ip(request),
        )
        view.delete()
    return Status(204, None)

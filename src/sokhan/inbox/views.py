"""The inbox pages: the two-pane list + conversation page, the small POST actions it makes (each
answers with a redirect, or JSON when the request accepts ``application/json``), the presence
heartbeat and the list's live updates. What they show is built in ``sokhan.inbox.page``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sokhan.core.errors import DomainError
from sokhan.core.models import Membership, User
from sokhan.core.permissions import Perm
from sokhan.inbox import page, page_replies, workflow
from sokhan.inbox.models import Activity, Conversation, Message, SendState, Status, Team
from sokhan.inbox.private_messages import private_message_send
from sokhan.inbox.replies import StaleView, message_action, reply_retry, reply_send
from sokhan.media.services import asset_upload
from sokhan.networks.types import Capability
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip
from sokhan.web.views.common import safe_next


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _conversation(membership: Membership, conversation_id: int) -> Conversation:
    found = (
        Conversation.objects.select_related("channel", "assignee", "team", "subject_target", "workspace")
        .filter(workspace=membership.workspace, pk=conversation_id)
        .first()
    )
    if found is None:
        raise Http404("conversation not found")
    return found


def _user(membership: Membership) -> User:
    return membership.user


def _back(request: HttpRequest, membership: Membership, conversation: Conversation | None) -> str:
    fallback = (
        page.conversation_page_url(membership.workspace, conversation.pk)
        if conversation is not None
        else page.inbox_url(membership.workspace)
    )
    return safe_next(request, fallback)


def _row_html(request: HttpRequest, membership: Membership, conversation: Conversation, query: str) -> str:
    context = {"row": conversation, "workspace": membership.workspace, "query": query, "current_id": None}
    return render_to_string("inbox/_row.html", context, request=request)


# ------------------------------------------------------------------ the page


def _page(
    request: HttpRequest,
    membership: Membership,
    query: QueryDict,
    conversation: Conversation | None,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    # Taken before the list is read, so a change committed meanwhile still reaches the first poll.
    since = timezone.now() - page.UPDATES_OVERLAP
    state = page.list_state(membership, query, before=query.get("before", ""))
    viewer = page.viewer_of(request)
    context = workspace_context(
        membership,
        "inbox",
        state=state,
        options=page.options_for(membership.workspace),
        options_tags=page.tag_suggestions(membership.workspace),
        query=state.query,
        saved_views=[(v, page.saved_view_query(v)) for v in page.saved_views_for(membership)],
        current_id=conversation.pk if conversation else None,
        date_hint=viewer.date_hint(),
        more_url=page.inbox_url(membership.workspace, state.query, before=state.cursor) if state.cursor else "",
        updates_url=page.updates_url(membership.workspace, state.query),
        updates_since=since.isoformat(),
        here=page.inbox_url(membership.workspace, state.query),
    )
    if query.get("partial") == "rows":  # the "more" link, fetched by the script
        return render(request, "inbox/_rows.html", context)
    if conversation is not None:
        context.update(_conversation_context(request, membership, conversation, viewer, state.query, **extra))
    return render(request, "inbox/inbox.html", context, status=status)


def _conversation_context(
    request: HttpRequest,
    membership: Membership,
    conversation: Conversation,
    viewer: page.Viewer,
    query: str,
    *,
    reply_text: str = "",
    reply_error: str = "",
    stale: str = "",
    seen_version: int | None = None,
    seen_at: str = "",
    chosen_media: Sequence[int] = (),
) -> dict[str, Any]:
    user = _user(membership)
    saved: list[dict[str, Any]] = page.saved_replies(conversation, user)
    chosen = request.GET.get("saved", "")
    if not reply_text and chosen.isdigit():  # the no-script way to use a saved reply
        reply_text = next((r["text"] for r in saved if r["id"] == int(chosen)), "")
    new_after = page.parse_seen_at(seen_at) if stale else None
    url = page.conversation_page_url(membership.workspace, conversation.pk, query)
    for item in saved:
        item["url"] = f"{url}{'&' if '?' in url else '?'}saved={item['id']}#reply-text"
    return {
        "conversation": conversation,
        "conversation_url": url,
        "here": url,  # where the conversation's forms come back to
        "entries": page.timeline(conversation, new_after=new_after),
        "abilities": page.abilities_of(conversation),
        "tags": list(conversation.tags.order_by("name")),
        "snooze_presets": [(key, label, viewer.datetime(at)) for key, label, at in page.snooze_presets(viewer)],
        "saved_replies": saved,
        "guidelines": page.guidelines_of(membership.workspace),
        "reply_text": reply_text,
        "reply_error": reply_error,
        "stale": stale,
        "version": seen_version if stale and seen_version is not None else conversation.version,
        "seen_at": seen_at if stale and seen_at else timezone.now().isoformat(),
        "presence_others": workflow.presence_others(conversation, user),
        **_media_context(membership, conversation, chosen_media),
    }


def _media_context(membership: Membership, conversation: Conversation, chosen: Sequence[int]) -> dict[str, Any]:
    """The reply form's library files (and whether uploading is allowed), the private-message form's
    (direct messages may take other files than replies), and where a DM conversation started."""
    cls = page_replies.connector_of(conversation.channel.network)
    direct_ok = cls is not None and cls.has(Capability.DM_MEDIA)
    return {
        "library": page_replies.library_choices(membership.workspace, cls),
        "direct_library": page_replies.library_choices(membership.workspace, cls) if direct_ok else [],
        "chosen_media": set(chosen),
        "can_upload": page_replies.can_upload(membership),
        "origin": page_replies.origin_of(conversation),
    }


@workspace_page(Perm.INBOX_VIEW)
@require_GET
def inbox(request: HttpRequest, membership: Membership) -> HttpResponse:
    selected = request.GET.get("c", "")
    conversation = _conversation(membership, int(selected)) if selected.isdigit() else None
    return _page(request, membership, request.GET, conversation)


@workspace_page(Perm.INBOX_VIEW)
@require_GET
def conversation_page(request: HttpRequest, membership: Membership, conversation_id: int) -> HttpResponse:
    return _page(request, membership, request.GET, _conversation(membership, conversation_id))


# ------------------------------------------------------------------ actions


def _act(
    request: HttpRequest,
    membership: Membership,
    conversation: Conversation,
    action: Callable[[], str],
    **data: Any,
) -> HttpResponse:
    """Run ``action`` (which returns what to tell the person) and answer with JSON or a redirect."""
    try:
        done = action()
    except DomainError as error:
        if _wants_json(request):
            body = {"ok": False, "error": error.message, "code": error.code, "fields": error.fields}
            return JsonResponse(body, status=error.status)
        messages.error(request, error.message)
        return redirect(_back(request, membership, conversation))
    if _wants_json(request):
        conversation.refresh_from_db(fields=["version", "status", "priority", "assignee", "team", "snoozed_until"])
        body = {
            "ok": True,
            "message": done,
            "version": conversation.version,
            "status": conversation.status,
            "priority": conversation.priority,
            "assignee": conversation.assignee_id,
            "team": conversation.team_id,
            **data,
        }
        return JsonResponse(body)
    messages.success(request, done)
    return redirect(_back(request, membership, conversation))


@workspace_page(Perm.INBOX_REPLY)
@require_POST
def set_status(request: HttpRequest, membership: Membership, conversation_id: int) -> HttpResponse:
    conversation = _conversation(membership, conversation_id)
    status = request.POST.get("status", "")

    def run() -> str:
        until = page.snooze_until(request.POST, page.viewer_of(request)) if status == Status.SNOOZED else None
        workflow.conversation_set_status(conversation, status, actor=_user(membership), until=until)
        if until is not None:
            return _("Snoozed until %(when)s.") % {"when": page.viewer_of(request).datetime(until)}
        return _("Status changed to %(status)s.") % {"status": Status(status).label}

    return _act(request, membership, conversation, run)


@workspace_page(Perm.INBOX_REPLY)
@require_POST
def assign(request: HttpRequest, membership: Membership, conversation_id: int) -> HttpResponse:
    conversation = _conversation(membership, conversation_id)

    def run() -> str:
        user = conversation.assignee
        if "assignee" in request.POST:  # absent: keep the assignee (a form that changes only the team)
            raw = request.POST["assignee"]
            if raw == "me":
                user = _user(membership)
            elif raw.isdigit():
                user = User.objects.filter(pk=int(raw)).first()
                if user is None:
                    raise DomainError(_("Only a member of this workspace can be assigned."), fields={"assignee": "x"})
            else:
                user = None
        team = conversation.team
        if "team" in request.POST:
            raw = request.POST["team"]
            team = Team.objects.filter(workspace=membership.workspace, pk=int(raw)).first() if raw.isdigit() else None
            if raw.isdigit() and team is None:
                raise DomainError(_("That team is not in this workspace."), fields={"team": "unknown"})
        workflow.conversation_assign(conversation, actor=_user(membership), user=user, team=team)
        if user is None and team is None:
            return _("Unassigned.")
        return _("Assigned to %(who)s.") % {
            "who": " / ".join(n for n in (workflow.display_name(user), team.name if team else "") if n)
        }

    return _act(request, membership, conversation, run)


@workspace_page(Perm.INBOX_REPLY)
@require_POST
def set_priority(request: HttpRequest, membership: Membership, conversation_id: int) -> HttpResponse:
    conversation = _conversation(membership, conversation_id)
    priority = request.POST.get("priority", "")

    def run() -> str:
        workflow.conversation_set_priority(conversation, priority, actor=_user(membership))
        return _("Priority changed.")

    return _act(request, membership, conversation, run)


@workspace_page(Perm.INBOX_REPLY)
@require_POST
def tag(request: HttpRequest, membership: Membership, conversation_id: int) -> HttpResponse:
    conversation = _conversation(membership, conversation_id)
    remove = request.POST.get("remove") == "1"
    names = [n for n in request.POST.get("tag", "").split(",") if n.strip()] or [""]

    def run() -> str:
        done = [workflow.conversation_tag(conversation, n, actor=_user(membership), remove=remove).name for n in names]
        if remove:
            return _("Tag removed: %(tags)s.") % {"tags": ", ".join(done)}
        return _("Tagged: %(tags)s.") % {"tags": ", ".join(done)}

    return _act(request, membership, conversation, run)


@workspace_page(Perm.INBOX_REPLY)
@require_POST
def note(request: HttpRequest, membership: Membership, conversation_id: int) -> HttpResponse:
    conversation = _conversation(membership, conversation_id)

    def run() -> str:
        workflow.note_add(conversation, request.POST.get("text", ""), author=_user(membership))
        return _("Note added.")

    return _act(request, membership, conversation, run)


def _message(conversation: Conversation, message_id: int) -> Message:
    found = Message.objects.filter(conversation=conversation, pk=message_id).select_related("channel").first()
    if found is None:
        raise Http404("message not found")
    return found


@workspace_page(Perm.INBOX_REPLY)
@require_POST
def act_on_message(request: HttpRequest, membership: Membership, conversation_id: int, message_id: int) -> HttpResponse:
    conversation = _conversation(membership, conversation_id)
    message = _message(conversation, message_id)
    action = request.POST.get("action", "")

    def run() -> str:
        message_action(message, action, actor=_user(membership), ip=client_ip(request))
        return {"like": _("Liked."), "hide": _("Hidden."), "delete": _("Deleted.")}[action]

    return _act(request, membership, conversation, run)


def _sent_text(message: Message) -> tuple[bool, str]:
    if message.send_state == SendState.SENT:
        return True, _("Reply sent.")
    if message.send_state == SendState.UNKNOWN:
        return False, _("The network did not confirm the reply. Check the conversation there before sending again.")
    return False, _("The reply was not sent: %(error)s") % {"error": message.send_error or _("unknown error")}


@workspace_page(Perm.INBOX_REPLY)
@require_POST
def retry(request: HttpRequest, membership: Membership, conversation_id: int, message_id: int) -> HttpResponse:
    conversation = _conversation(membership, conversation_id)
    message = _message(conversation, message_id)

    def run() -> str:
        sent = reply_retry(message, actor=_user(membership))
        ok, text = _sent_text(sent)
        if not ok:
            raise DomainError(text, fields={"message": sent.send_state})
        return text

    return _act(request, membership, conversation, run, message_id=message.pk)


@workspace_page(Perm.INBOX_REPLY)
@require_POST
def reply(request: HttpRequest, membership: Membership, conversation_id: int) -> HttpResponse:
    conversation = _conversation(membership, conversation_id)
    text = request.POST.get("text", "")
    raw_version = request.POST.get("version", "")
    seen_version = int(raw_version) if raw_version.isdigit() else None
    confirm = request.POST.get("confirm") == "1"
    raw_to = request.POST.get("to", "")
    to = _message(conversation, int(raw_to)) if raw_to.isdigit() else None
    back = _back(request, membership, conversation)
    list_query = QueryDict(urlsplit(back).query)
    media: list[int] = []
    try:
        media = _chosen_media(request, membership)
        sent = reply_send(
            conversation,
            text,
            actor=_user(membership),
            seen_version=seen_version,
            seen_at=page.parse_seen_at(request.POST.get("seen_at", "")),
            confirm=confirm,
            to=to,
            ip=client_ip(request),
            media=media,
        )
    except StaleView as stale:
        conversation.refresh_from_db()
        if _wants_json(request):
            body = {"ok": False, "code": stale.code, "error": stale.message, "version": conversation.version}
            return JsonResponse(body, status=stale.status)
        # Shown again with the typed text, what changed, and a "send anyway" button.
        return _page(
            request,
            membership,
            list_query,
            conversation,
            status=stale.status,
            reply_text=text,
            stale=stale.message,
            seen_version=seen_version,
            seen_at=request.POST.get("seen_at", ""),
            chosen_media=media,
        )
    except DomainError as error:
        if _wants_json(request):
            body = {"ok": False, "code": error.code, "error": error.message, "fields": error.fields}
            return JsonResponse(body, status=error.status)
        return _page(
            request,
            membership,
            list_query,
            conversation,
            status=error.status,
            reply_text=text,
            reply_error=error.message,
            chosen_media=media,
        )
    ok, said = _sent_text(sent)
    if _wants_json(request):
        conversation.refresh_from_db(fields=["version"])
        body = {
            "ok": ok,
            "message": said,
            "id": sent.pk,
            "remote_id": sent.remote_id,
            "send_state": sent.send_state,
            "version": conversation.version,
        }
        return JsonResponse(body, status=200 if ok else 502)
    (messages.success if ok else messages.error)(request, said)
    return redirect(back)


def _chosen_media(request: HttpRequest, membership: Membership) -> list[int]:
    """Library ids ticked in the form, then files uploaded with it (added to the library first)."""
    chosen = [int(v) for v in request.POST.getlist("media") if v.isdigit()]
    uploads = [f for f in request.FILES.getlist("upload") if f.size]
    if uploads and not page_replies.can_upload(membership):
        raise DomainError(_("Your role may not add files to the media library."), fields={"upload": "forbidden"})
    for upload in uploads:
        stored = asset_upload(actor=membership, chunks=upload.chunks(), name=upload.name or "", ip=client_ip(request))
        chosen.append(stored.asset.pk)
    return list(dict.fromkeys(chosen))


@workspace_page(Perm.INBOX_REPLY)
@require_POST
def message_private(
    request: HttpRequest, membership: Membership, conversation_id: int, message_id: int
) -> HttpResponse:
    """The "message privately" action on a received comment or mention: the message goes into the
    direct-message conversation with its author, where the person is then taken."""
    conversation = _conversation(membership, conversation_id)
    message = _message(conversation, message_id)
    try:
        media = _chosen_media(request, membership)
        sent = private_message_send(
            message, request.POST.get("text", ""), actor=_user(membership), media=media, ip=client_ip(request)
        )
    except DomainError as error:
        if _wants_json(request):
            body = {"ok": False, "code": error.code, "error": error.message, "fields": error.fields}
            return JsonResponse(body, status=error.status)
        messages.error(request, error.message)
        return redirect(_back(request, membership, conversation))
    ok, said = _sent_text(sent)
    said = _("Private message sent.") if ok else said
    target = page.conversation_page_url(membership.workspace, sent.conversation_id)
    if _wants_json(request):
        body = {
            "ok": ok,
            "message": said,
            "id": sent.pk,
            "send_state": sent.send_state,
            "conversation": sent.conversation_id,
            "url": target,
        }
        return JsonResponse(body, status=200 if ok else 502)
    (messages.success if ok else messages.error)(request, said)
    return redirect(target)


# ------------------------------------------------------------------ presence and live updates


@workspace_page(Perm.INBOX_VIEW)
@require_POST
def presence(request: HttpRequest, membership: Membership, conversation_id: int) -> HttpResponse:
    conversation = _conversation(membership, conversation_id)
    activity = request.POST.get("activity", Activity.VIEWING)
    if activity == "leave":
        workflow.presence_leave(conversation, _user(membership))
    else:
        workflow.presence_touch(conversation, _user(membership), activity)
    conversation.refresh_from_db(fields=["version"])
    return JsonResponse(
        {"others": workflow.presence_others(conversation, _user(membership)), "version": conversation.version}
    )


@workspace_page(Perm.INBOX_VIEW)
@require_GET
def updates(request: HttpRequest, membership: Membership) -> HttpResponse:
    try:
        since = page.parse_since(request.GET.get("since", ""))
        rows, gone, next_since = page.changed_since(membership, request.GET, since)
    except DomainError as error:
        return JsonResponse({"ok": False, "error": error.message, "fields": error.fields}, status=400)
    query = page.filter_query(page.filter_values(request.GET))
    return JsonResponse(
        {
            "ok": True,
            "since": next_since.isoformat(),
            "rows": [
                {
                    "id": c.pk,
                    "version": c.version,
                    "status": c.status,
                    "preview": c.preview,
                    "last_message_at": c.last_message_at.isoformat() if c.last_message_at else None,
                    "html": _row_html(request, membership, c, query),
                }
                for c in rows
            ],
            "gone": gone,
        }
    )


# ------------------------------------------------------------------ saved views


@workspace_page(Perm.INBOX_VIEW)
@require_POST
def view_save(request: HttpRequest, membership: Membership) -> HttpResponse:
    query = request.POST.get("query", "")
    try:
        view = page.saved_view_create(
            membership, name=request.POST.get("name", ""), query=query, shared=request.POST.get("shared") == "1"
        )
    except DomainError as error:
        if _wants_json(request):
            return JsonResponse({"ok": False, "error": error.message, "fields": error.fields}, status=error.status)
        messages.error(request, error.message)
        return redirect(page.inbox_url(membership.workspace, query))
    target = page.inbox_url(membership.workspace, page.saved_view_query(view), view=str(view.pk))
    if _wants_json(request):
        return JsonResponse({"ok": True, "id": view.pk, "url": target})
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(target)


@workspace_page(Perm.INBOX_VIEW)
@require_POST
def view_delete(request: HttpRequest, membership: Membership, view_id: int) -> HttpResponse:
    view = next((v for v in page.saved_views_for(membership) if v.pk == view_id), None)
    if view is None:
        raise Http404("view not found")
    try:
        page.saved_view_delete(membership, view)
    except DomainError as error:
        if _wants_json(request):
            return JsonResponse({"ok": False, "error": error.message}, status=403)
        messages.error(request, error.message)
    else:
        if _wants_json(request):
            return JsonResponse({"ok": True})
        messages.success(request, _("View deleted."))
    return redirect(safe_next(request, page.inbox_url(membership.workspace)))

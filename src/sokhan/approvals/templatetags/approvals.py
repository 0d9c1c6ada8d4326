"""``{% load approvals %}{% approval_panel post membership %}``: the review panel of a post."""

from __future__ import annotations

from typing import Any

from django import template

from sokhan.approvals import services
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm, role_can
from sokhan.publishing.models import Post

register = template.Library()
LINK_KEY = "sokhan_approval_link"  # the session key the link-create view leaves the new URL under


@register.inclusion_tag("approvals/_post_panel.html", takes_context=True)
def approval_panel(context: template.Context, post: Post, membership: Membership) -> dict[str, Any]:
    """Stage progress, decisions, the actions the member may take, the comment thread, and the
    post's active sign-off links. ``post`` must belong to ``membership.workspace``."""
    if post.workspace_id != membership.workspace_id:
        raise ValueError("the post is not in the member's workspace")
    view = services.review_view(membership, post)
    request = context.get("request")
    new_link = context.get("new_link")
    session = getattr(request, "session", None)
    if not new_link and session is not None:
        new_link = session.pop(LINK_KEY, None)  # a link just created: shown once, on whichever page
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "ui_language": context.get("ui_language"),
        "ui_calendar": context.get("ui_calendar"),
        "ui_timezone": context.get("ui_timezone"),
        "post": post,
        "workspace": membership.workspace,
        "view": view,
        "comments": services.comments_of(post),
        "links": services.active_links(membership.workspace, post)
        if services.may_manage_links(membership.role)
        else [],
        "can_comment": role_can(membership.role, Perm.POSTS_VIEW),
        "can_approve_role": role_can(membership.role, Perm.POSTS_APPROVE),
        "next": request.get_full_path() if request is not None else "",
        "new_link": new_link,
    }

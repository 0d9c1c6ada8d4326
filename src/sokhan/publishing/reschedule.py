"""Move one post target to a new time (the calendar's drag and drop and its "Move" form).

A target that is already ``scheduled`` keeps its state and only gets the new time: it was
approved or scheduled before, so nothing about it needs signing off again. A ``draft``,
``approved`` or ``failed`` target is scheduled at the new time through
:func:`sokhan.publishing.services.post_schedule`, so every rule of scheduling (permissions,
validation, approval) applies unchanged. Targets being published, published or waiting in review
are refused with a sentence saying why.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.core.errors import Conflict, DomainError, NotAllowed
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.publishing import services
from sokhan.publishing import states as S
from sokhan.publishing.models import PostTarget

MOVABLE = frozenset({S.DRAFT, S.APPROVED, S.SCHEDULED, S.FAILED})


def refusal(target: PostTarget) -> str:
    """Why ``target`` cannot be moved now ("" when it can), for the service and the page."""
    if target.state_locked_until is not None and target.state_locked_until > timezone.now():
        return _("This post is being published right now; try again in a moment.")
    if target.state in (S.PUBLISHED, S.RESOLVED):
        return _("This post is already published; it cannot be moved.")
    if target.state in (S.PUBLISHING, S.OUTCOME_UNKNOWN):
        return _("This post is being published or its outcome is being checked; it cannot be moved.")
    if target.state == S.IN_REVIEW:
        return _("This post is waiting for review; it can be moved once it is approved.")
    if target.state not in MOVABLE:
        return _("This post cannot be moved in its current state.")
    return ""


@transaction.atomic
def post_reschedule(*, actor: Membership, post_target_id: int, at: datetime, ip: str | None = None) -> PostTarget:
    """Schedule the target at ``at`` (aware, in the future) and record ``post.reschedule``."""
    if not role_can(actor.role, Perm.POSTS_PUBLISH):
        raise NotAllowed(_("Your role may not do this."))
    if timezone.is_naive(at):
        raise ValueError("at must be an aware datetime")
    found = services.target_get(actor.workspace, post_target_id)
    target = PostTarget.objects.select_for_update().select_related("channel", "post").get(pk=found.pk)
    reason = refusal(target)
    if reason:
        raise Conflict(reason, code="invalid_transition")
    if at <= timezone.now():
        raise DomainError(_("This time has already passed; choose a time in the future."), fields={"at": "past"})
    before_state, before_at = target.state, target.scheduled_at
    if target.state == S.SCHEDULED:
        target.scheduled_at = at
        target.enter_state(S.SCHEDULED, due_at=at)
        target.save()
    else:
        services.post_schedule(actor=actor, post_id=target.post_id, at=at, channel_ids=[target.channel_id], ip=ip)
        target.refresh_from_db()
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="post.reschedule",
        target=f"post:{target.post_id}",
        data={
            "post_target": target.pk,
            "channel": target.channel_id,
            "state": before_state,
            "from": before_at.astimezone(UTC).isoformat() if before_at else "",
            "to": at.astimezone(UTC).isoformat(),
        },
        ip=ip,
    )
    return target

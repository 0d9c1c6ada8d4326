"""Who a background job acts as: the member who set the automation up, while they still may."""

from __future__ import annotations

from sokhan.core.errors import NotAllowed
from sokhan.core.models import Membership, Workspace
from sokhan.core.permissions import Perm, role_can


def acting_member(workspace: Workspace, user_id: int | None, *, refusal: str) -> Membership:
    """The creator's membership in ``workspace`` if they may still draft posts; else ``NotAllowed(refusal)``,
    so a removed or demoted member's automation stops instead of acting with rights they lost."""
    membership = None
    if user_id is not None:
        membership = (
            Membership.objects.select_related("workspace", "user").filter(workspace=workspace, user_id=user_id).first()
        )
    if membership is None or not role_can(membership.role, Perm.POSTS_DRAFT):
        raise NotAllowed(refusal)
    return membership

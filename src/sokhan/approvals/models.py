"""The approval workflow of a workspace, the review of each post, decisions, comments and
external sign-off links. See docs/approvals.md."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from sokhan.core.models import User, Workspace
from sokhan.publishing.models import Post


def _list() -> list[Any]:
    return []


class Mode(models.TextChoices):
    NONE = "none", _("No approval needed")
    SINGLE = "single", _("One approver")
    STAGES = "stages", _("Ordered stages")


class Workflow(models.Model):
    """How posts of a workspace are approved. A workspace without a row has mode ``none``."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="approval_workflow")
    mode = models.CharField(_("mode"), max_length=16, choices=Mode.choices, default=Mode.NONE)
    link_days = models.PositiveSmallIntegerField(_("external links valid for (days)"), default=7)
    updated_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"approval workflow of {self.workspace_id}: {self.mode}"


class Stage(models.Model):
    """One ordered step of a ``stages`` workflow. Who may approve: the listed members, and any
    member whose role is ``min_role`` or higher (both only if their role may approve posts)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(_("name"), max_length=100)
    min_role = models.CharField(_("any member with this role or higher"), max_length=16, blank=True)
    approvers = models.ManyToManyField(User, blank=True, related_name="+")

    class Meta:
        ordering: ClassVar = ["workflow_id", "position", "id"]

    def __str__(self) -> str:
        return f"stage {self.position + 1} ({self.name})"


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("In review")
    APPROVED = "approved", _("Approved")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    REJECTED = "rejected", _("Rejected")
    RESET = "reset", _("Reset by an edit")


class Review(models.Model):
    """One round of review of a post: opened by "submit for review", closed by the last approval,
    a request for changes, a rejection or an edit. ``stages`` is a copy of the workflow's stages
    when the round began (``[{"name", "min_role", "user_ids"}]``), so later changes to the
    settings do not move a review under way."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reviews")
    status = models.CharField(max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    stages = models.JSONField(default=_list)
    current = models.PositiveSmallIntegerField(default=0)  # index into ``stages``
    submitted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"review {self.pk} of post {self.post_id} [{self.status}]"

    @property
    def is_open(self) -> bool:
        return self.status == ReviewStatus.OPEN

    @property
    def stage_name(self) -> str:
        if 0 <= self.current < len(self.stages):
            return str(self.stages[self.current].get("name", ""))
        return ""


class DecisionKind(models.TextChoices):
    APPROVE = "approve", _("Approved")
    REQUEST_CHANGES = "request_changes", _("Requested changes")
    REJECT = "reject", _("Rejected")


class Decision(models.Model):
    """A reviewer's decision at one stage: a member's, or a client's through an external link."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="decisions")
    stage = models.PositiveSmallIntegerField()
    stage_name = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20, choices=DecisionKind.choices)
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    external_name = models.CharField(max_length=150, blank=True)
    link = models.ForeignKey("ApprovalLink", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} at stage {self.stage + 1} of review {self.review_id}"

    @property
    def who(self) -> str:
        if self.external_name:
            return self.external_name
        return self.user.display_name if self.user else "—"


class Comment(models.Model):
    """The discussion of a post, kept across review rounds."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="review_comments")
    author = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    external_name = models.CharField(max_length=150, blank=True)
    body = models.TextField()
    mentions = models.JSONField(default=_list, blank=True)  # user ids notified
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on post {self.post_id}"

    @property
    def who(self) -> str:
        if self.external_name:
            return self.external_name
        return self.author.display_name if self.author else "—"


class ApprovalLink(models.Model):
    """A sign-off link for someone without an account: one post, one stage of one review, one
    decision (approve or request changes). Only a hash of the secret token is stored."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="approval_links")
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="links")
    stage = models.PositiveSmallIntegerField()
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=20, choices=DecisionKind.choices, blank=True)
    client_name = models.CharField(max_length=150, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"approval link {self.pk} for post {self.post_id}"

    @property
    def is_active(self) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > now()

"""The unified inbox: conversations and their messages from every channel, how a team works them,
and the inbox's settings. See docs/inbox.md."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sokhan.channels.models import Channel
from sokhan.core.models import User, Workspace
from sokhan.publishing.models import PostTarget


def _list() -> list[Any]:
    return []


def _dict() -> dict[str, Any]:
    return {}


class Kind(models.TextChoices):
    """What a conversation is: the comments under one post, one direct-message thread, or a post
    elsewhere that mentions the brand (with the replies to it)."""

    COMMENT = "comment", _("Comments")
    MENTION = "mention", _("Mention")
    DM = "dm", _("Direct message")


class Status(models.TextChoices):
    OPEN = "open", pgettext_lazy("conversation status", "Open")
    PENDING = "pending", pgettext_lazy("conversation status", "Pending")
    SNOOZED = "snoozed", pgettext_lazy("conversation status", "Snoozed")
    CLOSED = "closed", pgettext_lazy("conversation status", "Closed")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_ORDER = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Direction(models.TextChoices):
    IN = "in", _("Received")
    OUT = "out", _("Sent")


class SendState(models.TextChoices):
    """Of an outgoing message: ``sending`` until the network answers; ``unknown`` when it did not
    confirm (never sent again blindly)."""

    RECEIVED = "", _("Received")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Not confirmed")


class Sentiment(models.TextChoices):
    NONE = "", _("Not rated")
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")


class Team(models.Model):
    """A group of members that conversations can be assigned to (e.g. "Support", "Sales")."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    members = models.ManyToManyField(User, blank=True, related_name="+")

    class Meta:
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [models.UniqueConstraint(fields=["workspace", "name"], name="inbox_team_unique_name")]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [models.UniqueConstraint(fields=["workspace", "name"], name="inbox_tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class Conversation(models.Model):
    """One thread on one channel, identified by ``(channel, kind, thread_key)``: the post's remote id
    for comments, the DM thread's id, or the mentioning post's thread root."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    thread_key = models.CharField(max_length=500)
    # The post being discussed: ours when we published it (``subject_target``), else as first seen.
    subject_target = models.ForeignKey(PostTarget, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    subject_remote_id = models.CharField(max_length=500, blank=True)
    subject_text = models.TextField(blank=True)
    subject_url = models.URLField(max_length=1000, blank=True)
    # Who the conversation is with (the first person who wrote in it).
    contact_remote_id = models.CharField(max_length=255, blank=True)
    contact_handle = models.CharField(max_length=255, blank=True)
    contact_name = models.CharField(max_length=255, blank=True)
    contact_followers = models.IntegerField(null=True, blank=True)

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    priority = models.CharField(_("priority"), max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    tags = models.ManyToManyField(Tag, blank=True, related_name="conversations")
    language = models.CharField(_("language"), max_length=16, blank=True)
    sentiment = models.CharField(_("sentiment"), max_length=16, choices=Sentiment.choices, blank=True)

    message_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # The oldest received message not answered yet; null when nothing waits for a reply.
    awaiting_since = models.DateTimeField(null=True, blank=True)
    preview = models.CharField(max_length=300, blank=True)
    # Bumped by every change a person working the conversation must see (a new message, a reply,
    # an assignment): a reply sent from a view older than this is refused unless confirmed.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    closed_at = models.DateTimeField(null=True, blank=True)
    # A direct-message thread an agent opened from a comment or mention ("message privately"): the
    # message it started from, shown as context (the latest one when it was opened more than once).
    origin_message = models.ForeignKey("Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering: ClassVar = ["-last_message_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["channel", "kind", "thread_key"], name="inbox_conversation_unique_thread")
        ]
        indexes: ClassVar = [
            models.Index(fields=["workspace", "status", "-last_message_at"], name="inbox_conv_ws_status_last"),
            models.Index(fields=["workspace", "-last_message_at"], name="inbox_conv_ws_last"),
            models.Index(fields=["workspace", "assignee", "-last_message_at"], name="inbox_conv_ws_assignee_last"),
            models.Index(fields=["workspace", "updated_at"], name="inbox_conv_ws_updated"),
            models.Index(fields=["status", "snoozed_until"], name="inbox_conv_snoozed"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.channel_id}: {self.thread_key}"


class Message(models.Model):
    """A received comment, mention or direct message, or a reply sent from the inbox.

    Received messages are unique per ``(channel, remote_id)``: polling and webhooks may both deliver
    one, and it is stored once."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    remote_id = models.CharField(max_length=500, blank=True)
    direction = models.CharField(max_length=4, choices=Direction.choices, default=Direction.IN)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.TextField(blank=True)
    author_remote_id = models.CharField(max_length=255, blank=True)
    author_handle = models.CharField(max_length=255, blank=True)
    author_name = models.CharField(max_length=255, blank=True)
    author_followers = models.IntegerField(null=True, blank=True)
    in_reply_to = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField()  # when the network says it was written
    received_at = models.DateTimeField(default=now)
    language = models.CharField(max_length=16, blank=True)
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True)
    # Received messages: whether it counts towards response metrics (not spam we hid), and when
    # and by whom it was first answered.
    needs_response = models.BooleanField(default=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    hidden = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    liked = models.BooleanField(default=False)
    # Sent messages.
    sent_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    send_state = models.CharField(max_length=16, choices=SendState.choices, blank=True, default=SendState.RECEIVED)
    send_error = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    automatic = models.BooleanField(default=False)  # sent by a rule, not a person
    # How it goes out (the connector operation: reply, send_dm, private_reply), so a retry sends it
    # the same way; empty on older rows (decided from the conversation).
    send_method = models.CharField(max_length=16, blank=True)
    # Files sent with it, from the media library: [{asset_id, name, path, mime_type, alt_text, width,
    # height, duration_seconds}] (``path``: the original or the rendition made for the network).
    attachments = models.JSONField(default=_list, blank=True)
    raw = models.JSONField(default=_dict, blank=True)

    class Meta:
        ordering: ClassVar = ["created_at", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["channel", "remote_id"], condition=~Q(remote_id=""), name="inbox_message_unique_remote"
            )
        ]
        indexes: ClassVar = [
            models.Index(fields=["conversation", "created_at"], name="inbox_msg_conv_created"),
            models.Index(fields=["workspace", "direction", "created_at"], name="inbox_msg_ws_dir_created"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.kind} {self.remote_id or self.pk}"


class Note(models.Model):
    """An internal note on a conversation, seen only by the team; ``@email`` mentions notify."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    text = models.TextField()
    mentions = models.ManyToManyField(User, blank=True, related_name="+")
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.conversation_id}"


class Stream(models.TextChoices):
    COMMENTS = "comments", _("Comments")
    MENTIONS = "mentions", _("Mentions")
    DMS = "dms", _("Direct messages")


class Cursor(models.Model):
    """Where polling of one channel's stream got to, and how the last poll went."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    stream = models.CharField(max_length=16, choices=Stream.choices)
    cursor = models.TextField(blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["channel", "stream"], name="inbox_cursor_unique")]

    def __str__(self) -> str:
        return f"{self.channel_id}/{self.stream}"


class SavedReply(models.Model):
    """A reusable answer. ``{author_name}``, ``{author_handle}``, ``{brand_name}``, ``{agent_name}``
    and ``{channel_name}`` are filled in when it is used."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=120)
    text = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=16, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class SavedView(models.Model):
    """A named set of inbox filters; ``owner`` null means shared with the workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    filters = models.JSONField(default=_dict, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Rule(models.Model):
    """Ordered conditions → actions, applied to each received message (see ``rules.py``)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(_("name"), max_length=120)
    enabled = models.BooleanField(_("enabled"), default=True)
    match_all = models.BooleanField(_("all conditions must match"), default=True)
    conditions = models.JSONField(default=_list, blank=True)
    actions = models.JSONField(default=_list, blank=True)
    stop = models.BooleanField(_("stop here when it matches"), default=False)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class RuleHit(models.Model):
    """What a rule did to a message (shown on the conversation, kept for the audit)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(Rule, on_delete=models.SET_NULL, null=True, related_name="hits")
    rule_name = models.CharField(max_length=120)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="rule_hits")
    actions = models.JSONField(default=_list, blank=True)  # [{"action", "value", "result"}]
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.rule_name} on {self.message_id}"


class InboxSettings(models.Model):
    """Per workspace: business hours for the metrics, escalation, response guidelines, the brand's
    name for saved replies. A workspace without a row uses ``settings.defaults_for``."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="inbox_settings")
    # {"0": [["09:00", "17:00"]], …} by ISO weekday (Monday 0 … Sunday 6), in ``timezone``.
    business_hours = models.JSONField(default=_dict, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, blank=True)
    brand_name = models.CharField(_("brand name"), max_length=120, blank=True)
    guidelines = models.TextField(_("response guidelines"), blank=True)
    escalation_owner = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    escalate_negative = models.BooleanField(_("escalate negative messages"), default=True)
    crisis_keywords = models.JSONField(default=_list, blank=True)
    updated_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"inbox settings of {self.workspace_id}"


class Activity(models.TextChoices):
    VIEWING = "viewing", _("viewing")
    REPLYING = "replying", _("replying")


class Presence(models.Model):
    """Who has a conversation open, and who is typing a reply (refreshed by the page)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="presence")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    activity = models.CharField(max_length=16, choices=Activity.choices, default=Activity.VIEWING)
    seen_at = models.DateTimeField(default=now)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["conversation", "user"], name="inbox_presence_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.activity} {self.conversation_id}"


class WebhookDelivery(models.Model):
    """One accepted push from a network, kept to reject replays (same source and key again)."""

    source = models.CharField(max_length=32)
    key = models.CharField(max_length=128)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    received_at = models.DateTimeField(default=now)
    messages = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["source", "key"], name="inbox_webhook_unique")]
        indexes: ClassVar = [models.Index(fields=["received_at"], name="inbox_webhook_received")]

    def __str__(self) -> str:
        return f"{self.source}:{self.key}"

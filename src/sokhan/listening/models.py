"""Listening: topics (boolean queries), where mentions come from, the mentions themselves, what
each matched, hourly counts for charts and spike detection, alerts and crisis incidents.
See docs/listening.md."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sokhan.channels.models import Channel
from sokhan.core.models import User, Workspace


def _dict() -> dict[str, Any]:
    return {}


def _list() -> list[Any]:
    return []


class TopicKind(models.TextChoices):
    BRAND = "brand", _("Brand")
    PRODUCT = "product", _("Product")
    COMPETITOR = "competitor", _("Competitor")
    CAMPAIGN = "campaign", _("Campaign")


class Topic(models.Model):
    """A named boolean query (``sokhan.listening.query``) that mentions are matched against."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="listening_topics")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=TopicKind.choices, default=TopicKind.BRAND)
    query = models.TextField()
    enabled = models.BooleanField(default=True)
    # Matching mentions go to the inbox (always while an incident is open).
    route_to_inbox = models.BooleanField(default=False)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["workspace", "name"], name="listening_topic_name")]
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


class SourceKind(models.TextChoices):
    SEARCH = "search", _("Network search")
    HASHTAG = "hashtag", _("Hashtag timeline")
    CHATS = "chats", _("Bot's channels and groups")
    FEED = "feed", _("RSS or Atom feed")
    IMPORT = "import", _("Imported file")


class Source(models.Model):
    """Where mentions come from: a connected channel's search, hashtag timeline or bot chats, a
    news feed, or a one-off import. Polled on the worker with a cursor."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="listening_sources")
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    name = models.CharField(max_length=120)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # search: the network query; hashtag: the tag without '#'; feed: the URL.
    target = models.CharField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    cursor = models.TextField(blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


class Mention(models.Model):
    """One post, comment or article seen by listening. Deduplicated per workspace by ``dedupe_key``
    (the network and its id, or the link for feeds), whichever source saw it first."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="mentions")
    source = models.ForeignKey(Source, on_delete=models.SET_NULL, null=True, blank=True, related_name="mentions")
    dedupe_key = models.CharField(max_length=300)
    network = models.CharField(max_length=32, blank=True)
    remote_id = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    author_handle = models.CharField(max_length=200, blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    author_followers = models.IntegerField(null=True, blank=True)  # the reach proxy
    language = models.CharField(max_length=16, blank=True)
    text = models.TextField()
    published_at = models.DateTimeField(db_index=True)
    sentiment = models.CharField(max_length=16, blank=True)  # as the model labelled it
    sentiment_score = models.FloatField(null=True, blank=True)
    # A person's correction of the label; kept for metrics and retraining.
    corrected_sentiment = models.CharField(max_length=16, blank=True)
    corrected_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    corrected_at = models.DateTimeField(null=True, blank=True)
    topics = models.ManyToManyField(Topic, through="MentionTopic", related_name="mentions")
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["workspace", "dedupe_key"], name="mention_dedupe")]
        indexes: ClassVar = [models.Index(fields=["workspace", "-published_at"], name="mention_ws_time")]

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def label(self) -> str:
        """The label that counts: the correction if there is one."""
        return self.corrected_sentiment or self.sentiment


class MentionTopic(models.Model):
    """A mention matched a topic. ``published_at`` is copied so per-topic time ranges need no join."""

    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="topic_links")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="mention_links")
    published_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["mention", "topic"], name="mention_topic_once")]
        indexes: ClassVar = [models.Index(fields=["topic", "-published_at"], name="mention_topic_time")]

    def __str__(self) -> str:
        return f"{self.mention_id} → {self.topic_id}"


class HourlyCount(models.Model):
    """Mentions of a topic per UTC hour, by sentiment: what charts, share of voice and spike
    detection read, kept up to date by ingest."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="hourly")
    hour = models.DateTimeField()
    total = models.IntegerField(default=0)
    positive = models.IntegerField(default=0)
    neutral = models.IntegerField(default=0)
    negative = models.IntegerField(default=0)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["topic", "hour"], name="hourly_topic_hour")]

    def __str__(self) -> str:
        return f"{self.topic_id} {self.hour:%Y-%m-%d %H}: {self.total}"


class AlertKind(models.TextChoices):
    VOLUME = "volume", _("Volume spike")
    NEGATIVE = "negative", _("Negative share spike")


class Alert(models.Model):
    """An hour of a topic whose volume or negative share was improbably high for that hour of the
    week. ``mention_ids``: the top mentions behind it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="listening_alerts")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    hour = models.DateTimeField()
    observed = models.FloatField()
    expected = models.FloatField()
    probability = models.FloatField()  # of seeing at least ``observed`` if nothing unusual happened
    mention_ids = models.JSONField(default=_list)
    created_at = models.DateTimeField(default=now)
    acknowledged_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["topic", "kind", "hour"], name="alert_once_per_hour"),
        ]
        ordering: ClassVar = ["-hour", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.topic_id} {self.hour:%Y-%m-%d %H}"


class DestinationKind(models.TextChoices):
    IN_APP = "in_app", _("In the app")
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Outbound webhook")
    BOT = "bot", _("Telegram or Bale bot message")


class AlertDestination(models.Model):
    """Where a workspace's alerts go besides the alerts page. ``target``: an email address, a
    webhook URL, or a chat id for the bot channel ``channel``."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="alert_destinations")
    kind = models.CharField(max_length=16, choices=DestinationKind.choices)
    target = models.CharField(max_length=500, blank=True)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"{self.kind}: {self.target}"


class IncidentStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("incident status", "Open")
    CLOSED = "closed", pgettext_lazy("incident status", "Closed")


class Incident(models.Model):
    """Crisis mode: while open, publishing is paused and matching mentions reach the inbox at high
    priority. Closing it writes ``postmortem``."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="incidents")
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.OPEN)
    owner = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    opened_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    topics = models.ManyToManyField(Topic, blank=True, related_name="incidents")
    alert = models.ForeignKey(Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    opened_at = models.DateTimeField(default=now)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Was publishing already paused when it opened? Then closing does not resume it.
    paused_before = models.BooleanField(default=False)
    checklist = models.JSONField(default=_list)  # [{"item": str, "done": bool, "by": id, "at": iso}]
    postmortem = models.TextField(blank=True)
    summary = models.JSONField(default=_dict)

    class Meta:
        ordering: ClassVar = ["-opened_at"]

    def __str__(self) -> str:
        return self.title


class IncidentEvent(models.Model):
    """One line of an incident's timeline."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=now)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=32)  # opened, note, statement, checklist, mention, closed …
    text = models.TextField(blank=True)
    data = models.JSONField(default=_dict)

    class Meta:
        ordering: ClassVar = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"


class HoldingStatement(models.Model):
    """A prepared first answer for a crisis, per language, ready to adapt and send."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="holding_statements")
    name = models.CharField(max_length=120)
    language = models.CharField(max_length=16, default="fa")
    text = models.TextField()
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name

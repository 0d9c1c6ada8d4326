"""The media library: one ``Asset`` per distinct file (by SHA-256) in a workspace, and the cached
``Rendition``s made from it to fit a network's limits. Files live under
``MEDIA_ROOT/<workspace id>/``; rows hold paths relative to ``MEDIA_ROOT``."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from sokhan.core.models import User, Workspace


class AssetKind(models.TextChoices):
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")


class Asset(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="media_assets")
    kind = models.CharField(max_length=8, choices=AssetKind.choices)
    mime_type = models.CharField(max_length=64)  # sniffed from the content, never the client's claim
    file = models.CharField(max_length=255)  # relative to MEDIA_ROOT
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)  # as displayed (EXIF orientation applied)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)  # None: unknown (no ffprobe) or an image
    has_metadata = models.BooleanField(default=False)  # EXIF present: stripped in every rendition
    alt_text = models.TextField(_("alt text"), blank=True)
    uploaded_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ("-created_at", "-pk")
        constraints = [models.UniqueConstraint(fields=("workspace", "sha256"), name="media_asset_unique_checksum")]

    def __str__(self) -> str:
        return self.original_name or self.sha256[:12]

    @property
    def path(self) -> Path:
        return Path(settings.MEDIA_ROOT) / self.file

    @property
    def is_video(self) -> bool:
        return self.kind == AssetKind.VIDEO


class Rendition(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="renditions")
    key = models.CharField(max_length=64)  # hash of the limits (and recipe version) it was made for
    file = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("asset", "key"), name="media_rendition_unique_key")]

    def __str__(self) -> str:
        return f"{self.asset_id}:{self.key[:12]}"

    @property
    def path(self) -> Path:
        return Path(settings.MEDIA_ROOT) / self.file

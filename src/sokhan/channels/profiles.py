"""Profile history: a snapshot row only when something changed, else the last one is seen again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from sokhan.channels.models import Channel, ProfileSnapshot
from sokhan.networks.types import Profile

COMPARED = (
    "display_name",
    "handle",
    "bio",
    "url",
    "links",
    "avatar_url",
    "header_url",
    "followers",
    "following",
    "posts",
)


def _values(profile: Profile) -> dict[str, Any]:
    return {
        "display_name": profile.display_name[:300],
        "handle": profile.handle[:255],
        "bio": profile.bio,
        "url": profile.url[:1000],
        "links": list(profile.links),
        "avatar_url": profile.avatar_url[:1000],
        "header_url": profile.header_url[:1000],
        "followers": profile.followers,
        "following": profile.following,
        "posts": profile.posts,
    }


@transaction.atomic
def snapshot_record(channel: Channel, profile: Profile, *, at: datetime) -> tuple[ProfileSnapshot, bool]:
    """Store the profile; returns (snapshot, created). An unchanged profile bumps ``last_seen_at``."""
    values = _values(profile)
    latest = ProfileSnapshot.objects.select_for_update().filter(channel=channel).order_by("-taken_at", "-id").first()
    if latest is not None and all(getattr(latest, name) == values[name] for name in COMPARED):
        latest.last_seen_at = at
        latest.save(update_fields=["last_seen_at"])
        return latest, False
    snapshot = ProfileSnapshot.objects.create(
        workspace_id=channel.workspace_id, channel=channel, taken_at=at, last_seen_at=at, **values
    )
    return snapshot, True


def latest_snapshot(channel: Channel) -> ProfileSnapshot | None:
    return ProfileSnapshot.objects.filter(channel=channel).order_by("-taken_at", "-id").first()


def snapshot_changes(older: ProfileSnapshot | None, newer: ProfileSnapshot) -> list[str]:
    """Names of the fields that differ, for the history page."""
    if older is None:
        return []
    return [name for name in COMPARED if getattr(older, name) != getattr(newer, name)]

"""Profile consistency across a workspace's channels, from each channel's latest snapshot.

Checks: the brand name appears in the display name; every profile carries the same link (the
workspace's link, or else the one most profiles use); the bio holds the workspace's keywords; an
avatar is set. Image size rules come from each connector's declared media limits.
Text is compared after Persian normalisation (ي/ی, ك/ک, digits, ZWNJ) and case folding.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from sokhan.channels.calls import connector_class
from sokhan.channels.models import Channel, ChannelStatus, ProfileSnapshot, ProfileStandard
from sokhan.core.errors import DomainError
from sokhan.core.models import Workspace
from sokhan.core.text import fold_for_match


@dataclass(frozen=True)
class Finding:
    check: str  # brand | link | keywords | avatar | images | profile
    ok: bool
    message: str


@dataclass
class ChannelReport:
    channel: Channel
    snapshot: ProfileSnapshot | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def problems(self) -> int:
        return sum(1 for f in self.findings if not f.ok)


@dataclass
class ConsistencyReport:
    brand_name: str
    link: str
    link_source: str  # "standard" | "majority" | ""
    bio_keywords: list[str]
    channels: list[ChannelReport]

    @property
    def problems(self) -> int:
        return sum(c.problems for c in self.channels)

    def as_json(self) -> dict[str, Any]:
        return {
            "brand_name": self.brand_name,
            "link": self.link,
            "link_source": self.link_source,
            "bio_keywords": self.bio_keywords,
            "problems": self.problems,
            "channels": [
                {
                    "channel_id": c.channel.pk,
                    "network": c.channel.network,
                    "name": c.channel.display_name,
                    "ok": c.ok,
                    "findings": [{"check": f.check, "ok": f.ok, "message": f.message} for f in c.findings],
                }
                for c in self.channels
            ],
        }


def _fold(text: str) -> str:
    return fold_for_match(text or "")


def normalize_link(url: str) -> str:
    value = (url or "").strip().lower()
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    return value.removeprefix("www.").rstrip("/")


def _links(snapshot: ProfileSnapshot) -> set[str]:
    found = {normalize_link(snapshot.url)} if snapshot.url else set()
    found.update(normalize_link(str(link)) for link in snapshot.links or [] if link)
    return found


def _image_rule(channel: Channel) -> Finding | None:
    try:
        media = connector_class(channel.network).limits.media
    except DomainError:
        return None
    parts: list[str] = []
    if media.min_image_pixels:
        parts.append(
            _("at least %(w)s×%(h)s pixels") % {"w": media.min_image_pixels[0], "h": media.min_image_pixels[1]}
        )
    if media.max_image_pixels:
        parts.append(_("at most %(w)s×%(h)s pixels") % {"w": media.max_image_pixels[0], "h": media.max_image_pixels[1]})
    if media.max_image_bytes:
        parts.append(_("at most %(mb)s MB") % {"mb": round(media.max_image_bytes / 1_000_000, 1)})
    if not parts:
        return None
    return Finding("images", True, _("Images here: %(rules)s.") % {"rules": ", ".join(parts)})


def consistency_report(workspace: Workspace) -> ConsistencyReport:
    standard = ProfileStandard.objects.filter(workspace=workspace).first()
    brand = standard.brand_name if standard else ""
    keywords = list(standard.bio_keywords) if standard else []
    channels = list(
        Channel.objects.filter(workspace=workspace).exclude(status=ChannelStatus.DISCONNECTED).order_by("network", "pk")
    )
    latest: dict[int, ProfileSnapshot] = {}
    for row in ProfileSnapshot.objects.filter(workspace=workspace, channel__in=channels).order_by(
        "channel_id", "-taken_at", "-id"
    ):
        latest.setdefault(row.channel_id, row)

    link, source = (standard.link, "standard") if standard and standard.link else ("", "")
    if not link:
        counts = Counter(n for s in latest.values() for n in _links(s))
        if counts:
            link, source = counts.most_common(1)[0][0], "majority"

    reports: list[ChannelReport] = []
    for channel in channels:
        snapshot = latest.get(channel.pk)
        report = ChannelReport(channel=channel, snapshot=snapshot)
        reports.append(report)
        if snapshot is None:
            report.findings.append(Finding("profile", False, _("The profile has not been read yet: check now.")))
            continue
        if brand:
            if _fold(brand) in _fold(snapshot.display_name):
                report.findings.append(Finding("brand", True, _("The name includes the brand name.")))
            else:
                report.findings.append(
                    Finding("brand", False, _("The name does not include “%(brand)s”.") % {"brand": brand})
                )
        if link:
            wanted = normalize_link(link)
            if wanted in _links(snapshot) or wanted in _fold(snapshot.bio):
                report.findings.append(Finding("link", True, _("The profile links to %(link)s.") % {"link": link}))
            else:
                report.findings.append(
                    Finding("link", False, _("The profile does not link to %(link)s.") % {"link": link})
                )
        if keywords:
            bio = _fold(snapshot.bio)
            missing = [k for k in keywords if _fold(k) not in bio]
            if missing:
                report.findings.append(
                    Finding("keywords", False, _("The bio lacks: %(words)s") % {"words": ", ".join(missing)})
                )
            else:
                report.findings.append(Finding("keywords", True, _("The bio has every keyword.")))
        if snapshot.avatar_url:
            report.findings.append(Finding("avatar", True, _("A profile picture is set.")))
        else:
            report.findings.append(Finding("avatar", False, _("No profile picture.")))
        rule = _image_rule(channel)
        if rule is not None:
            report.findings.append(rule)
    return ConsistencyReport(brand_name=brand, link=link, link_source=source, bio_keywords=keywords, channels=reports)

"""What the composer shows next to each channel's variant: the length counted the network's way,
blocking problems and warnings (limits, brand rules, alt text), the hashtags, mentions and links
found, and a preview of the text as the network would show it (entities highlighted, the part over
the limit marked, long text folded where the network folds it).

Pure reads: nothing here writes, so the composer can call it on every keystroke.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import regex  # type: ignore[import-untyped]  # no types-regex in the venv; used for \X only
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sokhan.channels.calls import connector_class
from sokhan.channels.models import Channel
from sokhan.core.errors import DomainError
from sokhan.core.models import Workspace
from sokhan.media.models import Asset
from sokhan.media.renditions import CannotFit, rendition_for
from sokhan.networks.base import Connector
from sokhan.networks.types import Capability, Limits, MediaFile, TextCounting
from sokhan.publishing import rules as brand
from sokhan.publishing.brand_rules import brand_rules_for, variant_findings
from sokhan.publishing.extract import extract_entities
from sokhan.publishing.length import count_text
from sokhan.publishing.services import TargetInput, validate_variant
from sokhan.publishing.twitter_text import parse_tweet
from sokhan.publishing.validation import validate_text

# Where a network's feed cuts long text behind a "more" link (characters, approximate).
FOLD_AT: dict[str, int] = {"linkedin": 210, "instagram": 125, "facebook": 480, "threads": 500}

COUNTING_UNITS: dict[TextCounting, Any] = {
    TextCounting.GRAPHEMES: gettext_lazy("characters"),
    TextCounting.CODE_POINTS: gettext_lazy("code points"),
    TextCounting.UTF16: gettext_lazy("UTF-16 units"),
    TextCounting.UTF8_BYTES: gettext_lazy("bytes"),
    TextCounting.TWITTER_WEIGHTED: gettext_lazy("weighted characters (X counts links as 23, emoji as 2)"),
}

_GRAPHEME = regex.compile(r"\X")


def brand_rules(workspace: Workspace) -> brand.BrandRules:
    """The workspace's brand rules as saved on its brand rules page (none saved: no rules)."""
    return brand_rules_for(workspace)


@dataclass(frozen=True)
class Segment:
    """A run of preview text: plain text or an entity, maybe over the limit or behind the fold."""

    kind: str  # "text", "hashtag", "mention", "cashtag", "url"
    text: str
    over: bool = False
    folded: bool = False


@dataclass(frozen=True)
class Finding:
    message: str
    blocking: bool


@dataclass
class ChannelCheck:
    """One channel's verdict on its variant."""

    channel: Channel
    network_name: str
    unit: str
    length: int
    max: int
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rule_errors: list[str] = field(default_factory=list)
    rule_warnings: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    thread: list[list[Segment]] = field(default_factory=list)
    folded: bool = False
    title: str = ""
    link: str = ""
    first_comment: str = ""
    media: list[Asset] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        return bool(self.errors or self.rule_errors)

    @property
    def over(self) -> bool:
        return self.length > self.max


def connector_of(channel: Channel) -> type[Connector] | None:
    try:
        return connector_class(channel.network)
    except DomainError:
        return None


def supports_title(cls: type[Connector]) -> bool:
    return cls.limits.title_max is not None


def supports_thread(cls: type[Connector]) -> bool:
    return cls.has(Capability.PUBLISH_THREAD) and cls.limits.max_thread_parts > 1


def supports_first_comment(cls: type[Connector]) -> bool:
    return cls.has(Capability.FIRST_COMMENT)


def supports_media(cls: type[Connector]) -> bool:
    return cls.limits.media.max_count > 0


# ------------------------------------------------------------------ media


def media_entry(asset: Asset, cls: type[Connector]) -> dict[str, Any]:
    """The target's ``media`` item for ``asset`` on ``cls``'s network: the rendition that fits the
    network (made once, then cached) when the original does not, else the original file."""
    file: MediaFile | None = None
    try:
        file = rendition_for(asset, cls.limits.media, network=cls.name)
    except CannotFit:
        file = None  # the original goes in; validation names what cannot be fixed
    except OSError:
        file = None
    if file is None:
        file = MediaFile(
            path=asset.path,
            mime_type=asset.mime_type,
            alt_text=asset.alt_text,
            width=asset.width,
            height=asset.height,
            duration_seconds=asset.duration_seconds,
        )
    return {
        "asset_id": asset.pk,
        "path": str(file.path),
        "mime_type": file.mime_type,
        "alt_text": file.alt_text,
        "width": file.width,
        "height": file.height,
        "duration_seconds": file.duration_seconds,
    }


# ------------------------------------------------------------------ preview text


def _fit_index(text: str, limits: Limits, maximum: int) -> int:
    """How many code points of ``text`` fit within ``maximum`` as the network counts."""
    if limits.counting is TextCounting.TWITTER_WEIGHTED:
        parsed = parse_tweet(text)
        if parsed.weighted_length <= maximum:
            return len(text)
        units = 0
        for index, char in enumerate(text):
            units += 2 if ord(char) > 0xFFFF else 1
            if units > parsed.valid_range_end + 1:
                return index
        return len(text)
    total = 0
    position = 0
    for cluster in _GRAPHEME.findall(text):
        total += 1 if limits.counting is TextCounting.GRAPHEMES else count_text(cluster, limits.counting)
        if total > maximum:
            return position
        position += len(cluster)
    return len(text)


def _fold_index(text: str, at: int | None) -> int | None:
    if at is None:
        return None
    clusters = _GRAPHEME.findall(text)
    if len(clusters) <= at:
        return None
    return len("".join(clusters[:at]))


def preview_segments(text: str, *, fit: int, fold: int | None = None) -> list[Segment]:
    """``text`` cut into plain and entity runs, each marked over the limit (from ``fit``) or
    behind the fold (from ``fold``)."""
    spans = [(e.start, e.end, e.kind) for e in extract_entities(text)]
    cuts = {0, len(text), fit}
    if fold is not None:
        cuts.add(fold)
    for start, end, _kind in spans:
        cuts.update((start, end))
    points = sorted(c for c in cuts if 0 <= c <= len(text))
    segments: list[Segment] = []
    for start, end in itertools.pairwise(points):
        if start == end:
            continue
        kind = next((k for s, e, k in spans if s <= start and end <= e), "text")
        segments.append(Segment(kind, text[start:end], over=start >= fit, folded=fold is not None and start >= fold))
    return segments


# ------------------------------------------------------------------ the check


def _rule_findings(variant: TargetInput, rules: brand.BrandRules, sponsored: bool) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    warnings: list[str] = []
    found = variant_findings(
        variant.text, rules=rules, sponsored=sponsored, thread=variant.thread, first_comment=variant.first_comment
    )
    for finding in found:
        (errors if finding.severity == "error" else warnings).append(finding.message)
    return errors, warnings


def check_variant(
    channel: Channel,
    variant: TargetInput,
    *,
    rules: brand.BrandRules,
    sponsored: bool = False,
    assets: Sequence[Asset] = (),
) -> ChannelCheck:
    """Everything the composer shows for one channel's variant."""
    cls = connector_of(channel)
    if cls is None:
        return ChannelCheck(
            channel=channel,
            network_name=channel.network,
            unit="",
            length=len(variant.text),
            max=0,
            errors=[_("Sokhan has no connector for this network any more.")],
        )
    counted = validate_text(variant.text, cls.limits, network_name=cls.name, allow_empty=True)
    result = ChannelCheck(
        channel=channel,
        network_name=cls.name,
        unit=str(COUNTING_UNITS.get(cls.limits.counting, "")),
        length=counted.length,
        max=counted.max,
        title=variant.title,
        link=variant.link,
        first_comment=variant.first_comment,
        media=list(assets),
    )
    result.errors = validate_variant(channel, variant)
    for asset in assets:
        if not asset.alt_text:
            result.warnings.append(
                _("%(name)s has no alt text; people who cannot see it will not know what it shows.") % {"name": asset}
            )
    result.rule_errors, result.rule_warnings = _rule_findings(variant, rules, sponsored)
    entities = extract_entities("\n".join([variant.text, *variant.thread]))
    result.hashtags = list(dict.fromkeys(e.text for e in entities if e.kind == "hashtag"))
    result.mentions = list(dict.fromkeys(e.text for e in entities if e.kind == "mention"))
    result.links = list(dict.fromkeys(e.text for e in entities if e.kind == "url"))
    fold = _fold_index(variant.text, FOLD_AT.get(cls.key))
    result.folded = fold is not None
    result.segments = preview_segments(variant.text, fit=_fit_index(variant.text, cls.limits, counted.max), fold=fold)
    result.thread = [
        preview_segments(part, fit=_fit_index(part, cls.limits, cls.limits.max_text)) for part in variant.thread
    ]
    return result

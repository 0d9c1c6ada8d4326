"""Check a post against a network's ``Limits`` before it is scheduled or published.

Every error is a sentence a person can act on: it names the network, what is wrong and by how
much, in the unit the network counts in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sokhan.core.text import count_graphemes
from sokhan.networks.types import Limits, MediaFile, TextCounting
from sokhan.publishing.length import count_text
from sokhan.publishing.twitter_text import parse_tweet


@dataclass(frozen=True)
class ValidationResult:
    length: int
    max: int
    valid: bool
    errors: list[str] = field(default_factory=list)

    def as_json(self, network: str) -> dict[str, object]:
        return {"network": network, "length": self.length, "max": self.max, "valid": self.valid, "errors": self.errors}


@dataclass(frozen=True)
class MediaValidationResult:
    valid: bool
    errors: list[str] = field(default_factory=list)


def _units(counting: TextCounting, network_name: str) -> tuple[str, str]:
    """The unit of a count and how the network counts, for messages."""
    match counting:
        case TextCounting.GRAPHEMES:
            return "characters", f"counted as {network_name} counts them: each emoji or letter with its marks is one"
        case TextCounting.CODE_POINTS:
            return "characters", f"Unicode code points, as {network_name} counts them: one emoji can take several"
        case TextCounting.UTF16:
            return "characters", f"UTF-16 code units, as {network_name} counts them: most emoji take 2"
        case TextCounting.UTF8_BYTES:
            return "bytes", f"UTF-8 bytes, as {network_name} counts them: a Persian letter takes 2, an emoji 4 or more"
        case TextCounting.TWITTER_WEIGHTED:
            return "characters", (
                f"weighted as {network_name} counts them: each link counts as 23, each emoji and CJK character as 2"
            )
    return "characters", counting.value


def validate_text(
    text: str,
    limits: Limits,
    *,
    network_name: str,
    allow_empty: bool = False,
    max_length: int | None = None,
) -> ValidationResult:
    """Is ``text`` within ``limits.max_text`` (or ``max_length``, e.g. for a comment) as counted there?

    ``allow_empty`` accepts an empty text (a post that is only media).
    """
    maximum = limits.max_text if max_length is None else max_length
    errors: list[str] = []
    if limits.counting is TextCounting.TWITTER_WEIGHTED:
        parsed = parse_tweet(text)
        length = parsed.weighted_length
        if parsed.has_invalid_characters:
            errors.append(
                f"Text contains characters {network_name} rejects (U+FFFE, U+FEFF byte-order mark or U+FFFF); "
                "remove them."
            )
    else:
        length = count_text(text, limits.counting)
    if not text.strip() and not allow_empty:
        errors.append("Text is empty.")
    if length > maximum:
        unit, how = _units(limits.counting, network_name)
        errors.append(f"Text is {length} of {maximum} {unit} ({how}); remove {length - maximum}.")
    return ValidationResult(length=length, max=maximum, valid=not errors, errors=errors)


def _size(value: int) -> str:
    if value >= 1024 * 1024:
        return f"{value / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    if value >= 1024:
        return f"{value / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{value} bytes"


def _ratio(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def validate_media(
    media: Sequence[MediaFile], limits: Limits, *, network_name: str = "this network"
) -> MediaValidationResult:
    """Counts, file types, sizes, pixel dimensions, aspect ratio, video duration and alt text.

    Dimensions and durations are checked when the ``MediaFile`` carries them; sizes are read
    from the file on disk.
    """
    rules = limits.media
    errors: list[str] = []
    if not media:
        return MediaValidationResult(valid=True)
    if rules.max_count == 0:
        return MediaValidationResult(valid=False, errors=[f"{network_name} does not accept media in a post."])
    if len(media) > rules.max_count:
        errors.append(
            f"{network_name} accepts at most {rules.max_count} media files in a post; this one has {len(media)}."
        )
    kinds = {"video" if item.is_video else "image" for item in media if item.mime_type.startswith(("image/", "video/"))}
    if len(kinds) > 1 and not rules.mixed_types:
        errors.append(f"{network_name} does not accept images and videos in the same post.")
    for item in media:
        errors.extend(_check_file(item, limits, network_name))
    return MediaValidationResult(valid=not errors, errors=errors)


def _check_file(item: MediaFile, limits: Limits, network_name: str) -> list[str]:
    media = limits.media
    name = item.path.name or str(item.path)
    errors: list[str] = []
    if item.mime_type.startswith("video/"):
        kind, allowed, max_bytes = "video", media.video_types, media.max_video_bytes
    elif item.mime_type.startswith("image/"):
        kind, allowed, max_bytes = "image", media.image_types, media.max_image_bytes
    else:
        return [f"{name}: {item.mime_type or 'this file type'} is neither an image nor a video."]
    if not allowed:
        errors.append(f"{name}: {network_name} does not accept {kind}s.")
    elif item.mime_type not in allowed:
        errors.append(f"{name}: {network_name} does not accept {item.mime_type}; use {', '.join(allowed)}.")
    try:
        size = item.path.stat().st_size
    except OSError:
        errors.append(f"{name}: the file cannot be read.")
    else:
        if max_bytes is not None and size > max_bytes:
            errors.append(f"{name}: {_size(size)} is over the {_size(max_bytes)} {network_name} allows for a {kind}.")
    width, height = item.width, item.height
    if kind == "image" and width is not None and height is not None:
        if media.max_image_pixels is not None:
            max_w, max_h = media.max_image_pixels
            if width > max_w or height > max_h:
                errors.append(
                    f"{name}: {width}×{height} pixels is larger than {network_name} allows ({max_w}×{max_h} at most)."
                )
        if media.min_image_pixels is not None:
            min_w, min_h = media.min_image_pixels
            if width < min_w or height < min_h:
                errors.append(
                    f"{name}: {width}×{height} pixels is smaller than {network_name} allows ({min_w}×{min_h} at least)."
                )
    if media.aspect_ratio is not None and width and height:
        low, high = media.aspect_ratio
        ratio = width / height
        if not low <= ratio <= high:
            errors.append(
                f"{name}: aspect ratio {_ratio(ratio)} (width ÷ height) is outside the "
                f"{_ratio(low)}–{_ratio(high)} {network_name} allows."
            )
    if kind == "video" and item.duration_seconds is not None:
        seconds = item.duration_seconds
        if media.max_video_seconds is not None and seconds > media.max_video_seconds:
            errors.append(
                f"{name}: the video is {_ratio(seconds)} s long; {network_name} allows "
                f"{_ratio(media.max_video_seconds)} s at most."
            )
        if media.min_video_seconds is not None and seconds < media.min_video_seconds:
            errors.append(
                f"{name}: the video is {_ratio(seconds)} s long; {network_name} needs "
                f"{_ratio(media.min_video_seconds)} s at least."
            )
    if media.alt_text_max is not None and item.alt_text:
        alt_length = count_graphemes(item.alt_text)
        if alt_length > media.alt_text_max:
            errors.append(
                f"{name}: the alt text is {alt_length} of {media.alt_text_max} characters; "
                f"remove {alt_length - media.alt_text_max}."
            )
    return errors

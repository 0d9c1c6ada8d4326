"""Renditions: a version of an asset that fits one network's ``MediaLimits``.

``assess`` says whether the original fits as-is, what a rendition would change, and what cannot be
fixed. ``rendition_for`` makes the rendition once per (asset, limits) and caches it on disk and in a
``Rendition`` row. Images: EXIF orientation applied then all metadata stripped, converted to an
accepted type (transparency flattened on white for JPEG), padded (default) or cropped into the
allowed aspect ratio, downscaled to the maximum pixels, re-encoded at falling quality (then smaller
sizes) until it fits the byte limit. Videos: transcoded by ffmpeg to MP4 (H.264/AAC), with a bitrate
chosen to fit the byte limit. Sokhan never enlarges images and never cuts or lengthens videos.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from sokhan.core.errors import DomainError
from sokhan.core.text import count_graphemes
from sokhan.media.models import Asset, Rendition
from sokhan.media.probe import EXTENSIONS, probe_video
from sokhan.networks.types import MediaFile, MediaLimits

RECIPE_VERSION = 1  # bump when the output of a recipe changes: old cached renditions are not reused
QUALITIES = (90, 85, 80, 75, 70, 60, 50, 40)
SHRINK_STEP = 0.8
SHRINK_ROUNDS = 10
PAD_COLOUR = (255, 255, 255)
WRITABLE = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
AUDIO_BITS_PER_SECOND = 128_000
MIN_VIDEO_BITS_PER_SECOND = 150_000
FFMPEG_TIMEOUT_SECONDS = 3600
EPSILON = 1e-9


class Fit(StrEnum):
    PAD = "pad"  # add white bars: nothing of the picture is lost (the default)
    CROP = "crop"  # cut the centre out: no bars, edges are lost


class CannotFit(DomainError):
    status = 422
    code = "cannot_fit"


@dataclass(frozen=True)
class Assessment:
    network: str
    fits_as_is: bool
    changes: tuple[str, ...] = ()  # what a rendition would do
    problems: tuple[str, ...] = ()  # what Sokhan cannot fix
    notes: tuple[str, ...] = field(default=())  # e.g. alt text too long: the person must edit it

    @property
    def possible(self) -> bool:
        return not self.problems


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{math.ceil(n / 1024)} KB"


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _type_name(mime: str) -> str:
    return EXTENSIONS.get(mime, mime).upper()


# ---------------------------------------------------------------- assessment


def assess(asset: Asset, limits: MediaLimits, network: str = "", fit: Fit = Fit.PAD) -> Assessment:
    name = network or _("this network")
    notes: list[str] = []
    if limits.alt_text_max is not None and asset.alt_text:
        length = count_graphemes(asset.alt_text)
        if length > limits.alt_text_max:
            notes.append(
                _("The alt text is %(n)s characters; %(network)s allows at most %(max)s.")
                % {"n": length, "network": name, "max": limits.alt_text_max}
            )
    if asset.is_video:
        changes, problems = _assess_video(asset, limits, name)
    else:
        changes, problems = _assess_image(asset, limits, name, fit)
    return Assessment(
        network=name,
        fits_as_is=not changes and not problems,
        changes=tuple(changes),
        problems=tuple(problems),
        notes=tuple(notes),
    )


def _assess_image(asset: Asset, limits: MediaLimits, name: str, fit: Fit) -> tuple[list[str], list[str]]:
    changes: list[str] = []
    problems: list[str] = []
    if not limits.image_types:
        return [], [_("%(network)s does not accept images.") % {"network": name}]
    target = _output_type(asset.mime_type, limits.image_types)
    if target is None:
        types = ", ".join(_type_name(t) for t in limits.image_types)
        problems.append(
            _("%(network)s accepts only %(types)s images, which Sokhan cannot write.")
            % {"network": name, "types": types}
        )
    elif target != asset.mime_type:
        changes.append(
            _("Convert %(source)s to %(target)s.")
            % {"source": _type_name(asset.mime_type), "target": _type_name(target)}
        )
    if asset.has_metadata:
        changes.append(_("Remove the photo's metadata (EXIF), keeping its orientation."))
    width, height = asset.width or 0, asset.height or 0
    if limits.min_image_pixels is not None:
        min_w, min_h = limits.min_image_pixels
        out_w, out_h = _planned_size(width, height, limits, fit)
        if out_w < min_w or out_h < min_h:
            problems.append(
                _(
                    "The image is %(w)s×%(h)s px; %(network)s needs at least %(min_w)s×%(min_h)s px "
                    "and Sokhan does not enlarge images."
                )
                % {"w": width, "h": height, "network": name, "min_w": min_w, "min_h": min_h}
            )
    if limits.aspect_ratio is not None and width and height:
        low, high = limits.aspect_ratio
        if not low - EPSILON <= width / height <= high + EPSILON:
            message = (
                _("Pad the image with white bars into the %(low)s–%(high)s aspect ratio (width ÷ height).")
                if fit is Fit.PAD
                else _("Crop the image into the %(low)s–%(high)s aspect ratio (width ÷ height).")
            )
            changes.append(message % {"low": _num(low), "high": _num(high)})
    if limits.max_image_pixels is not None:
        max_w, max_h = limits.max_image_pixels
        if width > max_w or height > max_h:
            changes.append(_("Downscale to fit %(w)s×%(h)s px.") % {"w": max_w, "h": max_h})
    if limits.max_image_bytes is not None and asset.size_bytes > limits.max_image_bytes:
        changes.append(
            _("Re-encode from %(size)s to at most %(max)s.")
            % {"size": _size(asset.size_bytes), "max": _size(limits.max_image_bytes)}
        )
    return changes, problems


def _planned_size(width: int, height: int, limits: MediaLimits, fit: Fit) -> tuple[int, int]:
    """The size a rendition will have before any byte-driven shrinking (padding can make a small
    image big enough; cropping can make it too small)."""
    if not width or not height:
        return width, height
    if limits.aspect_ratio is not None:
        low, high = limits.aspect_ratio
        ratio = width / height
        if ratio > high:
            width, height = (math.floor(height * high), height) if fit is Fit.CROP else (width, math.ceil(width / high))
        elif ratio < low:
            width, height = (width, math.floor(width / low)) if fit is Fit.CROP else (math.ceil(height * low), height)
    if limits.max_image_pixels is not None:
        max_w, max_h = limits.max_image_pixels
        scale = min(1.0, max_w / width, max_h / height)
        width, height = round(width * scale), round(height * scale)
    return width, height


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def _assess_video(asset: Asset, limits: MediaLimits, name: str) -> tuple[list[str], list[str]]:
    changes: list[str] = []
    problems: list[str] = []
    if not limits.video_types:
        return [], [_("%(network)s does not accept videos.") % {"network": name}]
    seconds = asset.duration_seconds
    if seconds is None:
        if limits.max_video_seconds is not None or limits.min_video_seconds is not None:
            problems.append(
                _(
                    "The video's length is unknown (ffprobe is not installed), "
                    "so Sokhan cannot check it against %(network)s's limits."
                )
                % {"network": name}
            )
    else:
        if limits.max_video_seconds is not None and seconds > limits.max_video_seconds + EPSILON:
            problems.append(
                _("The video is %(s)s s; %(network)s allows at most %(max)s s and Sokhan does not cut videos.")
                % {"s": _num(seconds), "network": name, "max": _num(limits.max_video_seconds)}
            )
        if limits.min_video_seconds is not None and seconds < limits.min_video_seconds - EPSILON:
            problems.append(
                _("The video is %(s)s s; %(network)s needs at least %(min)s s and Sokhan does not lengthen videos.")
                % {"s": _num(seconds), "network": name, "min": _num(limits.min_video_seconds)}
            )
    if asset.mime_type not in limits.video_types:
        changes.append(_("Convert %(source)s to MP4 (H.264).") % {"source": _type_name(asset.mime_type)})
    if limits.max_video_bytes is not None and asset.size_bytes > limits.max_video_bytes:
        changes.append(
            _("Re-encode from %(size)s to at most %(max)s.")
            % {"size": _size(asset.size_bytes), "max": _size(limits.max_video_bytes)}
        )
    if changes:
        if "video/mp4" not in limits.video_types:
            types = ", ".join(_type_name(t) for t in limits.video_types)
            problems.append(
                _("%(network)s accepts only %(types)s videos; Sokhan converts videos to MP4 only.")
                % {"network": name, "types": types}
            )
        elif not ffmpeg_available():
            problems.append(_("ffmpeg is not installed, so Sokhan cannot convert this video."))
    return changes, problems


# ---------------------------------------------------------------- renditions


def rendition_key(asset: Asset, limits: MediaLimits, fit: Fit = Fit.PAD) -> str:
    if asset.is_video:
        relevant: dict[str, object] = {"types": limits.video_types, "bytes": limits.max_video_bytes}
    else:
        relevant = {
            "types": limits.image_types,
            "bytes": limits.max_image_bytes,
            "max": limits.max_image_pixels,
            "min": limits.min_image_pixels,
            "aspect": limits.aspect_ratio,
            "fit": fit.value,
        }
    raw = json.dumps({"v": RECIPE_VERSION, **relevant}, sort_keys=True, default=list)
    return hashlib.sha256(raw.encode()).hexdigest()


def _as_media_file(asset: Asset) -> MediaFile:
    return MediaFile(
        path=asset.path,
        mime_type=asset.mime_type,
        alt_text=asset.alt_text,
        width=asset.width,
        height=asset.height,
        duration_seconds=asset.duration_seconds,
    )


def _rendition_file(asset: Asset, row: Rendition) -> MediaFile:
    return MediaFile(
        path=row.path,
        mime_type=row.mime_type,
        alt_text=asset.alt_text,
        width=row.width,
        height=row.height,
        duration_seconds=row.duration_seconds,
    )


def rendition_for(asset: Asset, limits: MediaLimits, *, network: str = "", fit: Fit = Fit.PAD) -> MediaFile:
    """A file that meets ``limits``: the original when it fits as-is, else a cached rendition.

    Raises ``CannotFit`` naming what cannot be fixed.
    """
    verdict = assess(asset, limits, network, fit)
    if verdict.problems:
        raise CannotFit(" ".join(verdict.problems), fields={"file": verdict.problems[0]})
    if verdict.fits_as_is:
        return _as_media_file(asset)
    key = rendition_key(asset, limits, fit)
    existing = Rendition.objects.filter(asset=asset, key=key).first()
    if existing is not None and existing.path.exists():
        return _rendition_file(asset, existing)
    directory = Path(settings.MEDIA_ROOT) / str(asset.workspace_id) / "renditions"
    directory.mkdir(parents=True, exist_ok=True)
    if asset.is_video:
        made = _video_rendition(asset, limits, verdict.network, directory)
    else:
        made = _image_rendition(asset, limits, verdict.network, fit, directory)
    final = directory / f"{asset.sha256[:16]}-{key[:16]}.{EXTENSIONS[made.mime_type]}"
    os.replace(made.path, final)
    values = {
        "workspace_id": asset.workspace_id,
        "file": str(final.relative_to(settings.MEDIA_ROOT)),
        "mime_type": made.mime_type,
        "size_bytes": final.stat().st_size,
        "width": made.width,
        "height": made.height,
        "duration_seconds": made.duration_seconds,
    }
    try:
        with transaction.atomic():
            row, _created = Rendition.objects.update_or_create(asset=asset, key=key, defaults=values)
    except IntegrityError:  # made at the same moment elsewhere: same recipe, same file name
        row = Rendition.objects.get(asset=asset, key=key)
    return _rendition_file(asset, row)


# ---------------------------------------------------------------- images


def _output_type(source: str, allowed: tuple[str, ...]) -> str | None:
    if source in allowed and source in WRITABLE:
        return source
    for candidate in ("image/jpeg", "image/png", "image/webp", "image/gif"):
        if candidate in allowed:
            return candidate
    return None


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info)


def _flatten(image: Image.Image) -> Image.Image:
    if not _has_alpha(image):
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, PAD_COLOUR)
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _fit_aspect(image: Image.Image, aspect: tuple[float, float] | None, fit: Fit) -> Image.Image:
    if aspect is None:
        return image
    low, high = aspect
    width, height = image.size
    ratio = width / height
    if low <= ratio <= high:
        return image
    if fit is Fit.CROP:
        if ratio > high:
            new_w = max(1, math.floor(height * high))
            left = (width - new_w) // 2
            return image.crop((left, 0, left + new_w, height))
        new_h = max(1, math.floor(width / low))
        top = (height - new_h) // 2
        return image.crop((0, top, width, top + new_h))
    size = (math.ceil(height * low), height) if ratio < low else (width, math.ceil(width / high))
    colour = (*PAD_COLOUR, 255) if image.mode == "RGBA" else PAD_COLOUR
    canvas = Image.new(image.mode, size, colour)
    canvas.paste(image, ((size[0] - width) // 2, (size[1] - height) // 2))
    return canvas


def _shrink(image: Image.Image, max_w: int, max_h: int, aspect: tuple[float, float] | None) -> Image.Image:
    width, height = image.size
    if width <= max_w and height <= max_h:
        return image
    scale = min(max_w / width, max_h / height)
    size = (max(1, min(max_w, round(width * scale))), max(1, min(max_h, round(height * scale))))
    resized = image.resize(size, Image.Resampling.LANCZOS)
    return _fit_aspect(resized, aspect, Fit.CROP)  # rounding may leave it a pixel outside: trim it


def _encode(image: Image.Image, mime: str, quality: int, icc: bytes | None) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, object] = {}
    if icc:
        options["icc_profile"] = icc
    if mime in ("image/jpeg", "image/webp"):
        options.update(quality=quality)
    if mime == "image/jpeg":
        options.update(optimize=True, progressive=True)
    if mime == "image/png":
        options.update(optimize=True)
    image.save(buffer, format=WRITABLE[mime], **options)
    return buffer.getvalue()


@dataclass(frozen=True)
class _Made:
    path: Path
    mime_type: str
    width: int | None
    height: int | None
    duration_seconds: float | None = None


def _image_rendition(asset: Asset, limits: MediaLimits, name: str, fit: Fit, directory: Path) -> _Made:
    target = _output_type(asset.mime_type, limits.image_types)
    if target is None:  # assess() already refused
        raise CannotFit(_("%(network)s accepts no image type Sokhan can write.") % {"network": name})
    with Image.open(asset.path) as source:
        icc = source.info.get("icc_profile")
        image = ImageOps.exif_transpose(source)  # a copy, turned upright, without the orientation tag
        image.load()
    image = _flatten(image) if target == "image/jpeg" else image.convert("RGBA" if _has_alpha(image) else "RGB")
    image = _fit_aspect(image, limits.aspect_ratio, fit)
    if limits.max_image_pixels is not None:
        image = _shrink(image, *limits.max_image_pixels, limits.aspect_ratio)
    min_w, min_h = limits.min_image_pixels or (1, 1)
    max_bytes = limits.max_image_bytes
    formats = [target] + (["image/jpeg"] if target != "image/jpeg" and "image/jpeg" in limits.image_types else [])
    for _round in range(SHRINK_ROUNDS):
        for mime in formats:
            candidate = _flatten(image) if mime == "image/jpeg" else image
            qualities = QUALITIES if mime in ("image/jpeg", "image/webp") and max_bytes is not None else QUALITIES[:1]
            for quality in qualities:
                data = _encode(candidate, mime, quality, icc if isinstance(icc, bytes) else None)
                if max_bytes is None or len(data) <= max_bytes:
                    return _write(directory, data, mime, candidate.size)
        width, height = image.size
        smaller = (int(width * SHRINK_STEP), int(height * SHRINK_STEP))
        if smaller[0] < min_w or smaller[1] < min_h or min(smaller) < 1:
            break
        image = _fit_aspect(image.resize(smaller, Image.Resampling.LANCZOS), limits.aspect_ratio, Fit.CROP)
    raise CannotFit(
        _("Sokhan could not make this image smaller than %(max)s for %(network)s without going below its minimum size.")
        % {"max": _size(max_bytes or 0), "network": name}
    )


def _write(directory: Path, data: bytes, mime: str, size: tuple[int, int]) -> _Made:
    handle, raw_path = tempfile.mkstemp(dir=directory, suffix=".part")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return _Made(path=Path(raw_path), mime_type=mime, width=size[0], height=size[1])


# ---------------------------------------------------------------- videos


def _ffmpeg(binary: str, source: Path, out: Path, bitrate: int | None) -> None:
    video = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    if bitrate is None:
        video += ["-crf", "23"]
    else:
        video += ["-b:v", str(bitrate), "-maxrate", str(bitrate), "-bufsize", str(2 * bitrate)]
    command = [
        binary, "-y", "-v", "error", "-i", str(source),
        "-map", "0:v:0", "-map", "0:a:0?",
        *video,
        "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2",
        "-c:a", "aac", "-b:a", str(AUDIO_BITS_PER_SECOND),
        "-movflags", "+faststart", "-f", "mp4", str(out),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, timeout=FFMPEG_TIMEOUT_SECONDS, check=False)
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise CannotFit(_("ffmpeg could not convert this video: %(detail)s") % {"detail": detail[0]})


def _video_rendition(asset: Asset, limits: MediaLimits, name: str, directory: Path) -> _Made:
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise CannotFit(_("ffmpeg is not installed, so Sokhan cannot convert this video."), code="ffmpeg_missing")
    handle, raw_path = tempfile.mkstemp(dir=directory, suffix=".part.mp4")
    os.close(handle)
    out = Path(raw_path)
    try:
        _ffmpeg(binary, asset.path, out, None)
        max_bytes = limits.max_video_bytes
        if max_bytes is not None and out.stat().st_size > max_bytes:
            seconds = asset.duration_seconds or 0
            bitrate = int(max_bytes * 8 * 0.9 / seconds) - AUDIO_BITS_PER_SECOND if seconds else 0
            if bitrate < MIN_VIDEO_BITS_PER_SECOND:
                raise CannotFit(
                    _("The video cannot be made smaller than %(max)s for %(network)s at a watchable quality.")
                    % {"max": _size(max_bytes), "network": name}
                )
            _ffmpeg(binary, asset.path, out, bitrate)
            if out.stat().st_size > max_bytes:
                raise CannotFit(
                    _("The video is still over %(max)s for %(network)s after re-encoding.")
                    % {"max": _size(max_bytes), "network": name}
                )
        probe = probe_video(out, "video/mp4")
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return _Made(
        path=out,
        mime_type="video/mp4",
        width=probe.width,
        height=probe.height,
        duration_seconds=probe.duration_seconds or asset.duration_seconds,
    )

"""What a file really is, read from its content: type by magic bytes, image size by Pillow, video
duration and size by ``ffprobe`` (when installed; otherwise unknown)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from sokhan.core.errors import DomainError

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm", "video/x-matroska")
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/x-matroska": "mkv",
}
ORIENTATION_TAG = 0x0112
PROBE_TIMEOUT_SECONDS = 60


class UnsupportedMedia(DomainError):
    status = 415
    code = "unsupported_media_type"


def sniff(head: bytes) -> str | None:
    """The MIME type named by the first bytes of a file, or None when it is not one we handle."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
            return None  # HEIF/AVIF stills: not handled yet
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    return None


@dataclass(frozen=True)
class Probe:
    mime_type: str
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    has_metadata: bool = False

    @property
    def is_video(self) -> bool:
        return self.mime_type.startswith("video/")


def probe_file(path: Path) -> Probe:
    with path.open("rb") as handle:
        head = handle.read(64)
    mime = sniff(head)
    if mime is None:
        raise UnsupportedMedia(
            _("This file is not a supported image or video (JPEG, PNG, GIF, WebP, MP4, MOV, WebM, MKV)."),
            fields={"file": "unsupported type"},
        )
    if mime.startswith("image/"):
        return probe_image(path, mime)
    return probe_video(path, mime)


def probe_image(path: Path, mime: str) -> Probe:
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            width, height = image.size
            exif = image.getexif()
            orientation = int(exif.get(ORIENTATION_TAG, 1) or 1)
            has_metadata = bool(len(exif)) or "exif" in image.info
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise UnsupportedMedia(
            _("The image cannot be read: %(error)s") % {"error": error}, fields={"file": "unreadable image"}
        ) from error
    if orientation in (5, 6, 7, 8):  # rotated a quarter turn: shown with width and height swapped
        width, height = height, width
    return Probe(mime_type=mime, width=width, height=height, has_metadata=has_metadata)


def ffprobe_available() -> bool:
    return shutil.which("ffprobe") is not None


def probe_video(path: Path, mime: str) -> Probe:
    """Duration and size from ffprobe; all unknown (None) when ffprobe is not installed."""
    binary = shutil.which("ffprobe")
    if binary is None:
        return Probe(mime_type=mime)
    try:
        result = subprocess.run(
            [binary, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
            capture_output=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
        data = json.loads(result.stdout or b"{}")
    except (subprocess.TimeoutExpired, ValueError, OSError):
        data = {}
    streams = [s for s in data.get("streams", []) if s.get("codec_type") == "video"]
    if not streams:
        raise UnsupportedMedia(
            _("The video cannot be read: it holds no video stream."), fields={"file": "unreadable video"}
        )
    stream = streams[0]
    width, height = _int(stream.get("width")), _int(stream.get("height"))
    rotation = _rotation(stream)
    if rotation in (90, 270) and width and height:
        width, height = height, width
    duration = _float(data.get("format", {}).get("duration")) or _float(stream.get("duration"))
    return Probe(mime_type=mime, width=width, height=height, duration_seconds=duration)


def _rotation(stream: dict[str, object]) -> int:
    tags = stream.get("tags")
    if isinstance(tags, dict) and "rotate" in tags:
        return abs(_int(tags["rotate"]) or 0) % 360
    for side in stream.get("side_data_list", []) or []:  # type: ignore[attr-defined]
        if isinstance(side, dict) and "rotation" in side:
            return abs(_int(side["rotation"]) or 0) % 360
    return 0


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _float(value: object) -> float | None:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None

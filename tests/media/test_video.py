"""Videos: probed by ffprobe and transcoded by ffmpeg when installed; clear reasons otherwise."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from sokhan.media import probe, renditions
from sokhan.media.models import Asset, AssetKind
from sokhan.media.renditions import CannotFit, assess, rendition_for
from sokhan.networks.types import MediaLimits

Upload = Callable[..., Asset]
HAS_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
needs_ffmpeg = pytest.mark.skipif(not HAS_FFMPEG, reason="ffmpeg/ffprobe are not installed (apt-get install ffmpeg)")
MP4_ONLY = MediaLimits(max_count=1, video_types=("video/mp4",), max_video_seconds=60, min_video_seconds=1)


def _make_video(path: Path, seconds: float, codec: list[str]) -> bytes:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=320x240:rate=10:duration={seconds}",
         *codec, str(path)],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


@needs_ffmpeg
def test_webm_is_probed_and_transcoded_to_mp4(upload: Upload, tmp_path: Path) -> None:
    data = _make_video(tmp_path / "clip.webm", 2, ["-c:v", "libvpx", "-b:v", "200k"])
    asset = upload(data, "clip.mp4")  # the name lies; the content is WebM
    assert asset.kind == AssetKind.VIDEO and asset.mime_type == "video/webm"
    assert (asset.width, asset.height) == (320, 240)
    assert asset.duration_seconds == pytest.approx(2, abs=0.2)
    verdict = assess(asset, MP4_ONLY, "Test")
    assert verdict.possible and not verdict.fits_as_is
    media = rendition_for(asset, MP4_ONLY, network="Test")
    assert media.mime_type == "video/mp4" and media.path.suffix == ".mp4"
    probed = probe.probe_file(media.path)
    assert probed.mime_type == "video/mp4" and (probed.width, probed.height) == (320, 240)
    assert probed.duration_seconds == pytest.approx(2, abs=0.3)


@needs_ffmpeg
def test_mp4_within_limits_fits_as_is(upload: Upload, tmp_path: Path) -> None:
    data = _make_video(tmp_path / "clip.mp4", 2, ["-c:v", "libx264", "-pix_fmt", "yuv420p"])
    asset = upload(data, "clip.mp4")
    assert asset.mime_type == "video/mp4"
    assert rendition_for(asset, MP4_ONLY).path == asset.path


def test_too_long_video_names_what_cannot_be_fixed(upload: Upload, tmp_path: Path) -> None:
    asset = Asset(kind=AssetKind.VIDEO, mime_type="video/mp4", size_bytes=1000, duration_seconds=212)
    limits = MediaLimits(max_count=1, video_types=("video/mp4",), max_video_seconds=180)
    with pytest.raises(CannotFit) as caught:
        rendition_for(asset, limits, network="TikTok")
    assert caught.value.message == "The video is 212 s; TikTok allows at most 180 s and Sokhan does not cut videos."


def test_without_ffmpeg_conversion_is_refused_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(renditions.shutil, "which", lambda name: None)
    asset = Asset(kind=AssetKind.VIDEO, mime_type="video/webm", size_bytes=1000, duration_seconds=5)
    verdict = assess(asset, MP4_ONLY, "Test")
    assert not verdict.possible
    assert "ffmpeg is not installed" in verdict.problems[0]


def test_without_ffprobe_the_length_is_unknown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(probe.shutil, "which", lambda name: None)
    path = tmp_path / "v.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    found = probe.probe_file(path)
    assert found.mime_type == "video/mp4" and found.duration_seconds is None and found.width is None
    asset = Asset(kind=AssetKind.VIDEO, mime_type="video/mp4", size_bytes=100, duration_seconds=None)
    verdict = assess(asset, MP4_ONLY, "Test")
    assert not verdict.possible and "unknown" in verdict.problems[0]

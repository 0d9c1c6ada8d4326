"""Renditions made from real images generated with Pillow, checked for type, pixels, bytes and aspect."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from tests.media.conftest import image_bytes

from sokhan.core.errors import DomainError
from sokhan.media.models import Asset, Rendition
from sokhan.media.renditions import CannotFit, Fit, assess, rendition_for
from sokhan.networks import registry
from sokhan.networks.types import Limits, MediaLimits
from sokhan.publishing.validation import validate_media

INSTAGRAM = registry.get("instagram").limits.media

Upload = Callable[..., Asset]


def _open(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()
    return image


def test_png_with_alpha_becomes_jpeg_on_white_for_jpeg_only_network(upload: Upload) -> None:
    png = image_bytes((800, 800), "PNG", mode="RGBA", colour=(0, 0, 255, 0))  # fully transparent
    asset = upload(png, "logo.png")
    assert asset.mime_type == "image/png"
    verdict = assess(asset, INSTAGRAM, "Instagram")
    assert not verdict.fits_as_is and verdict.possible
    media = rendition_for(asset, INSTAGRAM, network="Instagram")
    assert media.mime_type == "image/jpeg"
    image = _open(media.path)
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.getpixel((10, 10)) == (255, 255, 255)  # transparency flattened on white
    assert validate_media([media], Limits(max_text=1, media=INSTAGRAM), network_name="Instagram").valid


def test_huge_jpeg_is_downscaled_and_fits_the_byte_limit(upload: Upload) -> None:
    asset = upload(image_bytes((3000, 2400), "JPEG", noise=True, quality=95), "huge.jpg")
    limits = MediaLimits(
        max_count=1, image_types=("image/jpeg",), max_image_pixels=(1440, 1800), max_image_bytes=300_000
    )
    assert asset.size_bytes > 300_000
    media = rendition_for(asset, limits, network="Test")
    image = _open(media.path)
    assert image.width <= 1440 and image.height <= 1800
    assert media.path.stat().st_size <= 300_000
    assert abs(image.width / image.height - 3000 / 2400) < 0.01  # no distortion
    assert (media.width, media.height) == image.size


def test_exif_orientation_is_applied_and_metadata_stripped(upload: Upload) -> None:
    data = image_bytes((400, 200), "JPEG", orientation=6)  # stored landscape, shown portrait
    asset = upload(data, "phone.jpg")
    assert (asset.width, asset.height) == (200, 400)
    assert asset.has_metadata
    limits = MediaLimits(max_count=1, image_types=("image/jpeg",))
    verdict = assess(asset, limits)
    assert not verdict.fits_as_is and any("EXIF" in change for change in verdict.changes)
    media = rendition_for(asset, limits)
    image = _open(media.path)
    assert image.size == (200, 400)
    assert len(image.getexif()) == 0


def test_tiny_image_cannot_fit_and_says_why(upload: Upload) -> None:
    asset = upload(image_bytes((100, 80), "JPEG"), "tiny.jpg")
    verdict = assess(asset, INSTAGRAM, "Instagram")
    assert not verdict.possible
    with pytest.raises(CannotFit) as caught:
        rendition_for(asset, INSTAGRAM, network="Instagram")
    message = caught.value.message
    assert "100×80" in message and "320×320" in message and "does not enlarge" in message


@pytest.mark.parametrize("fit", [Fit.PAD, Fit.CROP])
def test_aspect_ratio_pad_or_crop(upload: Upload, fit: Fit) -> None:
    asset = upload(image_bytes((2000, 400), "JPEG", colour=(10, 10, 10)), "banner.jpg")
    media = rendition_for(asset, INSTAGRAM, network="Instagram", fit=fit)
    image = _open(media.path).convert("RGB")
    low, high = INSTAGRAM.aspect_ratio or (0, 0)
    assert low <= image.width / image.height <= high
    corner = image.getpixel((0, 0))
    assert isinstance(corner, tuple)
    if fit is Fit.PAD:
        assert image.width == 1440 and min(corner) > 240  # white bars above and below
    else:
        assert image.height == 400 and max(corner) < 40  # the dark picture, cut at the sides
    assert validate_media([media], Limits(max_text=1, media=INSTAGRAM), network_name="Instagram").valid


def test_rendition_is_cached_on_disk_and_in_a_row(upload: Upload) -> None:
    asset = upload(image_bytes((600, 600), "PNG"), "a.png")
    first = rendition_for(asset, INSTAGRAM)
    second = rendition_for(asset, INSTAGRAM)
    assert first.path == second.path and first.path.exists()
    assert Rendition.objects.filter(asset=asset).count() == 1
    first.path.unlink()  # a lost file is made again
    third = rendition_for(asset, INSTAGRAM)
    assert third.path.exists() and Rendition.objects.filter(asset=asset).count() == 1


def test_a_fitting_original_is_used_as_is(upload: Upload) -> None:
    asset = upload(image_bytes((1000, 1000), "JPEG"), "square.jpg")
    assert assess(asset, INSTAGRAM).fits_as_is
    media = rendition_for(asset, INSTAGRAM)
    assert media.path == asset.path
    assert not Rendition.objects.exists()


def test_every_registered_network_is_assessed_from_its_declared_limits(upload: Upload) -> None:
    asset = upload(image_bytes((1200, 900), "PNG", mode="RGBA", colour=(1, 2, 3, 128)), "x.png")
    for cls in registry.all_connectors():
        limits = cls.limits.media
        verdict = assess(asset, limits, cls.name)
        if not limits.image_types:
            assert not verdict.possible
            continue
        if verdict.possible:
            media = rendition_for(asset, limits, network=cls.name)
            result = validate_media([media], Limits(max_text=1, media=limits), network_name=cls.name)
            assert result.valid, (cls.key, result.errors)


def test_file_type_comes_from_content_not_the_name(upload: Upload) -> None:
    asset = upload(image_bytes((50, 50), "PNG"), "photo.jpg")
    assert asset.mime_type == "image/png" and asset.file.endswith(".png")
    with pytest.raises(DomainError) as caught:
        upload(b"not really an image, just text", "evil.jpg")
    assert caught.value.status == 415


def test_alt_text_over_the_network_limit_is_a_note(upload: Upload) -> None:
    asset = upload(image_bytes((1000, 1000), "JPEG"), "a.jpg", alt_text="ك" * 1001)
    assert asset.alt_text == "ک" * 1001  # Arabic kaf folded to Persian
    verdict = assess(asset, INSTAGRAM, "Instagram")
    assert verdict.fits_as_is and verdict.notes and "1001" in verdict.notes[0]


def test_image_rendition_survives_a_round_trip_through_pillow(upload: Upload) -> None:
    gif = io.BytesIO()
    Image.new("P", (500, 500)).save(gif, format="GIF")
    asset = upload(gif.getvalue(), "anim.gif")
    media = rendition_for(asset, INSTAGRAM)
    assert _open(media.path).format == "JPEG"

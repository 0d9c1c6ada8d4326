"""``validate_text`` and ``validate_media`` against connector limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from sokhan.networks import registry
from sokhan.networks.types import Limits, MediaFile, MediaLimits, TextCounting
from sokhan.publishing.validation import validate_media, validate_text

X = registry.get("x").limits
ZWNJ = "\u200c"


def test_persian_post_within_x_limit() -> None:
    result = validate_text(f"می{ZWNJ}خواهم این را ببینید: https://sokhan.ir 🌷", X, network_name="X")
    assert result.valid and result.errors == []
    # می‌خواهم 8 (ZWNJ weighs 1), این 3, را 2, ببینید: 7, five spaces, the link 23, the emoji 2
    assert (result.length, result.max) == (8 + 3 + 2 + 7 + 5 + 23 + 2, 280)


def test_too_long_for_x_names_count_and_unit() -> None:
    result = validate_text("س" * 300 + " 🌷", X, network_name="X")
    assert not result.valid
    assert result.length == 303
    assert result.errors == [
        "Text is 303 of 280 characters (weighted as X counts them: each link counts as 23, "
        "each emoji and CJK character as 2); remove 23."
    ]


def test_x_rejects_byte_order_marks() -> None:
    result = validate_text("\ufeffسلام", X, network_name="X")
    assert not result.valid
    assert "U+FEFF" in result.errors[0] and "X rejects" in result.errors[0]


def test_empty_text() -> None:
    assert validate_text("  ", X, network_name="X").errors == ["Text is empty."]
    assert validate_text("", X, network_name="X", allow_empty=True).valid


@pytest.mark.parametrize(
    ("counting", "unit", "hint"),
    [
        (TextCounting.GRAPHEMES, "characters", "each emoji or letter with its marks is one"),
        (TextCounting.CODE_POINTS, "characters", "Unicode code points"),
        (TextCounting.UTF16, "characters", "UTF-16 code units"),
        (TextCounting.UTF8_BYTES, "bytes", "a Persian letter takes 2"),
    ],
)
def test_messages_name_the_unit(counting: TextCounting, unit: str, hint: str) -> None:
    limits = Limits(max_text=5, counting=counting)
    result = validate_text("سلام دنیا 👨‍👩‍👧", limits, network_name="Example")
    assert not result.valid
    (message,) = result.errors
    assert message.startswith(f"Text is {result.length} of 5 {unit} (")
    assert hint in message and "Example" in message


def test_same_text_differs_per_network() -> None:
    text = "😀" * 200  # 200 graphemes, 400 UTF-16 units, 800 bytes, weighted 400
    lengths = {key: validate_text(text, registry.get(key).limits, network_name=key) for key in ("x", "mastodon")}
    assert not lengths["x"].valid and lengths["x"].length == 400
    assert lengths["mastodon"].valid and lengths["mastodon"].length == 200


def test_max_length_override_for_comments() -> None:
    result = validate_text("ب" * 50, Limits(max_text=500), network_name="N", max_length=40)
    assert (result.max, result.valid) == (40, False)


def test_as_json_shape() -> None:
    result = validate_text("سلام", X, network_name="X")
    assert result.as_json("x") == {"network": "x", "length": 4, "max": 280, "valid": True, "errors": []}


# --- media -------------------------------------------------------------------------------------------

LIMITS = Limits(
    max_text=280,
    media=MediaLimits(
        max_count=2,
        image_types=("image/jpeg", "image/png"),
        video_types=("video/mp4",),
        max_image_bytes=1000,
        max_video_bytes=5000,
        max_video_seconds=60,
        min_video_seconds=3,
        max_image_pixels=(4096, 4096),
        min_image_pixels=(100, 100),
        aspect_ratio=(0.5, 2.0),
        alt_text_max=10,
    ),
)


def _file(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    path.write_bytes(b"\0" * size)
    return path


def test_good_media_passes(tmp_path: Path) -> None:
    photo = MediaFile(_file(tmp_path, "a.jpg", 500), "image/jpeg", alt_text="گل سرخ", width=800, height=600)
    assert validate_media([photo], LIMITS, network_name="N").valid
    assert validate_media([], LIMITS).valid


def test_count_and_mixed_types(tmp_path: Path) -> None:
    photo = MediaFile(_file(tmp_path, "a.png", 10), "image/png")
    clip = MediaFile(_file(tmp_path, "b.mp4", 10), "video/mp4", duration_seconds=10)
    result = validate_media([photo, photo, clip], LIMITS, network_name="N")
    assert result.errors == [
        "N accepts at most 2 media files in a post; this one has 3.",
        "N does not accept images and videos in the same post.",
    ]


def test_no_media_at_all(tmp_path: Path) -> None:
    photo = MediaFile(_file(tmp_path, "a.png", 10), "image/png")
    assert validate_media([photo], Limits(max_text=10), network_name="N").errors == [
        "N does not accept media in a post."
    ]


def test_types_sizes_dimensions(tmp_path: Path) -> None:
    gif = MediaFile(_file(tmp_path, "a.gif", 10), "image/gif")
    big = MediaFile(_file(tmp_path, "big.jpg", 2048), "image/jpeg", width=5000, height=4000)
    tiny = MediaFile(_file(tmp_path, "tiny.png", 10), "image/png", width=50, height=300)
    pdf = MediaFile(_file(tmp_path, "doc.pdf", 10), "application/pdf")
    missing = MediaFile(tmp_path / "gone.jpg", "image/jpeg")
    errors = [validate_media([item], LIMITS, network_name="N").errors for item in (gif, big, tiny, pdf, missing)]
    assert errors == [
        ["a.gif: N does not accept image/gif; use image/jpeg, image/png."],
        [
            "big.jpg: 2 KB is over the 1000 bytes N allows for a image.",
            "big.jpg: 5000×4000 pixels is larger than N allows (4096×4096 at most).",
        ],
        [
            "tiny.png: 50×300 pixels is smaller than N allows (100×100 at least).",
            "tiny.png: aspect ratio 0.17 (width ÷ height) is outside the 0.5–2 N allows.",
        ],
        ["doc.pdf: application/pdf is neither an image nor a video."],
        ["gone.jpg: the file cannot be read."],
    ]


def test_video_duration_and_alt_text(tmp_path: Path) -> None:
    long_clip = MediaFile(_file(tmp_path, "long.mp4", 6000), "video/mp4", duration_seconds=90.5)
    short_clip = MediaFile(_file(tmp_path, "short.mp4", 10), "video/mp4", duration_seconds=1)
    mov = MediaFile(_file(tmp_path, "c.mov", 10), "video/quicktime")
    photo = MediaFile(_file(tmp_path, "a.jpg", 10), "image/jpeg", alt_text="یک گل سرخ در باغ")
    assert validate_media([long_clip], LIMITS, network_name="N").errors == [
        "long.mp4: 5.9 KB is over the 4.9 KB N allows for a video.",
        "long.mp4: the video is 90.5 s long; N allows 60 s at most.",
    ]
    assert validate_media([short_clip], LIMITS, network_name="N").errors == [
        "short.mp4: the video is 1 s long; N needs 3 s at least."
    ]
    assert validate_media([mov], LIMITS, network_name="N").errors == [
        "c.mov: N does not accept video/quicktime; use video/mp4."
    ]
    assert validate_media([photo], LIMITS, network_name="N").errors == [
        "a.jpg: the alt text is 16 of 10 characters; remove 6."
    ]


def test_network_without_video(tmp_path: Path) -> None:
    images_only = Limits(max_text=280, media=MediaLimits(max_count=4, image_types=("image/jpeg",)))
    clip = MediaFile(_file(tmp_path, "c.mp4", 10), "video/mp4")
    assert validate_media([clip], images_only, network_name="N").errors == ["c.mp4: N does not accept videos."]


def test_cli_reads_utf8_without_bom_and_final_newline() -> None:
    from sokhan.ops.management.commands.compose import read_text

    assert read_text("\ufeffسلام\r\n".encode()) == "سلام"
    assert read_text("سلام\n\n".encode()) == "سلام\n"
    assert read_text(b"") == ""

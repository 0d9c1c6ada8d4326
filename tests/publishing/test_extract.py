from __future__ import annotations

from sokhan.publishing.extract import extract_cashtags, extract_entities, extract_hashtags, extract_mentions


def test_persian_hashtag_with_zwnj_and_positions() -> None:
    text = "سلام #کتاب‌خانه و #كتاب‌ تمام"
    tags = extract_hashtags(text)
    assert [t.value for t in tags] == ["کتاب\u200cخانه", "كتاب"]  # trailing ZWNJ is not part of the tag
    assert [t.normalized for t in tags] == ["کتابخانه", "کتاب"]
    first = tags[0]
    assert text[first.start : first.end] == "#کتاب‌خانه"
    encoded = text.encode()
    assert encoded[first.byte_start : first.byte_end].decode() == "#کتاب‌خانه"
    assert (first.start, first.byte_start) == (5, 9)


def test_digits_only_and_mixed_tags() -> None:
    tags = extract_hashtags("#۱۴۰۴ #سال_۱۴۰۴ #2025 a#b &#123;")
    assert [t.normalized for t in tags] == ["سال_1404"]


def test_nothing_inside_urls_or_emails() -> None:
    text = "see https://example.com/#top and example.org/x#y, mail info@example.com"
    entities = extract_entities(text)
    assert [e.kind for e in entities] == ["url", "url"]
    assert entities[0].text == "https://example.com/#top"


def test_mentions_bluesky_and_mastodon() -> None:
    mentions = extract_mentions("hi @Alice.bsky.social, @bob@mastodon.social and @Foo. not me@x.com")
    assert [m.normalized for m in mentions] == ["alice.bsky.social", "bob@mastodon.social", "foo"]


def test_cashtags() -> None:
    assert [c.normalized for c in extract_cashtags("buy $tsla $BRK.A not $100 or x$AB")] == ["TSLA", "BRK.A"]


def test_byte_offsets_with_emoji() -> None:
    text = "👨‍👩‍👧 #tag"
    tag = extract_hashtags(text)[0]
    assert text.encode()[tag.byte_start : tag.byte_end] == b"#tag"
    assert tag.byte_start == len("👨‍👩‍👧 ".encode())

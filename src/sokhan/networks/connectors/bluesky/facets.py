"""Rich-text facets for Bluesky posts: mentions, links and hashtags with UTF-8 byte offsets.

Follows https://docs.bsky.app/docs/advanced-guides/post-richtext and the detection rules of the
official TypeScript ``RichText.detectFacets``: facet indices are byte offsets into the UTF-8 text
(not characters), so Persian letters (2 bytes) and emoji (4 bytes) shift them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import regex  # type: ignore[import-untyped]

# A handle: labels of letters, digits and hyphens joined by dots, ending in a letter-led TLD.
_MENTION = regex.compile(
    r"(?:^|(?<=[\s(]))@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)"
)
_URL = regex.compile(r"(?:^|(?<=[\s(]))(https?://\S+)", regex.IGNORECASE)
_STOP = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_TAG = regex.compile(rf"(?:^|(?<=\s))[#＃]((?!\ufe0f)[^\s{_STOP}]*[^\d\s\p{{P}}{_STOP}]+[^\s{_STOP}]*)")
_TRAILING_PUNCT = regex.compile(r"\p{P}+$")
_GRAPHEME = regex.compile(r"\X")
MAX_TAG = 64


@dataclass(frozen=True)
class Span:
    start: int  # byte offsets, end exclusive
    end: int
    kind: str  # "mention" | "link" | "tag"
    value: str  # handle, URL or tag (without '#')


def graphemes(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def _bytes(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _clean_url(url: str) -> str:
    url = regex.sub(r"[.,;:!?،؛؟]+$", "", url)
    if url.endswith(")") and url.count("(") < url.count(")"):
        url = url[:-1]
    return url


def detect(text: str) -> list[Span]:
    spans: list[Span] = []
    for m in _MENTION.finditer(text):
        handle = m.group(1).rstrip(".")
        start = m.start(1) - 1
        spans.append(Span(_bytes(text, start), _bytes(text, start + 1 + len(handle)), "mention", handle.lower()))
    for m in _URL.finditer(text):
        url = _clean_url(m.group(1))
        spans.append(Span(_bytes(text, m.start(1)), _bytes(text, m.start(1) + len(url)), "link", url))
    for m in _TAG.finditer(text):
        tag = _TRAILING_PUNCT.sub("", m.group(1))
        if not tag or len(tag) > MAX_TAG:
            continue
        start = m.start(1) - 1
        spans.append(Span(_bytes(text, start), _bytes(text, start + 1 + len(tag)), "tag", tag))
    spans.sort(key=lambda s: s.start)
    # Drop overlaps (e.g. a '#fragment' inside a URL): the earlier span wins.
    kept: list[Span] = []
    for span in spans:
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def facets(text: str, resolve_handle: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """``app.bsky.richtext.facet`` objects; a mention whose handle does not resolve stays plain text."""
    out: list[dict[str, Any]] = []
    for span in detect(text):
        if span.kind == "mention":
            did = resolve_handle(span.value)
            if not did:
                continue
            feature: dict[str, Any] = {"$type": "app.bsky.richtext.facet#mention", "did": did}
        elif span.kind == "link":
            feature = {"$type": "app.bsky.richtext.facet#link", "uri": span.value}
        else:
            feature = {"$type": "app.bsky.richtext.facet#tag", "tag": span.value}
        out.append({"index": {"byteStart": span.start, "byteEnd": span.end}, "features": [feature]})
    return out

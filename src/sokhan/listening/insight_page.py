"""The insight page's context: the figures of ``insight.Insight`` with the viewer's dates and digits,
the charts' geometry, and for every number the link to the mentions behind it (the mentions list
with the same topics, days and the figure's own filter)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from django.conf import settings

from sokhan.core.models import Workspace
from sokhan.listening.insight import TEXT_SAMPLE, Insight, Sentiments
from sokhan.listening.insight_charts import Segment, Series, line_chart, stacked_bars
from sokhan.listening.insight_terms import CloudWord, TermCount
from sokhan.listening.mention_filters import (
    NEGATIVE,
    NEUTRAL,
    NO_LABEL,
    POSITIVE,
    SENTIMENT_LABELS,
    UNKNOWN_LANGUAGE,
)
from sokhan.listening.mentions_page import Viewer, mentions_url
from sokhan.listening.models import TopicKind

SERIES_COLOURS = 8
_STACK = (POSITIVE, NEUTRAL, NEGATIVE, NO_LABEL)


@dataclass(frozen=True)
class Cell:
    value: int
    href: str


@dataclass(frozen=True)
class Linked:
    """A labelled figure and the mentions behind it."""

    label: str
    value: Any
    href: str
    extra: Any = None


def _count(sentiments: Sentiments, label: str) -> int:
    return {
        POSITIVE: sentiments.positive,
        NEUTRAL: sentiments.neutral,
        NEGATIVE: sentiments.negative,
        NO_LABEL: sentiments.unlabelled,
    }[label]


class _Links:
    def __init__(self, workspace: Workspace, insight: Insight) -> None:
        self.workspace = workspace
        self.base = insight.filters
        self.by = insight.by

    def of(self, **changes: Any) -> str:
        return mentions_url(self.workspace, replace(self.base, **changes))

    def bucket(self, key: date | datetime, **changes: Any) -> str:
        if isinstance(key, datetime):
            return self.of(hour=key, **changes)
        return self.of(since=key, until=key, **changes)


def _bucket_label(key: date | datetime, viewer: Viewer) -> str:
    return viewer.datetime(key) if isinstance(key, datetime) else viewer.date(key)


def _language_name(code: str) -> str:
    names = {key: str(name) for key, name in settings.LANGUAGES}
    return names.get(code, code)


def page_context(workspace: Workspace, insight: Insight, viewer: Viewer) -> dict[str, Any]:
    links = _Links(workspace, insight)
    labels = [_bucket_label(key, viewer) for key in insight.buckets]
    series = [
        Series(
            row.topic.name,
            f"series-{i % SERIES_COLOURS}",
            row.series,
            [links.bucket(key, topics=(row.topic.pk,)) for key in insight.buckets],
        )
        for i, row in enumerate(insight.rows)
    ]
    stacks = [
        [
            Segment(
                _count(s, label),
                f"sentiment-{label}",
                links.bucket(key, sentiments=(label,)),
                str(SENTIMENT_LABELS[label]),
            )
            for label in _STACK
        ]
        for key, s in zip(insight.buckets, insight.sentiment_series, strict=True)
    ]
    brand_topics = tuple(t.pk for t in insight.topics if t.kind == TopicKind.BRAND)
    corrections = insight.corrections
    return {
        "insight": insight,
        "labels": labels,
        "volume_chart": line_chart(labels, series, rtl=viewer.rtl, digits=viewer.digits),
        "legend": [(s.name, s.css) for s in series],
        "volume_rows": [
            (
                label,
                [Cell(row.series[i], series[j].hrefs[i]) for j, row in enumerate(insight.rows)],
            )
            for i, label in enumerate(labels)
        ],
        "sentiment_chart": stacked_bars(labels, stacks, rtl=viewer.rtl, digits=viewer.digits),
        "sentiment_labels": [(label, SENTIMENT_LABELS[label]) for label in _STACK],
        "sentiment_rows": [
            (label, [Cell(segment.value, segment.href) for segment in stack], s.net)
            for label, stack, s in zip(labels, stacks, insight.sentiment_series, strict=True)
        ],
        "total": Linked("", insight.sentiments.total, links.of()),
        "sentiment_totals": [
            Linked(str(SENTIMENT_LABELS[label]), _count(insight.sentiments, label), links.of(sentiments=(label,)))
            for label in _STACK
        ],
        "net": Linked("", insight.sentiments.net, links.of(sentiments=(POSITIVE, NEGATIVE))),
        "share_of_voice": Linked("", insight.share_of_voice, links.of(topics=brand_topics)),
        "corrected": Linked("", corrections.total, links.of(corrected="yes")),
        "agreed": Linked("", corrections.agreed, links.of(corrected="agreed")),
        "changed": Linked("", corrections.total - corrections.agreed, links.of(corrected="changed")),
        "changes": [
            (SENTIMENT_LABELS.get(model, model), SENTIMENT_LABELS.get(person, person), n)
            for model, person, n in corrections.changes
        ],
        "topic_rows": [
            {
                "row": row,
                "css": f"series-{i % SERIES_COLOURS}",
                "href": links.of(topics=(row.topic.pk,)),
                "sentiments": [
                    Cell(_count(row.sentiments, label), links.of(topics=(row.topic.pk,), sentiments=(label,)))
                    for label in _STACK
                ],
            }
            for i, row in enumerate(insight.rows)
        ],
        "authors": [
            Linked(
                a.name or a.handle,
                a,
                links.of(author=a.handle, networks=(a.network,) if a.network else ()),
            )
            for a in insight.authors
        ],
        "languages": [
            Linked(
                _language_name(code) if code else "",
                n,
                links.of(languages=(code or UNKNOWN_LANGUAGE,)),
                extra=n / insight.sentiments.total if insight.sentiments.total else None,
            )
            for code, n in insight.languages
        ],
        "trending_words": _terms(insight.terms.words, links),
        "trending_hashtags": _terms(insight.terms.hashtags, links),
        "cloud": [_cloud_word(word, links) for word in insight.terms.cloud],
        "text_sample": TEXT_SAMPLE,
        "share_kinds": bool(brand_topics) and any(t.kind == TopicKind.COMPETITOR for t in insight.topics),
    }


def _terms(found: list[TermCount], links: _Links) -> list[Linked]:
    return [Linked(t.text, t, links.of(text=t.query), extra=f"{t.score:.1f}") for t in found]


def _cloud_word(word: CloudWord, links: _Links) -> Linked:
    return Linked(word.term.text, word.term.count, links.of(text=word.term.query), extra=word.step)

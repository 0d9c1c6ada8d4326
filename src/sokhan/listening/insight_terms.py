"""Trending terms, hashtags and the word cloud of a set of mentions.

1. **Candidates.** Each text is normalised (``normalize_fa``: Arabic letter forms → Persian, any
   digits → Latin, ZWNJ kept inside words), links and @accounts are dropped, and the rest is cut
   into words (letters, digits, ``_``, ZWNJ) and ``#hashtags``. A term's key is its matching form
   (``fold_for_match``: ZWNJ removed, case folded), so «کتاب‌ها», «كتابها» and «کتابها» are one term,
   shown as its most frequent spelling. Persian and English stopwords, one-letter words, numbers
   and the selected topics' own query terms (they are in every mention) are left out. A term counts
   once per mention.
2. **Counts.** The most frequent candidates become listening queries (``"word"``, ``#tag``) and the
   product's matcher counts the mentions each matches, in the period and in the baseline. Those are
   the numbers shown, so a term's link (the mentions list with that query) lists exactly them.
3. **Trend score**: ``log2((p + 1) / (b × P / B + 1))``, with ``p``/``b`` the mentions containing the
   term in the period/baseline and ``P``/``B`` all mentions of each (``b × P / B`` is what the
   baseline predicts for a period of the period's size; 0 when the baseline is empty). The +1s keep
   a term seen once from scoring like one seen a hundred times. A term trends with ``p ≥ 2`` and a
   score above 0.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sokhan.core.text import ZWNJ, fold_for_match, normalize_fa
from sokhan.listening.matcher import Matcher
from sokhan.listening.query import QuerySyntaxError

CANDIDATES = 150  # most frequent candidates counted exactly
MIN_TREND_COUNT = 2
TRENDING_SIZE = 15
CLOUD_SIZE = 40
CLOUD_STEPS = 6

_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_ACCOUNT = re.compile(r"(?<![\w@])@[\w.\-]+(?:@[\w.\-]+)?")
_TOKEN = re.compile(rf"#?[\w{ZWNJ}]+")

# Small lists of the commonest function words; folded with ``fold_for_match`` below, so any
# spelling of them is caught.
_FA_STOPWORDS = """
و در به از که این آن را با برای است بود شد هم تا یا اما ولی هر یک می نمی های ها ای من تو او ما شما
آنها ایشان خود چه چرا کی کجا چون اگر پس نیز همه هیچ بر روی زیر بین بی نه شده کرد کرده کند کنند کنیم
کنم کنید کردن شود شدن باشد باشند هست هستند هستم نیست نیستند داشت دارد دارند داریم دارم داره باید شاید
خیلی بسیار چند چیزی چیز دیگر دیگه همین همان اینکه آنکه وقتی حتی فقط هنوز الان اون این‌ها اینها رو چی
یه ی میشه نمیشه بوده گفت گفته میکنم میکنه میکند می‌کند می‌شود میشود نمی‌شود بودن کردم کردیم شدم
اینجا آنجا اونجا چطور چگونه چنین چنان ام ات اش مان تان شان ایم اید اند یعنی مثل مانند درباره طور
توی تو پیش بعد قبل بدون جز غیر سر دو سه بار همچنین ضمن طی
"""
_EN_STOPWORDS = """
a an the and or but if then else of to in on at by for with from as is are was were be been being am
it its it's this that these those i me my we our you your he him his she her they them their what
which who whom whose when where why how all any both each few more most other some such no nor not
only own same so than too very can will just don't should now do does did doing have has had having
there here about above below up down out off over under again further once also get got would could
i'm im you're u ur rt via amp
"""
STOPWORDS = frozenset(fold_for_match(word) for word in (_FA_STOPWORDS + _EN_STOPWORDS).split())


@dataclass(frozen=True)
class TermCount:
    key: str  # fold_for_match form; hashtags keep their '#'
    text: str  # the most frequent spelling, for display
    query: str  # the listening query that finds it (the mentions list's ``q``)
    count: int  # mentions in the period that the query matches
    baseline: int  # in the baseline
    score: float  # the trend score (module docstring)

    @property
    def is_hashtag(self) -> bool:
        return self.key.startswith("#")


@dataclass(frozen=True)
class CloudWord:
    term: TermCount
    step: int  # 1 (smallest) .. CLOUD_STEPS, by the square root of the count


@dataclass(frozen=True)
class Terms:
    words: list[TermCount]  # trending words, best first
    hashtags: list[TermCount]  # trending hashtags, best first
    cloud: list[CloudWord]  # the most frequent terms, most frequent first
    period_total: int
    baseline_total: int


def tokens(text: str) -> Iterable[tuple[str, str]]:
    """``(key, spelling)`` of each candidate term in ``text``, repeats included."""
    text = normalize_fa(_ACCOUNT.sub(" ", _LINK.sub(" ", text)), digits="latin")
    for match in _TOKEN.finditer(text):
        raw = match.group().strip(ZWNJ)
        if raw.startswith("#"):
            before = text[match.start() - 1] if match.start() else " "
            tag = raw[1:].strip(ZWNJ)
            if before.isalnum() or before == "_" or len(fold_for_match(tag)) < 2:
                continue
            yield "#" + fold_for_match(tag), "#" + tag
            continue
        key = fold_for_match(raw)
        if len(key) < 2 or key.replace("_", "").isdigit() or key.strip("_") == "" or key in STOPWORDS:
            continue
        yield key, raw.lower()


def trend_score(count: int, baseline: int, period_total: int, baseline_total: int) -> float:
    expected = baseline * period_total / baseline_total if baseline_total else 0.0
    return math.log2((count + 1) / (expected + 1))


def _query_of(key: str, spelling: str) -> str:
    return spelling if key.startswith("#") else f'"{spelling}"'


def _counts(matcher: Matcher[str], texts: Sequence[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(matcher.match(text))
    return counts


def _cloud(terms: list[TermCount]) -> list[CloudWord]:
    if not terms:
        return []
    low, high = math.sqrt(terms[-1].count), math.sqrt(terms[0].count)
    span = high - low
    return [
        CloudWord(t, 1 + round((math.sqrt(t.count) - low) / span * (CLOUD_STEPS - 1)) if span else CLOUD_STEPS // 2)
        for t in terms
    ]


def term_stats(period: Sequence[str], baseline: Sequence[str], *, exclude: Iterable[str] = ()) -> Terms:
    """Trending words and hashtags of ``period`` against ``baseline`` (texts, one per mention)."""
    excluded = set(exclude)
    seen: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for text in period:
        found = {key: spelling for key, spelling in tokens(text) if key not in excluded}
        seen.update(found.keys())
        for key, spelling in found.items():
            spellings.setdefault(key, Counter())[spelling] += 1
    matcher: Matcher[str] = Matcher()
    shown: dict[str, tuple[str, str]] = {}
    for key, _n in sorted(seen.items(), key=lambda item: (-item[1], item[0]))[:CANDIDATES]:
        spelling = spellings[key].most_common(1)[0][0]
        query = _query_of(key, spelling)
        try:
            matcher.set(key, query)
        except QuerySyntaxError:  # a spelling the query language cannot say; leave it out
            continue
        shown[key] = (spelling, query)
    now, before = _counts(matcher, period), _counts(matcher, baseline)
    counted = [
        TermCount(
            key, spelling, query, now[key], before[key], trend_score(now[key], before[key], len(period), len(baseline))
        )
        for key, (spelling, query) in shown.items()
        if now[key]
    ]
    trending = sorted(
        (t for t in counted if t.count >= MIN_TREND_COUNT and t.score > 0), key=lambda t: (-t.score, -t.count, t.key)
    )
    frequent = sorted(counted, key=lambda t: (-t.count, t.key))[:CLOUD_SIZE]
    return Terms(
        words=[t for t in trending if not t.is_hashtag][:TRENDING_SIZE],
        hashtags=[t for t in trending if t.is_hashtag][:TRENDING_SIZE],
        cloud=_cloud(frequent),
        period_total=len(period),
        baseline_total=len(baseline),
    )

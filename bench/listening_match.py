"""Listening matcher throughput against ``grep -F -f`` on the same corpus and keywords.

Run from the repository root (``bench/listening.md`` explains the method; results go in
``bench/RESULTS.md``)::

    .venv/bin/python bench/listening_match.py --posts 1000000 --queries 1000 --breakdown --processes 2

It generates (deterministically, from ``--seed``) a corpus of realistic mixed Persian/English posts
and a set of listening queries, writes the corpus as one post per line plus a keywords file (every
distinct term of every query, as written), then in the same run times:

* ``grep -c -F -f keywords corpus`` (the issue's baseline) and, for information,
  ``grep -c -F -i -w -f keywords`` on the first ``--grep-words-posts`` posts (it is ~1,000x slower);
* the product's ``Matcher`` with all queries loaded, every post folded, matched and evaluated:
  ``match_lines`` over the corpus file's bytes (one call, each post's language and channel read from
  a side file when a ``lang:``/``channel:`` query needs them), and the per-post ``match`` loop
  (reading the corpus line by line, as ``sokhan listening match`` does);
* with ``--threads N`` / ``--processes N``, ``match_lines`` on N threads / in N processes;
* with ``--pure-python``, the per-post loop on the pure-Python engine (the "before").

grep and ``match_lines`` are timed ``--repeat`` times, alternately, and the fastest run of each is
kept (the machine is shared). CPU seconds are reported next to wall seconds. It prints one JSON
object. Generated files are kept in ``--workdir`` (default ``bench/.listening-data``) and reused
when the same sizes and seed are asked again.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sokhan.core.text import fold_with_joins  # noqa: E402
from sokhan.listening.matcher import PURE_PYTHON_ENV, Matcher  # noqa: E402
from sokhan.listening.query import terms  # noqa: E402

CHANNELS = ("telegram", "x", "instagram", "mastodon", "bluesky", "bale", "eitaa", "rss")
ZWNJ = "\u200c"


def _words(text: str) -> list[str]:
    return text.split()


PERSIAN_WORDS = _words("""
من تو او ما شما آنها این آن که را با از به در برای تا یک هم نه بله خیلی بسیار خوب بد عالی
افتضاح امروز دیروز فردا الان همیشه هیچ‌وقت کی کجا چرا چطور چی چه قیمت خرید فروش سفارش ارسال
تحویل پشتیبانی مشتری کیفیت گارانتی تخفیف جشنواره حراج فروشگاه اینترنتی گوشی لپ‌تاپ تبلت
ساعت هوشمند هدفون شارژر باتری دوربین صفحه نمایش پردازنده حافظه رم برند محصول جدید مدل نسخه
به‌روزرسانی اپلیکیشن برنامه سایت صفحه کانال گروه پیام نظر تجربه پیشنهاد انتقاد شکایت مشکل
خراب سالم اصل تقلبی گران ارزان مناسب بی‌کیفیت باکیفیت کارخانه کارمند کار کارها شرکت بازار
اقتصاد دلار تومان ریال هزار میلیون میلیارد تهران اصفهان شیراز مشهد تبریز ایران دانشگاه مدرسه
کتاب کتاب‌ها کتابخانه کتاب‌خانه دانشجو معلم استاد خانه خانواده دوست دوستان همکار مدیر رئیس
می‌خواهم می‌خرم می‌روم می‌دانم نمی‌دانم می‌شود نمی‌شود می‌کنم کردم کرد کردند شد شدند بود بودند
است نیست هست داریم دارند گفت گفتند دیدم دیدند خریدم خریدند فروختم آمد رفت رسید نرسید
پول حساب کارت بانک قسط وام چک اعتبار تراکنش انتقال درگاه پرداخت ناموفق موفق لغو مرجوعی
ماشین خودرو موتور بنزین سفر هتل بلیط پرواز قطار اتوبوس تاکسی اسنپ غذا رستوران قهوه چای نان
صبح ظهر عصر شب هفته ماه سال بهار تابستان پاییز زمستان یلدا نوروز عید تعطیلات
ها های‌مان واقعا دقیقا اصلا لطفا ممنون مرسی سلام خداحافظ متاسفانه خوشبختانه
""")

ENGLISH_WORDS = _words("""
i you he she we they it this that the a an and or but not no yes very really so too just also
good bad great awful amazing terrible love hate like need want buy sell price order delivery
shipping support customer service quality warranty discount sale deal store online phone laptop
tablet watch smart headphones charger battery camera screen display processor memory brand
product new model version update app website page channel group message review experience
problem issue broken fake original expensive cheap worth today yesterday tomorrow now always never
when where why how what who money account card bank payment failed refund cancel return car
travel hotel ticket flight train food restaurant coffee tea morning night week month year spring
summer winter holiday thanks please hello sorry unfortunately finally again still already
company market team launch release event live stream video photo post thread reply follow
""")

SYLLABLES = [
    ("ka", "کا"), ("ki", "کی"), ("ko", "کو"), ("ra", "را"), ("ri", "ری"), ("ro", "رو"), ("na", "نا"),
    ("ni", "نی"), ("no", "نو"), ("sa", "سا"), ("si", "سی"), ("so", "سو"), ("ta", "تا"), ("ti", "تی"),
    ("to", "تو"), ("ma", "ما"), ("mi", "می"), ("mo", "مو"), ("la", "لا"), ("li", "لی"), ("lo", "لو"),
    ("da", "دا"), ("di", "دی"), ("do", "دو"), ("ba", "با"), ("bi", "بی"), ("bo", "بو"), ("pa", "پا"),
    ("pi", "پی"), ("va", "وا"), ("vi", "وی"), ("za", "زا"), ("zi", "زی"), ("sha", "شا"), ("shi", "شی"),
    ("fa", "فا"), ("fi", "فی"), ("ga", "گا"), ("gi", "گی"), ("ya", "یا"), ("ar", "ار"), ("el", "ال"),
]  # fmt: skip
ENDINGS = [("n", "ن"), ("r", "ر"), ("x", "کس"), ("k", "ک"), ("s", "س"), ("t", "ت"), ("", ""), ("", "")]
MODELS = [("Pro", "پرو"), ("Max", "مکس"), ("Lite", "لایت"), ("Plus", "پلاس"), ("Mini", "مینی"), ("Ultra", "اولترا")]
EMOJI = ["😍", "😡", "👍", "🔥", "💔", "🙏", "😂", "👨\u200d👩\u200d👧", "🇮🇷", "✅"]
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
EXCLUSIONS_FA = ["استخدام", "آگهی", "کد تخفیف", "قرعه‌کشی", "فیلترشکن"]
EXCLUSIONS_EN = ["jobs", "hiring", "giveaway", "coupon", "vpn"]


@dataclass(frozen=True)
class Brand:
    latin: str
    persian: str
    handle: str
    model: tuple[str, str]  # a product: "Latin Pro 12", «فارسی پرو ۱۲»
    campaign: str  # a campaign hashtag body


def make_brands(rng: random.Random, count: int) -> list[Brand]:
    common = {word.lower() for word in ENGLISH_WORDS} | set(PERSIAN_WORDS)
    brands: list[Brand] = []
    seen: set[str] = set()
    while len(brands) < count:
        parts = [rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3)))]
        ending = rng.choice(ENDINGS)
        latin = "".join(part[0] for part in parts) + ending[0]
        persian = "".join(part[1] for part in parts) + ending[1]
        if latin in seen or latin in common or persian in common or len(latin) < 4:
            continue
        seen.add(latin)
        model_name = rng.choice(MODELS)
        number = str(rng.randint(2, 30))
        model = (f"{latin.capitalize()} {model_name[0]} {number}", f"{persian} {model_name[1]} {number}")
        campaign = rng.choice(["یلدا", "نوروز", "جشنواره", "حراج", "sale", "launch"]) + "_" + persian
        brands.append(Brand(latin.capitalize(), persian, latin + rng.choice(["", "_ir", "official", "app"]),
                            model, campaign))  # fmt: skip
    return brands


def make_queries(rng: random.Random, brands: list[Brand]) -> list[str]:
    queries: list[str] = []
    for brand in brands:
        kind = rng.random()
        names = [brand.latin, brand.persian]
        if kind < 0.60:  # a brand topic: names, hashtags, account
            options = [brand.latin, brand.persian, f"#{brand.latin}", f"#{brand.persian}", f"@{brand.handle}"]
            chosen = names + rng.sample(options[2:], rng.randint(0, 3))
            queries.append(" OR ".join(chosen))
        elif kind < 0.75:  # a product topic: phrases, or the brand near a buying word
            queries.append(
                f'"{brand.model[0]}" OR «{brand.model[1]}» OR ({brand.latin} OR {brand.persian}) '
                f"(price OR قیمت OR خرید)"
            )
        elif kind < 0.85:  # a campaign
            queries.append(f"#{brand.campaign} OR ({brand.persian} {brand.campaign.split('_')[0]})")
        elif kind < 0.95:  # a competitor with exclusions
            excluded = rng.sample(EXCLUSIONS_FA, 2) + rng.sample(EXCLUSIONS_EN, 1)
            exclusions = " ".join(f'-"{word}"' if " " in word else f"-{word}" for word in excluded)
            queries.append(f"({brand.latin} OR {brand.persian}) {exclusions}")
        else:  # narrowed by language or channel
            field = rng.choice(["lang:fa", "lang:en", f"channel:{rng.choice(CHANNELS)}"])
            queries.append(f"({brand.latin} OR {brand.persian} OR #{brand.latin}) {field}")
    return queries


def _digits(rng: random.Random, number: str) -> str:
    script = rng.random()
    if script < 0.55:
        return number.translate(str.maketrans("0123456789", PERSIAN_DIGITS))
    if script < 0.65:
        return number.translate(str.maketrans("0123456789", ARABIC_DIGITS))
    return number


def _arabic_letters(text: str) -> str:
    return text.replace("ی", "ي").replace("ک", "ك")


def make_post(rng: random.Random, brands: list[Brand], weights: list[float]) -> tuple[str, str, str]:
    """One post: (text, lang, channel)."""
    roll = rng.random()
    lang = "fa" if roll < 0.6 else "en" if roll < 0.9 else "fa"  # the last 10 % mix both languages
    mixed = roll >= 0.9
    length = max(3, min(90, int(rng.lognormvariate(2.7, 0.7))))
    vocabulary = PERSIAN_WORDS if lang == "fa" else ENGLISH_WORDS
    words = [rng.choice(vocabulary) for _ in range(length)]
    if mixed:
        for _ in range(max(1, length // 4)):
            words[rng.randrange(length)] = rng.choice(ENGLISH_WORDS)
    if lang == "en" and rng.random() < 0.3:
        words[0] = words[0].capitalize()
    if rng.random() < 0.35:  # a brand is mentioned (popular brands more often)
        brand = rng.choices(brands, weights)[0]
        what = rng.random()
        if what < 0.1:
            name = brand.model[1] if lang == "fa" else brand.model[0]
            name = _digits(rng, name) if lang == "fa" else name
        elif what < 0.2:
            name = f"#{brand.persian if lang == 'fa' else brand.latin}"
        elif what < 0.27:
            name = f"@{brand.handle}"
        elif what < 0.32:
            name = f"#{brand.campaign}"
        elif lang == "fa" and rng.random() < 0.75:
            name = brand.persian + rng.choice(["", "", "", f"{ZWNJ}ها", "ی"])
        else:
            name = rng.choice([brand.latin, brand.latin.lower(), brand.latin.upper()])
        words.insert(rng.randrange(len(words) + 1), name)
    if rng.random() < 0.08:  # an excluded word, for the competitor topics
        words.insert(rng.randrange(len(words) + 1), rng.choice(EXCLUSIONS_FA if lang == "fa" else EXCLUSIONS_EN))
    if rng.random() < 0.3:
        number = rng.choice([str(rng.randint(1, 999)) + "000", "1404", "1403", f"{rng.randint(5, 70)}%"])
        words.insert(rng.randrange(len(words) + 1), _digits(rng, number) if lang == "fa" else number)
    if rng.random() < 0.3:
        for _ in range(rng.randint(1, 4)):
            tag = rng.choice(vocabulary).replace(ZWNJ, "_")
            words.append("#" + tag)
    if rng.random() < 0.15:
        words.insert(0, "@" + rng.choice(brands).handle + rng.choice(["", "_fan", "2"]))
    if rng.random() < 0.1:
        words.append(f"https://example.com/p/{rng.randint(1, 10**6)}")
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words) + 1), rng.choice(EMOJI))
    text = " ".join(words)
    if lang == "fa" and rng.random() < 0.15:  # typed on an Arabic keyboard
        text = _arabic_letters(text)
    if lang == "fa" and rng.random() < 0.03:  # a little decoration: kashida and a kasra
        text = text.replace("ب", "بـ", 1).replace("ن", "نِ", 1)
    if rng.random() < 0.05:
        text = text.replace(" ", "  ", 1) + rng.choice(["!", "؟", "!!", "..."])
    return text, lang, rng.choice(CHANNELS)


def generate(workdir: Path, posts: int, queries: int, seed: int) -> tuple[Path, Path, Path, Path]:
    """Write (or reuse) corpus.txt, meta.tsv, queries.txt and keywords.txt for these sizes."""
    base = workdir / f"p{posts}-q{queries}-s{seed}"
    files = (base / "corpus.txt", base / "meta.tsv", base / "queries.txt", base / "keywords.txt")
    if all(path.exists() for path in files):
        return files
    base.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    brands = make_brands(rng, queries)
    query_texts = make_queries(rng, brands)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(brands))]  # Zipf-like popularity
    with open(files[0], "w", encoding="utf-8") as corpus, open(files[1], "w", encoding="utf-8") as meta:
        for _ in range(posts):
            text, lang, channel = make_post(rng, brands, weights)
            corpus.write(text + "\n")
            meta.write(f"{lang}\t{channel}\n")
    files[2].write_text("".join(q + "\n" for q in query_texts), encoding="utf-8")
    matcher: Matcher[int] = Matcher(channels=CHANNELS)
    keywords: dict[str, None] = {}
    for index, query in enumerate(query_texts):
        for term in terms(matcher.set(index, query)):
            keywords[term.text] = None
    files[3].write_text("".join(k + "\n" for k in keywords), encoding="utf-8")
    return files


def _lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            yield line.rstrip("\n")


def _matcher(queries: list[str], *, pure: bool = False) -> Matcher[int]:
    if pure:
        os.environ[PURE_PYTHON_ENV] = "1"
    try:
        matcher: Matcher[int] = Matcher(channels=CHANNELS)
    finally:
        os.environ.pop(PURE_PYTHON_ENV, None)
    for index, query in enumerate(queries):
        matcher.set(index, query)
    matcher.rebuild()
    return matcher


class _Column(Sequence[str]):
    """Column ``index`` of ``meta.tsv`` (lang, channel), split only for the lines that are asked."""

    def __init__(self, lines: list[str], index: int, offset: int = 0) -> None:
        self._lines = lines
        self._index = index
        self._offset = offset

    def __len__(self) -> int:
        return len(self._lines) - self._offset

    @overload
    def __getitem__(self, item: int) -> str: ...
    @overload
    def __getitem__(self, item: slice) -> Sequence[str]: ...
    def __getitem__(self, item: int | slice) -> str | Sequence[str]:
        if isinstance(item, slice):
            raise TypeError("a column is indexed by line number")
        return self._lines[item + self._offset].split("\t")[self._index]


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(started: tuple[float, float]) -> dict[str, float]:
    wall, cpu = _clock()
    return {"seconds": round(wall - started[0], 3), "cpu_seconds": round(cpu - started[1], 3)}


def _counts(found: Iterable[Collection[int]]) -> dict[str, int]:
    matched_posts = matches = 0
    for ids in found:
        matched_posts += 1
        matches += len(ids)
    return {"matched_posts": matched_posts, "matches": matches}


def time_match_lines(matcher: Matcher[int], corpus: Path, meta: Path, threads: int = 1) -> dict[str, Any]:
    """The bulk path: the corpus file's bytes in one ``match_lines`` call (reading included)."""
    started = _clock()
    data = corpus.read_bytes()
    lines = meta.read_text(encoding="utf-8").split("\n")
    found = matcher.match_lines(data, langs=_Column(lines, 0), channels=_Column(lines, 1), threads=threads)
    timing = _since(started)
    return {**timing, **_counts(ids for _, ids in found), "threads": threads}


def time_match_per_post(matcher: Matcher[int], corpus: Path, meta: Path) -> dict[str, Any]:
    """The per-post path: read line by line, ``matcher.match(text, lang=…, channel=…)``."""
    matched_posts = matches = 0
    started = _clock()
    for text, info in zip(_lines(corpus), _lines(meta), strict=True):
        lang, channel = info.split("\t")
        found = matcher.match(text, lang=lang, channel=channel)
        if found:
            matched_posts += 1
            matches += len(found)
    return {**_since(started), "matched_posts": matched_posts, "matches": matches}


def time_breakdown(matcher: Matcher[int], corpus: Path) -> dict[str, float]:
    """Where ``match_lines``' time goes: folding alone, then everything (no file reading)."""
    data = corpus.read_bytes()
    fold_only: Matcher[int] = Matcher()
    fold_only.set(0, "\u2603\u2603")  # a term no post contains: the fold runs, no walk ever starts
    started = _clock()
    fold_only.match_lines(data)
    fold = _since(started)
    started = _clock()
    matcher.match_lines(data)
    full = _since(started)
    return {"fold_cpu_seconds": fold["cpu_seconds"], "match_lines_cpu_seconds": full["cpu_seconds"]}


def time_breakdown_python(matcher: Matcher[int], corpus: Path) -> dict[str, float]:
    """The pure-Python engine: folding alone, folding + automaton + boundaries."""
    texts = list(_lines(corpus))
    started = time.perf_counter()
    for text in texts:
        fold_with_joins(text)
    fold = time.perf_counter() - started
    started = time.perf_counter()
    for text in texts:
        matcher.hits(text)
    hits = time.perf_counter() - started
    return {"fold_seconds": round(fold, 3), "fold_and_hits_seconds": round(hits, 3)}


_SHARED: dict[str, Any] = {}  # what forked workers inherit: the compiled matcher


def _match_share(args: tuple[Path, Path, int, int, int]) -> tuple[int, int, float]:
    corpus, meta, begin, end, first_line = args
    matcher: Matcher[int] = _SHARED["matcher"]
    started = time.process_time()
    with open(corpus, "rb") as stream:
        stream.seek(begin)
        data = stream.read(end - begin)
    lines = meta.read_text(encoding="utf-8").split("\n")
    found = matcher.match_lines(data, langs=_Column(lines, 0, first_line), channels=_Column(lines, 1, first_line))
    counts = _counts(ids for _, ids in found)
    return counts["matched_posts"], counts["matches"], time.process_time() - started


def time_matcher_parallel(matcher: Matcher[int], corpus: Path, meta: Path, processes: int) -> dict[str, Any]:
    """``match_lines`` in ``processes`` forked processes (they inherit the compiled matcher), each on
    a run of whole lines of about the same size."""
    import multiprocessing

    size = corpus.stat().st_size
    started = _clock()
    with open(corpus, "rb") as stream:
        data = stream.read()
    bounds, lines_before = [0], [0]
    for part in range(1, processes):
        cut = data.find(b"\n", size * part // processes) + 1 or size
        lines_before.append(lines_before[-1] + data.count(b"\n", bounds[-1], cut))
        bounds.append(cut)
    bounds.append(size)
    del data
    _SHARED["matcher"] = matcher
    shares = [(corpus, meta, bounds[k], bounds[k + 1], lines_before[k]) for k in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.map(_match_share, shares)
    timing = _since(started)
    return {
        "processes": processes,
        **timing,
        "cpu_seconds": round(sum(part[2] for part in parts), 3),  # the workers' CPU
        "matched_posts": sum(part[0] for part in parts),
        "matches": sum(part[1] for part in parts),
    }


def time_grep(corpus: Path, keywords: Path, *flags: str) -> dict[str, Any]:
    command = ["grep", "-c", "-F", *flags, "-f", str(keywords), str(corpus)]
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return {"command": " ".join(["grep", "-c", "-F", *flags, "-f", keywords.name, corpus.name]),
            "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
            "matched_lines": int(result.stdout.strip() or 0)}  # fmt: skip


def time_recompile(matcher: Matcher[int], queries: list[str]) -> dict[str, float]:
    """Incremental changes: one query edited (same terms / a new term), one removed, then match."""
    result: dict[str, float] = {}
    started = time.perf_counter()
    matcher.rebuild()
    result["full_rebuild_ms"] = round((time.perf_counter() - started) * 1000, 2)
    rebuilds = matcher.rebuilds
    started = time.perf_counter()
    matcher.set(0, f"({queries[0]}) -zzzexcluded")
    matcher.match("warm")
    result["edit_one_query_new_term_ms"] = round((time.perf_counter() - started) * 1000, 2)
    started = time.perf_counter()
    matcher.set(0, queries[0])  # back: only refcounts change, no term is new, no rebuild
    matcher.match("warm")
    result["edit_one_query_known_terms_ms"] = round((time.perf_counter() - started) * 1000, 2)
    result["rebuilds_for_the_two_edits"] = matcher.rebuilds - rebuilds
    return result


def _rate(posts: int, timing: dict[str, Any], grep: dict[str, Any]) -> dict[str, Any]:
    """posts/s and the ratio to grep (grep seconds / these seconds: >= 1 is at least as fast)."""
    out = {**timing, "posts_per_s": round(posts / float(timing["seconds"]))}
    out["ratio_vs_grep"] = round(float(grep["seconds"]) / float(timing["seconds"]), 3)
    if timing.get("cpu_seconds"):
        out["cpu_ratio_vs_grep"] = round(float(grep["cpu_seconds"]) / float(timing["cpu_seconds"]), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1404)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / ".listening-data")
    parser.add_argument("--breakdown", action="store_true", help="Also time folding alone.")
    parser.add_argument("--processes", type=int, default=1, help="Also time match_lines in this many processes.")
    parser.add_argument("--threads", type=int, default=1, help="Also time match_lines on this many threads.")
    parser.add_argument("--repeat", type=int, default=3, help="Time grep and match_lines this many times each.")
    parser.add_argument("--pure-python", action="store_true", help="Also time the pure-Python engine (slow).")
    parser.add_argument(
        "--grep-words-posts", type=int, default=20_000, help="Posts (a prefix) that grep -F -i -w is timed on."
    )
    args = parser.parse_args()
    load_before = os.getloadavg()

    started = time.perf_counter()
    corpus, meta, queries_file, keywords = generate(args.workdir, args.posts, args.queries, args.seed)
    generate_seconds = time.perf_counter() - started
    queries = queries_file.read_text(encoding="utf-8").splitlines()

    started = time.perf_counter()
    matcher = _matcher(queries)
    compile_seconds = time.perf_counter() - started
    if matcher.engine != "c":
        raise SystemExit(f"the C engine is not in use (Matcher().engine == {matcher.engine!r}); see docs/listening.md")

    greps: list[dict[str, Any]] = []
    ours: list[dict[str, Any]] = []
    for _ in range(args.repeat):  # alternately, so that both see the same load
        greps.append(time_grep(corpus, keywords))
        ours.append(time_match_lines(matcher, corpus, meta))
    grep_plain = min(greps, key=lambda run: float(run["seconds"]))
    best = min(ours, key=lambda run: float(run["seconds"]))
    per_post = time_match_per_post(matcher, corpus, meta)
    counts = (best["matched_posts"], best["matches"])
    if (per_post["matched_posts"], per_post["matches"]) != counts:
        raise SystemExit(f"match_lines and match disagree: {counts} != {per_post}")

    # grep -i -w with multibyte keywords is ~1,000x slower than -F alone: time it on a prefix.
    sample = corpus.with_name(f"sample-{args.grep_words_posts}.txt")
    if not sample.exists():
        with open(corpus, encoding="utf-8") as source:
            sample.write_text("".join(line for _, line in zip(range(args.grep_words_posts), source, strict=False)))
    sample_posts = min(args.grep_words_posts, args.posts)
    grep_words = time_grep(sample, keywords, "-i", "-w")
    size = corpus.stat().st_size
    result: dict[str, object] = {
        "posts": args.posts,
        "queries": len(queries),
        "terms": matcher.term_count,
        "keywords": len(keywords.read_text(encoding="utf-8").splitlines()),
        "corpus_mb": round(size / 1e6, 1),
        "engine": matcher.engine,
        "load_average_before": [round(load, 2) for load in load_before],
        "generate_seconds": round(generate_seconds, 1),
        "compile_seconds": round(compile_seconds, 3),
        "grep": {**grep_plain, "posts_per_s": round(args.posts / float(grep_plain["seconds"]))},
        "grep_runs": [run["seconds"] for run in greps],
        "matcher": _rate(args.posts, best, grep_plain),
        "matcher_runs": [run["seconds"] for run in ours],
        "matcher_per_post": _rate(args.posts, per_post, grep_plain),
        "grep_i_w": {
            **grep_words,
            "posts": sample_posts,
            "posts_per_s": round(sample_posts / float(grep_words["seconds"])),
        },
        "ratio_vs_grep": round(float(grep_plain["seconds"]) / float(best["seconds"]), 3),
        "ratio_vs_grep_i_w": round(
            (args.posts / float(best["seconds"])) / (sample_posts / float(grep_words["seconds"])), 1
        ),
        "recompile": time_recompile(_matcher(queries), queries),
    }
    if args.threads > 1:
        threaded = time_match_lines(matcher, corpus, meta, threads=args.threads)
        result["matcher_threads"] = _rate(args.posts, threaded, grep_plain)
    if args.processes > 1:
        parallel = time_matcher_parallel(matcher, corpus, meta, args.processes)
        result["matcher_parallel"] = _rate(args.posts, parallel, grep_plain)
    for key in ("matcher_threads", "matcher_parallel"):
        part = result.get(key)
        if isinstance(part, dict) and (part["matched_posts"], part["matches"]) != counts:
            raise SystemExit(f"{key} disagrees with match_lines: {part} != {counts}")
    if args.breakdown:
        result["breakdown"] = time_breakdown(matcher, corpus)
    if args.pure_python:
        pure = _matcher(queries, pure=True)
        before = time_match_per_post(pure, corpus, meta)
        if (before["matched_posts"], before["matches"]) != counts:
            raise SystemExit(f"the pure-Python engine disagrees: {before} != {counts}")
        result["pure_python"] = _rate(args.posts, before, grep_plain)
        if args.breakdown:
            result["pure_python_breakdown"] = time_breakdown_python(pure, corpus)
    result["load_average_after"] = [round(load, 2) for load in os.getloadavg()]
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""``sokhan bench sentiment``: texts per second of ``sokhan.sentiment.analyze_many`` on 1 and 2 processes.

What one run does (results in ``bench/RESULTS.md``):

1. Collects the texts: every ``text`` of the ``--input`` files (TSV with a ``text`` column, as in
   ``shared/data/sentiment``, or JSON lines with a ``"text"``), or, without inputs, a built-in mix
   of made-up Persian and English comments (half each, 1–3 clauses, some with a mention, a link,
   an emoji or a Persian digit). Shuffled with a fixed seed and cycled or cut to ``--texts``.
2. For each process count P (``--processes``, default 1 and 2): starts P fresh processes
   (``spawn``), each of which builds the configured backend and labels a few texts (model loading
   is not timed), then all wait at a barrier. From the barrier each labels its contiguous share of
   the texts with one ``analyze_many`` call, no language hint (the script decides, as in the inbox).
   Wall time runs from the barrier until the parent has every process's answer; each process also
   reports its own CPU time (``time.process_time``).
3. Repeats that ``--rounds`` times and prints one JSON line per P: the median round's seconds and
   texts/s, the best round's texts/s, CPU milliseconds per text (all processes' CPU time ÷ texts:
   less sensitive to other work on a shared machine than wall time) and the 1-minute load average
   before the run.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from sokhan.ops.bench_publish import BenchError


@dataclass(frozen=True)
class Options:
    texts: int = 20_000
    processes: tuple[int, ...] = (1, 2)
    rounds: int = 3
    inputs: tuple[Path, ...] = ()
    seed: int = 7


_FA_CLAUSES = (
    "غذا خیلی سرد رسید",
    "پیک خیلی مودب و خوش‌برخورد بود",
    "کیفیت پیتزا عالی بود و داغ رسید",
    "دیگه از این رستوران سفارش نمیدم",
    "سفارش ۴۵ دقیقه دیرتر از زمان اعلام شده رسید",
    "ممنون از پشتیبانی سریع‌تون",
    "حجم غذا نسبت به قیمت خیلی کم بود",
    "طعمش معمولی بود ولی بسته‌بندی تمیز بود",
    "سلام، سفارشم هنوز نرسیده",
    "بهترین کباب کوبیده‌ای که تا حالا خوردم",
    "نوشابه رو فراموش کرده بودن بفرستن",
    "برنج شفته و بی‌کیفیت بود",
    "لطفاً ساعت کاری فروشگاه رو اعلام کنید",
    "کارتون عالیه، موفق باشید",
    "قیمت‌ها خیلی بالا رفته",
    "سالاد تازه و خوشمزه بود",
    "دو بار زنگ زدم کسی جواب نداد",
    "تخفیف خوبی داشت، باز هم سفارش میدم",
)
_EN_CLAUSES = (
    "the delivery was late again",
    "I love the new update, great job",
    "customer service never answered my email",
    "just ordered the blue one",
    "worst experience I've had with an airline",
    "thanks for the quick reply",
    "the app keeps crashing on my phone",
    "can't wait for the concert tomorrow night",
    "not sure what to think about the new design",
    "this is exactly what I needed today",
    "the store opens at 9 on Sundays",
    "why is the price so high now",
    "amazing food and friendly staff",
    "still waiting for my refund after two weeks",
    "watching the game with friends tonight",
    "the battery life is disappointing",
    "happy birthday to the best team ever",
    "my order arrived damaged",
)
_EXTRAS = ("", "", "", "", " 😍", " 😡", " @support", " https://example.com/p/1", "!!", "?", " 🙏")


def made_up_texts(count: int, seed: int) -> list[str]:
    """``count`` comments, half Persian and half English, each 1–3 clauses with the odd extra."""
    rng = random.Random(seed)  # noqa: S311  # test data, not secrets
    texts = []
    for i in range(count):
        clauses = _FA_CLAUSES if i % 2 == 0 else _EN_CLAUSES
        joiner = "، " if clauses is _FA_CLAUSES else ", "
        picked = rng.sample(clauses, rng.choice((1, 1, 2, 2, 3)))
        texts.append(joiner.join(picked) + rng.choice(_EXTRAS))
    return texts


def read_texts(path: Path) -> list[str]:
    """The texts of a TSV file with a ``text`` column (header line) or of JSON lines with ``"text"``."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            if path.suffix in {".jsonl", ".json", ".ndjson"}:
                items = [json.loads(line) for line in handle if line.strip()]
                return [item["text"] for item in items if isinstance(item, dict) and isinstance(item.get("text"), str)]
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, [])
            if "text" not in header:
                raise BenchError(f"{path}: a TSV input needs a header line with a 'text' column")
            column = header.index("text")
            return [row[column] for row in reader if len(row) > column]
    except (OSError, ValueError) as error:
        raise BenchError(f"{path}: {error}") from error


def corpus(options: Options) -> list[str]:
    if options.inputs:
        texts = [text for path in options.inputs for text in read_texts(path) if text.strip()]
        if not texts:
            raise BenchError("the inputs hold no texts")
    else:
        texts = made_up_texts(min(options.texts, 20_000), options.seed)
    random.Random(options.seed).shuffle(texts)  # noqa: S311  # a fixed order, not secrets
    return [texts[i % len(texts)] for i in range(options.texts)]


def _worker(texts: list[str], barrier: Barrier, results: Any) -> None:
    from sokhan.sentiment import analyze_many, get_backend

    backend = get_backend()
    backend.analyze_many(texts[:20])  # warm-up: model loading and first calls are not timed
    barrier.wait()
    started = time.process_time()
    labels = analyze_many(texts)
    cpu = time.process_time() - started
    counts = {label: 0 for label in ("positive", "neutral", "negative")}
    for sentiment in labels:
        counts[sentiment.label] += 1
    results.put({"texts": len(labels), "cpu": cpu, "labels": counts, "backend": type(backend).__name__})


def run_round(texts: Sequence[str], processes: int) -> dict[str, Any]:
    """One timed round on ``processes`` fresh processes; ``seconds`` from the barrier to the last answer."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    results = context.Queue()
    share = -(-len(texts) // processes)
    workers = [
        context.Process(target=_worker, args=(list(texts[i * share : (i + 1) * share]), barrier, results))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        barrier.wait(timeout=300)
        started = time.perf_counter()
        answers = [results.get(timeout=1800) for _ in workers]
        seconds = time.perf_counter() - started
    except Exception as error:
        raise BenchError(f"a benchmark process failed: {error!r}") from error
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.terminate()
    labels = {label: sum(a["labels"][label] for a in answers) for label in ("positive", "neutral", "negative")}
    return {
        "seconds": seconds,
        "texts": sum(a["texts"] for a in answers),
        "cpu": sum(a["cpu"] for a in answers),
        "labels": labels,
        "backend": answers[0]["backend"],
    }


def run(options: Options, log: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    if options.texts < 1 or options.rounds < 1 or any(p < 1 for p in options.processes):
        raise BenchError("--texts, --rounds and --processes must be at least 1")
    texts = corpus(options)
    fa = sum(any("\u0600" <= ch <= "\u06ff" for ch in text) for text in texts)
    log(f"{len(texts)} texts ({fa} with Arabic-script letters), mean {sum(map(len, texts)) / len(texts):.0f} chars")
    summaries = []
    for processes in options.processes:
        load = os.getloadavg()[0]
        rounds = []
        for number in range(options.rounds):
            result = run_round(texts, processes)
            rate = result["texts"] / result["seconds"]
            cpu_ms = 1000 * result["cpu"] / result["texts"]
            log(
                f"{processes} process(es), round {number + 1}: {result['seconds']:.2f} s, "
                f"{rate:.0f} texts/s, cpu {cpu_ms:.3f} ms/text"
            )
            rounds.append(result)
        rounds.sort(key=lambda r: r["seconds"])
        median = rounds[len(rounds) // 2]
        summaries.append(
            {
                "processes": processes,
                "texts": median["texts"],
                "rounds": len(rounds),
                "seconds": round(median["seconds"], 3),
                "texts_per_s": round(median["texts"] / median["seconds"]),
                "best_texts_per_s": round(rounds[0]["texts"] / rounds[0]["seconds"]),
                "cpu_ms_per_text": round(1000 * statistics.median(r["cpu"] / r["texts"] for r in rounds), 4),
                "load_1min_before": round(load, 2),
                "backend": median["backend"],
                "labels": median["labels"],
            }
        )
    return summaries

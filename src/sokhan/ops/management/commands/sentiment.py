"""``sokhan sentiment [--json] [--lang CODE]``: label texts on standard input as positive/neutral/negative.

With ``--json`` each input line is a JSON object ``{"id": …, "text": "…", "lang": "fa"}`` (``id``
is echoed back as given, ``lang`` is optional) and each output line is
``{"id": …, "label": "…", "score": 0.1234}``. Without it each input line is a text and each output
line is ``label<TAB>score<TAB>text``. Blank lines are skipped. Output is written line by line, so a
bad line (invalid UTF-8, not a JSON object, no string ``text``) stops the run with exit status 2
and a message naming the line; the lines before it have been answered, that one has not.
The model is offline (``docs/sentiment.md``).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sokhan.sentiment import analyze


def input_lines(stream: BinaryIO) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each non-blank line, without its line ending."""
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise CommandError(f"Line {number}: not valid UTF-8 (byte {error.start}).", returncode=2) from None
        line = line.rstrip("\r\n")
        if line.strip():
            yield number, line


def parse_request(number: int, line: str) -> tuple[Any, str, str]:
    """``(id, text, lang)`` of one ``--json`` input line, or a CommandError naming the line."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        raise CommandError(
            f"Line {number}: not valid JSON ({error.msg}, column {error.colno}).", returncode=2
        ) from None
    if not isinstance(item, dict):
        raise CommandError(f'Line {number}: expected a JSON object like {{"id": 1, "text": "..."}}.', returncode=2)
    text = item.get("text")
    if not isinstance(text, str):
        problem = "has no" if text is None else "has a non-string"
        raise CommandError(f'Line {number}: the object {problem} "text".', returncode=2)
    lang = item.get("lang", "")
    if lang is None:
        lang = ""
    if not isinstance(lang, str):
        raise CommandError(f'Line {number}: "lang" must be a language code such as "fa" or "en".', returncode=2)
    return item.get("id"), text, lang


class Command(BaseCommand):
    help = "Label each text on standard input as positive, neutral or negative (offline model)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            help='Read JSON lines {"id", "text", "lang"?} and print JSON lines {"id", "label", "score"}.',
        )
        parser.add_argument(
            "--lang",
            default="",
            metavar="CODE",
            help="Language of every text (fa or en); default: per line 'lang', else decided by the script.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # A replaced sys.stdin (as in tests) may have no byte buffer.
        stream: BinaryIO = getattr(sys.stdin, "buffer", None) or io.BytesIO(sys.stdin.read().encode("utf-8"))
        default_lang: str = options["lang"]
        for number, line in input_lines(stream):
            if options["json"]:
                ident, text, lang = parse_request(number, line)
                result = analyze(text, lang or default_lang)
                # + 0.0 turns a rounded -0.0 into 0.0.
                answer = {"id": ident, "label": result.label, "score": round(result.score, 4) + 0.0}
                self.stdout.write(json.dumps(answer, ensure_ascii=False))
            else:
                result = analyze(line, default_lang)
                self.stdout.write(f"{result.label}\t{result.score:.4f}\t{line}")

"""``sokhan listening match --query Q [--json] [--lang CODE] [--channel KEY]``: a listening query tester.

Runs the product's matcher (``sokhan.listening.matcher``) with one query over standard input.
With ``--json`` each input line is a JSON object ``{"id": …, "text": "…", "lang": "fa",
"channel": "telegram"}`` (``id`` is echoed back as given; ``lang`` and ``channel`` are optional and
feed ``lang:``/``channel:``) and each *matching* item prints one line ``{"id": …}``. Without it each
input line is a text and the matching lines are printed as they are, like grep. Blank lines are
skipped. ``--lang``/``--channel`` are the defaults for items that do not say.

Exit status 0 after reading all of standard input (whether or not anything matched); 2 for a query
with a syntax error (the message gives the column and what was expected) or for a bad input line
(not UTF-8, not a JSON object, no string ``text``): the message names the line, and the lines
before it have been answered.

``sokhan listening import --workspace SLUG --format jsonl|csv FILE``: see ``sokhan.listening.import_cli``.
``sokhan listening corrections --workspace SLUG``: see ``sokhan.listening.corrections_cli``.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sokhan.listening import corrections_cli, import_cli
from sokhan.listening.matcher import Matcher
from sokhan.listening.query import QuerySyntaxError


def _input_lines(stream: BinaryIO) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each non-blank line, without its line ending."""
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise CommandError(f"Line {number}: not valid UTF-8 (byte {error.start}).", returncode=2) from None
        line = line.rstrip("\r\n")
        if line.strip():
            yield number, line


def _optional_string(number: int, item: dict[str, Any], key: str, example: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CommandError(f'Line {number}: "{key}" must be a string such as "{example}".', returncode=2)
    return value


def _parse_item(number: int, line: str) -> tuple[Any, str, str, str]:
    """``(id, text, lang, channel)`` of one ``--json`` line, or a CommandError naming the line."""
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
    lang = _optional_string(number, item, "lang", "fa")
    channel = _optional_string(number, item, "channel", "telegram")
    return item.get("id"), text, lang, channel


class Command(BaseCommand):
    help = (
        "Listening tools. 'match' runs one listening query over texts on standard input; "
        "'import' stores mentions from a JSONL or CSV file; 'corrections' prints sentiment corrections as JSON lines."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        match = actions.add_parser(
            "match",
            help="Print the input items a listening query matches (the product's matcher).",
            description=(
                'Reads JSON lines {"id", "text", "lang"?, "channel"?} (with --json) or plain lines of text on '
                'standard input and prints {"id"} (or the line) for each one the query matches. The query '
                "language is described in docs/listening.md."
            ),
        )
        match.add_argument("--query", required=True, metavar="Q", help="The listening query, e.g. 'apple -pie'.")
        match.add_argument(
            "--json",
            action="store_true",
            help='Read JSON lines {"id", "text", "lang"?, "channel"?} and print {"id"} of each match.',
        )
        match.add_argument("--lang", default="", metavar="CODE", help="Language of items that do not give one.")
        match.add_argument("--channel", default="", metavar="KEY", help="Channel of items that do not give one.")
        import_cli.add_parser(actions)
        corrections_cli.add_parser(actions)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "corrections":
            corrections_cli.run(options, self.stdout)
            return
        if options["action"] == "import":
            import_cli.run(options, self.stdout, self.stderr)
            return
        matcher: Matcher[int] = Matcher()
        try:
            matcher.set(0, options["query"])
        except QuerySyntaxError as error:
            raise CommandError(f"--query: {error}", returncode=2) from None
        # A replaced sys.stdin (as in tests) may have no byte buffer.
        stream: BinaryIO = getattr(sys.stdin, "buffer", None) or io.BytesIO(sys.stdin.read().encode("utf-8"))
        default_lang: str = options["lang"]
        default_channel: str = options["channel"]
        for number, line in _input_lines(stream):
            if options["json"]:
                ident, text, lang, channel = _parse_item(number, line)
                if matcher.match(text, lang=lang or default_lang, channel=channel or default_channel):
                    self.stdout.write(json.dumps({"id": ident}, ensure_ascii=False))
            elif matcher.match(line, lang=default_lang, channel=default_channel):
                self.stdout.write(line)

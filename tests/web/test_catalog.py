"""The Persian catalog is complete: no empty or fuzzy entries, every template string translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.utils.translation import trim_whitespace

import sokhan

SRC = Path(sokhan.__file__).resolve().parent
PO = SRC / "locale" / "fa" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")

TRANSLATE_RE = re.compile(r"""\{%\s*(?:translate|trans)\s+(?P<q>["'])(?P<text>.*?)(?P=q)(?P<rest>[^%]*)%\}""")
BLOCK_RE = re.compile(
    r"\{%\s*(?:blocktranslate|blocktrans)(?P<args>[^%]*)%\}(?P<body>.*?)\{%\s*(?:endblocktranslate|endblocktrans)\s*%\}",
    re.S,
)
VAR_RE = re.compile(r"\{\{\s*(\w+)\s*\}\}")
CONTEXT_RE = re.compile(r"""context\s+(["'])(.*?)\1""")


def _catalog() -> Catalog:
    with PO.open("rb") as fh:
        return read_po(fh)


def template_messages() -> list[tuple[str, str | None, str]]:
    """(msgid, context, where) for every translatable string in the templates under src/sokhan."""
    found: list[tuple[str, str | None, str]] = []
    for path in sorted(SRC.rglob("templates/**/*.html")) + sorted(SRC.rglob("templates/**/*.txt")):
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(SRC))
        for match in TRANSLATE_RE.finditer(text):
            if "noop" in match.group("rest"):
                continue
            context = CONTEXT_RE.search(match.group("rest"))
            # Django looks a literal up with "%" doubled (``Variable.resolve``), as makemessages wrote it.
            found.append((match.group("text").replace("%", "%%"), context.group(2) if context else None, where))
        for match in BLOCK_RE.finditer(text):
            args = match.group("args")
            body = re.split(r"\{%\s*plural\s*%\}", match.group("body"))[0]
            body = VAR_RE.sub(lambda m: f"%({m.group(1)})s", body.replace("%", "%%"))
            if re.search(r"\btrimmed\b", args):
                body = trim_whitespace(body)
            context = CONTEXT_RE.search(args)
            found.append((body, context.group(2) if context else None, where))
    return found


def test_templates_are_found() -> None:
    messages = template_messages()
    assert len(messages) > 100
    assert ("Skip to main content", None, "web/templates/web/base.html") in messages


def test_no_empty_or_fuzzy_entries() -> None:
    catalog = _catalog()
    assert not catalog.fuzzy, "the catalog header is marked fuzzy"
    problems = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if not all(s and s.strip() for s in strings):
            problems.append(f"empty: {message.id!r}")
    assert not problems, "\n".join(problems)


def test_placeholders_match() -> None:
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\w*\}")
    bad = []
    for message in _catalog():
        if (
            message.id
            and isinstance(message.id, str)
            and isinstance(message.string, str)
            and sorted(placeholder.findall(message.id)) != sorted(placeholder.findall(message.string))
        ):
            bad.append(message.id)
    assert not bad, bad


@pytest.mark.parametrize("msgid, context, where", template_messages())
def test_template_string_is_translated(msgid: str, context: str | None, where: str) -> None:
    message = _catalog().get(msgid, context=context)
    assert message is not None, f"{where}: {msgid!r} is not in the fa catalog (run makemessages)"
    assert message.string and not message.fuzzy, f"{where}: {msgid!r} has no Persian translation"


def _text(value: object) -> object:
    """Comparable form: Babel's read_mo leaves contexts as bytes and plural forms as lists."""
    if isinstance(value, list | tuple):
        return tuple(_text(v) for v in value)
    return value.decode() if isinstance(value, bytes) else value


def test_compiled_catalog_matches_the_po_file() -> None:
    with MO.open("rb") as fh:
        compiled = {(_text(m.id), _text(m.context)): _text(m.string) for m in read_mo(fh) if m.id}
    stale = [m.id for m in _catalog() if m.id and compiled.get((_text(m.id), m.context)) != _text(m.string)]
    assert not stale, f"django.mo is out of date; run `sokhan compiletranslations`: {stale[:5]}"

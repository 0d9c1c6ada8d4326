"""``sokhan listening import --workspace SLUG --format jsonl|csv FILE``: import mentions from a file
(``sokhan.listening.imports``). ``-`` reads standard input. Prints what was stored (one JSON object
with ``--json``). Exit status 0 after an import; 2 when the file has bad lines (each printed to
standard error naming its line and field; nothing is stored) or cannot be opened."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any

from django.core.management.base import CommandError, OutputWrapper

from sokhan.core.models import Workspace
from sokhan.listening.imports import FORMATS, import_file


def add_parser(actions: Any) -> None:
    parser: argparse.ArgumentParser = actions.add_parser(
        "import",
        help="Import mentions from a JSONL or CSV file (columns in docs/listening-sources.md).",
        description=(
            "Checks every line of FILE first (nothing is stored if one is bad), then stores the items that match "
            "a topic of the workspace, deduplicated against the mentions it already has."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="The file, or - for standard input.")
    parser.add_argument("--workspace", required=True, metavar="SLUG")
    parser.add_argument("--format", required=True, choices=FORMATS, dest="file_format")
    parser.add_argument("--name", default="", help="Name of the import source (default: the file's name).")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")


def run(options: dict[str, Any], stdout: OutputWrapper, stderr: OutputWrapper) -> None:
    workspace = Workspace.objects.filter(slug=options["workspace"]).first()
    if workspace is None:
        raise CommandError(f"No workspace has the slug {options['workspace']!r}.", returncode=2)
    path: str = options["file"]
    name = options["name"] or ("stdin" if path == "-" else Path(path).name)
    try:
        stream: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror}", returncode=2) from None
    try:
        outcome = import_file(workspace, stream, options["file_format"], name=name)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if outcome.error_count:
        for problem in outcome.errors:
            stderr.write(problem.message)
        more = outcome.error_count - len(outcome.errors)
        if more:
            stderr.write(f"… and {more} more.")
        raise CommandError(f"Nothing was imported: {outcome.error_count} problem(s) in {name}.", returncode=2)
    result = outcome.ingest
    summary = {
        "lines": outcome.lines,
        "stored": result.stored,
        "duplicates": result.duplicates,
        "unmatched": result.unmatched,
        "source": outcome.source.pk if outcome.source else None,
    }
    if options["json"]:
        stdout.write(json.dumps(summary))
    else:
        stdout.write(
            f"{outcome.lines} items read: {result.stored} stored, {result.duplicates} already known, "
            f"{result.unmatched} matched no topic."
        )

"""``sokhan listening corrections --workspace SLUG [--output FILE]``: every sentiment correction
people made in a workspace, as JSON lines ``{"text", "lang", "label"}`` (oldest first), ready to be
turned into training rows for the sentiment model (docs/listening-insight.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, OutputWrapper

from sokhan.core.models import Workspace
from sokhan.listening.services import corrections_jsonl


def add_parser(actions: Any) -> None:
    parser: argparse.ArgumentParser = actions.add_parser(
        "corrections",
        help='Print a workspace\'s sentiment corrections as JSON lines {"text", "lang", "label"}.',
        description=(
            "Every mention whose sentiment a person corrected, oldest correction first, one JSON object per line: "
            '{"text": …, "lang": …, "label": "positive" | "neutral" | "negative"} (lang is empty when unknown).'
        ),
    )
    parser.add_argument("--workspace", required=True, metavar="SLUG")
    parser.add_argument("--output", default="", metavar="FILE", help="Write to FILE instead of standard output.")


def run(options: dict[str, Any], stdout: OutputWrapper) -> None:
    workspace = Workspace.objects.filter(slug=options["workspace"]).first()
    if workspace is None:
        raise CommandError(f"No workspace has the slug {options['workspace']!r}.", returncode=2)
    output: str = options["output"]
    if not output:
        for line in corrections_jsonl(workspace):
            stdout.write(line, ending="")
        return
    try:
        with Path(output).open("w", encoding="utf-8", newline="\n") as handle:
            handle.writelines(corrections_jsonl(workspace))
    except OSError as error:
        raise CommandError(f"{output}: {error.strerror}", returncode=2) from None

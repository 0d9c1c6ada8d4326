"""``sokhan metrics list [--json]``: the metric definitions reports are computed with, and their versions."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sokhan.metrics import definitions


class Command(BaseCommand):
    help = "List the metric definitions (name, version, formula, source). See docs/metrics.md."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="list")
        listing = actions.add_parser("list", help="List every metric definition.")
        listing.add_argument("--json", action="store_true", help="Print one line of machine-readable JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        items = definitions()
        if options["json"]:
            rows = [{"name": d.name, "version": d.version, "formula": d.formula, "source": d.source} for d in items]
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        for d in items:
            self.stdout.write(f"{d.name} v{d.version} [{d.unit}]\n    {d.formula}\n    source: {d.source}")

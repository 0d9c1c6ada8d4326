"""``sokhan networks``: the connectors this install knows, with capabilities and limits."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sokhan.networks.registry import all_connectors, describe


class Command(BaseCommand):
    help = "List the social networks Sokhan can connect to, with their capabilities and limits."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print machine-readable JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        connectors = [describe(c) for c in all_connectors()]
        if options["json"]:
            self.stdout.write(json.dumps(connectors, ensure_ascii=False, indent=2))
            return
        for item in connectors:
            caps = ", ".join(item["capabilities"])  # type: ignore[arg-type]
            self.stdout.write(f"{item['key']:<12} {item['name']:<28} {item['auth']:<14} {caps}")

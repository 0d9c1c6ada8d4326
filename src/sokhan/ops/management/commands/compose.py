"""``sokhan compose validate --network KEY [--json]``: check a post's text against a network.

The text is read from standard input as UTF-8 (a leading byte-order mark and one final line
ending, as ``echo`` adds, are dropped). Exit status: 0 valid, 1 invalid, 2 usage error (such as
an unknown network key).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sokhan.networks.registry import all_connectors
from sokhan.publishing.validation import validate_text


def read_text(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CommandError(f"Standard input is not valid UTF-8 (byte {error.start}).", returncode=2) from None
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")


class Command(BaseCommand):
    help = "Composer tools. 'validate' checks text on standard input against a network's limits."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        validate = actions.add_parser(
            "validate",
            help="Check the text on standard input against a network's length limit.",
            description="Check the text on standard input (UTF-8) against a network's length limit.",
        )
        validate.add_argument("--network", required=True, metavar="KEY", help="Connector key, e.g. x or mastodon.")
        validate.add_argument("--json", action="store_true", help="Print machine-readable JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        connectors = {c.key: c for c in all_connectors()}
        key = options["network"]
        connector = connectors.get(key)
        if connector is None:
            raise CommandError(
                f"Unknown network {key!r}. Known networks: {', '.join(sorted(connectors))}.", returncode=2
            )
        text = read_text(sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode())
        result = validate_text(text, connector.limits, network_name=connector.name)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(key), ensure_ascii=False))
        else:
            verdict = "valid" if result.valid else "invalid"
            unit = "bytes" if connector.limits.counting.value == "utf8_bytes" else "characters"
            self.stdout.write(f"{connector.name}: {result.length} of {result.max} {unit}, {verdict}")
            for error in result.errors:
                self.stdout.write(f"- {error}")
        if not result.valid:
            self.stdout.flush()
            raise SystemExit(1)

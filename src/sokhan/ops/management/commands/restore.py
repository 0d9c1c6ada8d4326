"""``sokhan restore``: load a backup into an empty database and data directory."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sokhan.ops.backup import backup_restore
from sokhan.ops.errors import OpsError


class Command(BaseCommand):
    # An emergency tool: it must work even when an unrelated system check fails.
    requires_system_checks: list[str] = []
    help = "Restore a backup made by `sokhan backup`. Refuses a database that already holds data unless --force."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="The .tar.gz written by `sokhan backup`.")
        parser.add_argument("--force", action="store_true", help="Replace the data in a database that is not empty.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = backup_restore(options["file"], force=options["force"])
        except OpsError as exc:
            raise CommandError(str(exc)) from None
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(
            f"Restored {sum(result.counts.values())} row(s) in {len(result.counts)} table(s) and "
            f"{result.media_files} media file(s). Restart every Sokhan process."
        )

"""``sokhan backup``: one archive with the database, media and key material."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sokhan.ops.backup import backup_create
from sokhan.ops.errors import OpsError


class Command(BaseCommand):
    # An emergency tool: it must work even when an unrelated system check fails.
    requires_system_checks: list[str] = []
    help = "Write a consistent backup (database, media, keys) to a .tar.gz. It holds the key: store it safely."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--output", type=Path, default=None, help="Archive path (default ./sokhan-backup-<time>.tar.gz)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = backup_create(options["output"])
        except OpsError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(result.counts.values())
        self.stdout.write(
            f"Backup written to {result.path}: {rows} row(s) in {len(result.counts)} table(s), "
            f"{result.media_files} media file(s)."
        )

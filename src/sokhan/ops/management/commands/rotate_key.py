"""``sokhan rotate-key``: a new encryption key, every stored secret re-encrypted, old keys dropped."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sokhan.ops.errors import OpsError
from sokhan.ops.keys import rotate_key


class Command(BaseCommand):
    # An emergency tool: it must work even when an unrelated system check fails.
    requires_system_checks: list[str] = []
    help = (
        "Rotate the encryption key for secrets at rest. Stop `sokhan serve` and every `sokhan worker` "
        "first: a running process keeps using the key it started with."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = rotate_key()
        except OpsError as exc:
            raise CommandError(str(exc)) from None
        for label, count in sorted(report.reencrypted.items()):
            self.stdout.write(f"re-encrypted {count} value(s) in {label}")
        if report.source == "file":
            self.stdout.write(
                self.style.SUCCESS(
                    f"New key in place; {report.total} value(s) re-encrypted; "
                    f"{report.dropped_keys} old key(s) "
                    "removed from the key file. Make a fresh backup: older backups hold the old key."
                )
            )
        for line in report.instructions:
            self.stdout.write(line)

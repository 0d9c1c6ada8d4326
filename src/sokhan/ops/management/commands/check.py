"""``sokhan check``: Django's system checks plus everything a running install needs."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.management.base import CommandError
from django.core.management.commands.check import Command as DjangoCheckCommand

from sokhan.ops.checks import Status, problems, run_all

LEVELS = {
    "CRITICAL": checks.CRITICAL,
    "ERROR": checks.ERROR,
    "WARNING": checks.WARNING,
    "INFO": checks.INFO,
    "DEBUG": checks.DEBUG,
}


class Command(DjangoCheckCommand):
    help = (
        "Check settings, database, migrations, Redis, the encryption key and the data directory; "
        "exit non-zero when anything is wrong."
    )
    requires_system_checks: list[str] = []

    def handle(self, *app_labels: Any, **options: Any) -> None:
        if options.get("list_tags") or app_labels or options.get("tags"):
            # The narrow forms keep Django's own behaviour.
            super().handle(*app_labels, **options)
            return
        results = run_all(deploy=bool(options.get("deploy")), fail_level=LEVELS[options.get("fail_level") or "ERROR"])
        for result in results:
            stream = self.stderr if result.status is Status.FAIL else self.stdout
            stream.write(result.line())
        found = problems(results)
        if found:
            raise CommandError(f"{len(found)} problem(s) found.")
        self.stdout.write(self.style.SUCCESS("All checks passed."))

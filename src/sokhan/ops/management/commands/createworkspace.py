"""``sokhan createworkspace``: add a workspace (a brand or a client) with its first owner."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sokhan.core.models import Calendar, Language
from sokhan.ops.accounts import workspace_create_for
from sokhan.ops.errors import OpsError


class Command(BaseCommand):
    help = "Create a workspace owned by an existing user."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--name", required=True, help="Workspace name, e.g. the brand.")
        parser.add_argument("--owner", required=True, help="Email of the user who becomes its owner.")
        parser.add_argument("--slug", default="", help="Address (lowercase letters, digits, hyphens).")
        parser.add_argument("--timezone", default="Asia/Tehran", help="IANA time zone (default Asia/Tehran).")
        parser.add_argument("--calendar", default=Calendar.JALALI.value, choices=Calendar.values)
        parser.add_argument("--language", default=Language.PERSIAN.value, choices=Language.values)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            workspace = workspace_create_for(
                name=options["name"],
                owner_email=options["owner"],
                slug=options["slug"],
                timezone_name=options["timezone"],
                calendar=options["calendar"],
                language=options["language"],
            )
        except OpsError as exc:
            raise CommandError(str(exc)) from None
        url = f"{settings.BASE_URL}/w/{workspace.slug}/"
        self.stdout.write(f"Created workspace {workspace.name!r} at {url}, owner {options['owner']}.")

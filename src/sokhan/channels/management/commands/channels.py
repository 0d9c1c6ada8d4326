"""``sokhan channels check``: verify every channel (or one workspace's) now and print the result."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sokhan.channels.health import channel_health_check
from sokhan.channels.models import Channel, ChannelStatus


class Command(BaseCommand):
    help = "Check connected channels now: verify credentials, refresh what expires, record the profile."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["check"], help="What to do (check).")
        parser.add_argument("--workspace", default="", help="Only this workspace (its address).")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = Channel.objects.exclude(status=ChannelStatus.DISCONNECTED).select_related("workspace")
        if options["workspace"]:
            rows = rows.filter(workspace__slug=options["workspace"])
        failed = 0
        for channel in rows.order_by("workspace__slug", "network", "pk"):
            result = channel_health_check(channel)
            mark = "ok" if result.ok else "FAIL"
            failed += 0 if result.ok else 1
            detail = f" — {result.message}" if result.message else ""
            self.stdout.write(
                f"{mark:<4} {channel.workspace.slug}/{channel.pk} {channel.network} {channel.display_name}: "
                f"{result.status}{detail}"
            )
        if failed:
            self.stderr.write(f"{failed} channel(s) need attention.")
            raise SystemExit(1)

"""``sokhan webhook_secret CHANNEL_ID``: issue a Telegram or Bale channel's webhook secret and print
the URL and secret to give the bot's ``setWebhook`` (the secret is shown once; only its hash is kept).
While a webhook is set the Bot API refuses ``getUpdates``, so the inbox stops polling that channel."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sokhan.channels.models import Channel
from sokhan.inbox.webhooks import webhook_secret_issue, webhook_url


class Command(BaseCommand):
    help = "Issue a Telegram or Bale channel's webhook secret; prints the URL and secret for setWebhook."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("channel_id", type=int)
        parser.add_argument("--json", action="store_true", help="Print one line of JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        channel = Channel.objects.filter(pk=options["channel_id"]).first()
        if channel is None:
            raise CommandError(f"No channel with id {options['channel_id']}.")
        if channel.network not in ("telegram", "bale"):
            raise CommandError(
                f"Channel {channel.pk} is on {channel.network}; webhook secrets are for Telegram and Bale."
            )
        secret = webhook_secret_issue(channel)
        url = webhook_url(channel)
        if options["json"]:
            self.stdout.write(json.dumps({"channel": channel.pk, "url": url, "secret_token": secret}))
            return
        self.stdout.write(f"URL:          {url}\nsecret_token: {secret}\n(shown once; call setWebhook with both)")

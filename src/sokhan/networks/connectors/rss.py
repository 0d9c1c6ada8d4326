"""An outbound RSS/Atom feed of a workspace's published posts.

Unlike the other connectors nothing is sent anywhere: "publishing" to a feed channel records the post
as an entry, and Sokhan serves the channel's feed (RSS 2.0 and Atom 1.0) at a private-token URL that
readers, IFTTT-style tools or a website can subscribe to. The connector stays a pure adapter: it
only names the entry (its id is the target's idempotency key, so a retried publish cannot add a
second entry) and the feed view reads published targets from the database.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils.translation import gettext_lazy as _

from sokhan.networks.base import Connector, CredentialField
from sokhan.networks.errors import Rejected
from sokhan.networks.registry import register
from sokhan.networks.types import (
    AuthKind,
    Capability,
    Limits,
    MediaLimits,
    Profile,
    PublishRequest,
    PublishResult,
    TextCounting,
)


@register
class RssFeedConnector(Connector):
    key = "rss"
    name = "RSS/Atom feed"
    auth = AuthKind.NONE
    docs_url = "https://www.rfc-editor.org/rfc/rfc4287"
    # Publishing only marks the entry as ours (its id is the idempotency key; the feed is built
    # from published targets), so sending again after a crash cannot make a second entry.
    idempotent_publish = True
    capabilities = frozenset(
        {Capability.PROFILE_READ, Capability.PUBLISH_TEXT, Capability.PUBLISH_IMAGE, Capability.DELETE}
    )
    limits = Limits(
        max_text=100_000,
        counting=TextCounting.GRAPHEMES,
        media=MediaLimits(max_count=4, image_types=("image/jpeg", "image/png", "image/gif", "image/webp")),
        title_max=200,
        notes="Entries keep the full text; the title is the first line when none is given.",
    )
    credential_fields = (
        CredentialField("target", _("Feed title"), help=_("Shown to subscribers, e.g. “Acme Coffee news”.")),
        CredentialField(
            "base_url",
            _("Website link"),
            required=False,
            help=_("The site the feed belongs to; entries link here when a post has no link of its own."),
        ),
    )

    def verify(self) -> Profile:
        title = self.account.target.strip()
        if not title:
            raise Rejected("a feed needs a title", network=self.key, field="target")
        return Profile(remote_id=title, handle=title, display_name=title, url=self.account.base_url)

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        link = request.link or (f"{self.base_url}#{request.idempotency_key}" if self.base_url else "")
        return PublishResult(remote_id=request.idempotency_key, url=link, published_at=datetime.now(UTC))

    def delete(self, remote_id: str) -> None:
        # The entry disappears from the feed when its target is no longer published; nothing to call.
        return None

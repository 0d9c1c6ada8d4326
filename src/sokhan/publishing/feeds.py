"""The outbound RSS 2.0 / Atom 1.0 feed of a feed channel's published posts.

Each feed channel (connector ``rss``) gets an address with a signed token instead of its id, so
feeds cannot be enumerated; disconnecting the channel turns its feed off.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.html import escape, linebreaks
from django.utils.text import Truncator

from sokhan.channels.models import Channel, ChannelStatus
from sokhan.networks.connectors.rss import RssFeedConnector
from sokhan.publishing import states
from sokhan.publishing.models import PostTarget

_SALT = "sokhan.publishing.feed"
ENTRIES = 50
FORMATS: dict[str, type[SyndicationFeed]] = {"rss": Rss201rev2Feed, "atom": Atom1Feed}


def feed_token(channel: Channel) -> str:
    return signing.Signer(salt=_SALT).sign(str(channel.pk))


def feed_urls(channel: Channel) -> dict[str, str]:
    """``{"rss": url, "atom": url}`` for a feed channel; empty for any other channel."""
    if channel.network != RssFeedConnector.key:
        return {}
    token = feed_token(channel)
    return {kind: settings.BASE_URL + reverse(f"publishing:feed_{kind}", kwargs={"token": token}) for kind in FORMATS}


def _channel(token: str) -> Channel:
    try:
        channel_id = int(signing.Signer(salt=_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        raise Http404("no such feed") from None
    channel = Channel.objects.select_related("workspace").filter(pk=channel_id, network=RssFeedConnector.key).first()
    if channel is None or channel.status == ChannelStatus.DISCONNECTED:
        raise Http404("no such feed")
    return channel


def _title(target: PostTarget) -> str:
    if target.title:
        return target.title
    first_line = (target.text.strip().splitlines() or [""])[0]
    return Truncator(first_line).chars(100)


def render_feed(channel: Channel, kind: str) -> SyndicationFeed:
    site = channel.base_url or settings.BASE_URL
    feed = FORMATS[kind](
        title=channel.target or channel.workspace.name,
        link=site,
        description=channel.workspace.description or channel.workspace.name,
        language=channel.workspace.language,
        feed_url=feed_urls(channel)[kind],
    )
    entries = (
        PostTarget.objects.filter(
            workspace=channel.workspace, channel=channel, state__in=(states.PUBLISHED, states.RESOLVED)
        )
        .exclude(published_at=None)
        .order_by("-published_at", "-id")[:ENTRIES]
    )
    for target in entries:
        feed.add_item(
            title=_title(target),
            link=target.remote_url or target.link or site,
            description=linebreaks(escape(target.text)),
            unique_id=f"urn:sokhan:{target.idempotency_key}",
            unique_id_is_permalink=False,
            pubdate=target.published_at,
            updateddate=target.published_at,
        )
    return feed


def feed_view(request: HttpRequest, token: str, kind: str) -> HttpResponse:
    feed = render_feed(_channel(token), kind)
    # Both generator classes define content_type; the base class does not declare it.
    response = HttpResponse(content_type=str(getattr(feed, "content_type", "application/xml")))
    feed.write(response, "utf-8")
    return response

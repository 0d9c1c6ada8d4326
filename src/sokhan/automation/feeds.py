"""RSS/Atom auto-posting: watch a feed, turn each new item into a post through a template.

Polling (``poll_watch``) sends a conditional GET (``If-None-Match``/``If-Modified-Since``); 304
changes nothing. An item is *new* when neither its GUID nor its link was seen by this watch
before (``FeedItemSeen``, kept in the database, so restarts and reordered feeds post nothing
twice). On the first successful poll of a watch (or of its new address) only items published
after the watch was created (or its address changed) are posted; older items, and items without
a date, are only recorded as seen (no flood of old news). At most ``MAX_POSTS_PER_POLL`` posts
are made per poll, oldest first; the rest wait for the next poll. Errors (network, HTTP status,
unreadable feed) are stored on the watch and never raised out of the job.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser  # type: ignore[import-untyped]  # feedparser ships no types
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.automation.acting import acting_member
from sokhan.automation.fetch import FEED_MAX_BYTES, FetchError, check_url, fetch
from sokhan.automation.models import FeedItemSeen, FeedWatch
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.errors import DomainError, NotAllowed
from sokhan.core.models import Membership, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.publishing.queue import post_queue
from sokhan.publishing.services import TargetInput, post_create, post_schedule, validate_variant

logger = logging.getLogger("sokhan.automation")

MAX_POSTS_PER_POLL = 10
POLL_MINUTES = 10
PLACEHOLDERS = ("title", "link", "summary", "author", "feed_title")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class FeedItem:
    guid: str
    link: str
    title: str
    summary: str
    author: str
    published: datetime | None

    @property
    def key(self) -> str:
        return (self.guid or self.link)[:1000]


@dataclass(frozen=True)
class PollResult:
    status: str  # "ok", "not_modified", "error"
    created: int = 0
    skipped: int = 0
    error: str = ""


def clean_text(value: str) -> str:
    """Feed HTML to plain text: tags dropped, entities decoded, spaces folded; ZWNJ kept."""
    text = _TAG.sub(" ", value.replace("<br>", "\n").replace("<br/>", "\n").replace("</p>", "\n"))
    text = unicodedata.normalize("NFC", html.unescape(text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def render(template: str, item: FeedItem, feed_title: str = "", summary: str | None = None) -> str:
    values = {
        "title": item.title,
        "link": item.link,
        "summary": item.summary if summary is None else summary,
        "author": item.author,
        "feed_title": feed_title,
    }
    text = _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)
    return _BLANK_LINES.sub("\n\n", text).strip()


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(timegm(value), tz=UTC)
    return None


def parse_feed(body: bytes) -> tuple[str, list[FeedItem]]:
    """The feed's title and its items; ``FetchError`` when it is not a feed."""
    parsed = feedparser.parse(body)
    if parsed.get("bozo") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        raise FetchError(_("This is not a readable RSS or Atom feed (%(error)s).") % {"error": reason})
    if not parsed.get("version") and not parsed.entries:
        raise FetchError(_("This is not an RSS or Atom feed."))
    items: list[FeedItem] = []
    for entry in parsed.entries:
        summary_html = entry.get("summary", "") or ""
        if not summary_html and entry.get("content"):
            summary_html = entry["content"][0].get("value", "")
        items.append(
            FeedItem(
                guid=str(entry.get("id", "") or "").strip(),
                link=str(entry.get("link", "") or "").strip(),
                title=clean_text(str(entry.get("title", "") or "")),
                summary=clean_text(summary_html),
                author=clean_text(str(entry.get("author", "") or "")),
                published=_when(entry),
            )
        )
    return clean_text(str(parsed.feed.get("title", "") or "")), [item for item in items if item.key]


def _variants(watch: FeedWatch, item: FeedItem, channels: list[Channel]) -> list[TargetInput]:
    """One variant per channel; a summary too long for a network is shortened to fit."""
    variants: list[TargetInput] = []
    for channel in channels:
        variant = TargetInput(channel_id=channel.pk, text=render(watch.template, item, watch.feed_title))
        if validate_variant(channel, variant) and "{summary}" in watch.template and item.summary:
            low, high = 0, len(item.summary)
            while low < high:  # the longest summary prefix that fits
                middle = (low + high + 1) // 2
                cut = item.summary[:middle].rstrip() + "…"
                trial = TargetInput(channel_id=channel.pk, text=render(watch.template, item, watch.feed_title, cut))
                if validate_variant(channel, trial):
                    high = middle - 1
                else:
                    low = middle
            cut = item.summary[:low].rstrip() + "…" if low else ""
            variant = TargetInput(channel_id=channel.pk, text=render(watch.template, item, watch.feed_title, cut))
        variants.append(variant)
    return variants


def _actor(watch: FeedWatch) -> Membership:
    return acting_member(
        watch.workspace,
        watch.created_by_id,
        refusal=_("The member who set up this feed can no longer create posts here; edit and save it again."),
    )


def _post_item(watch: FeedWatch, actor: Membership, item: FeedItem, channels: list[Channel]) -> str:
    """Make the post for ``item`` and record it as seen, in one transaction. Returns a note."""
    note = ""
    with transaction.atomic():
        post = post_create(
            actor=actor,
            targets=_variants(watch, item, channels),
            title=item.title[:300],
            notes=_("From the feed %(feed)s: %(link)s") % {"feed": watch, "link": item.link},
        )
        if watch.mode != FeedWatch.DRAFT:
            try:
                with transaction.atomic():
                    if watch.mode == FeedWatch.QUEUE:
                        post_queue(actor=actor, post_id=post.pk)
                    else:
                        post_schedule(actor=actor, post_id=post.pk)
            except DomainError as exc:
                note = _("Kept as a draft: %(reason)s") % {"reason": exc.message}
        FeedItemSeen.objects.create(
            watch=watch, key=item.key, guid=item.guid[:1000], link=item.link[:1000], title=item.title[:500],
            post=post, note=note,
        )  # fmt: skip
    return note


def _is_seen(watch: FeedWatch, item: FeedItem) -> bool:
    query = Q(key=item.key)
    if item.guid:
        query |= Q(guid=item.guid)
    if item.link:
        query |= Q(link=item.link)
    return FeedItemSeen.objects.filter(query, watch=watch).exists()


def poll_watch(watch: FeedWatch, *, now: datetime | None = None) -> PollResult:
    """Fetch the feed and post its new items. Never raises for feed or posting problems."""
    moment = now or timezone.now()
    first_poll = watch.last_success_at is None
    watch.last_polled_at = moment
    try:
        fetched = fetch(
            watch.url,
            max_bytes=FEED_MAX_BYTES,
            etag=watch.etag,
            last_modified=watch.last_modified,
            accept=ACCEPT,
        )
        if fetched.status == 304:
            watch.last_error = ""
            watch.last_success_at = moment
            watch.save(update_fields=["last_polled_at", "last_error", "last_success_at"])
            return PollResult("not_modified")
        title, items = parse_feed(fetched.body)
    except FetchError as exc:
        watch.last_error = str(exc)
        watch.save(update_fields=["last_polled_at", "last_error"])
        return PollResult("error", error=watch.last_error)
    watch.feed_title = title[:300]
    channels = [c for c in watch.channels.all().order_by("pk") if c.status != ChannelStatus.DISCONNECTED]
    fresh = [item for item in items if not _is_seen(watch, item)]
    fresh.sort(key=lambda item: item.published or moment)
    created = skipped = 0
    pending = False  # items left for the next poll: fetch the whole feed again then
    problems: list[str] = []
    unique_fresh = list({item.key: item for item in fresh}.values())
    for item in unique_fresh:
        old = first_poll and (item.published is None or item.published <= watch.created_at)
        if old:
            try:
                with transaction.atomic():
                    FeedItemSeen.objects.create(
                        watch=watch, key=item.key, guid=item.guid[:1000], link=item.link[:1000],
                        title=item.title[:500], note=_("Already in the feed when it was added."),
                    )  # fmt: skip
            except IntegrityError:
                pass
            skipped += 1
            continue
        if created >= MAX_POSTS_PER_POLL:
            pending = True
            continue  # left unseen: the next poll takes it
        try:
            if not channels:
                raise DomainError(_("Choose at least one channel."))
            note = _post_item(watch, _actor(watch), item, channels)
        except IntegrityError:
            continue  # another worker handled this item at the same moment
        except DomainError as exc:
            fields = " ".join(str(value) for value in exc.fields.values())
            problems.append(f"{item.title or item.link}: {exc.message} {fields}".strip())
            pending = True
            continue
        if note:
            problems.append(f"{item.title or item.link}: {note}")
        created += 1
    watch.etag = "" if pending else fetched.etag[:300]
    watch.last_modified = "" if pending else fetched.last_modified[:100]
    watch.last_success_at = moment
    watch.last_error = "\n".join(problems)[:4000]
    watch.posts_created += created
    watch.save(
        update_fields=[
            "feed_title", "etag", "last_modified", "last_polled_at", "last_success_at", "last_error", "posts_created"
        ]
    )  # fmt: skip
    return PollResult("ok", created=created, skipped=skipped, error=watch.last_error)


def preview_latest(watch: FeedWatch) -> tuple[FeedItem | None, str, str]:
    """What the template makes from the feed's newest item: (item, text, error)."""
    try:
        fetched = fetch(watch.url, max_bytes=FEED_MAX_BYTES, accept=ACCEPT)
        title, items = parse_feed(fetched.body)
    except FetchError as exc:
        return None, "", str(exc)
    if not items:
        return None, "", _("The feed has no items yet.")
    latest = max(items, key=lambda item: item.published or datetime.min.replace(tzinfo=UTC))
    return latest, render(watch.template, latest, title), ""


def poll_due(now: datetime | None = None) -> list[int]:
    """Ids of active watches not polled in the last ``POLL_MINUTES`` minutes (the job polls these)."""
    moment = now or timezone.now()
    limit = moment - timedelta(minutes=POLL_MINUTES) + timedelta(seconds=30)
    rows = FeedWatch.objects.filter(active=True).filter(Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=limit))
    return list(rows.values_list("pk", flat=True))


# ------------------------------------------------------------------ management


def _require(actor: Membership, perm: Perm) -> None:
    if not role_can(actor.role, perm):
        raise NotAllowed(_("Your role may not do this."))


def watch_get(workspace: Workspace, watch_id: int) -> FeedWatch:
    watch = FeedWatch.objects.filter(workspace=workspace, pk=watch_id).first()
    if watch is None:
        raise DomainError(_("No such feed."), code="not_found")
    return watch


@transaction.atomic
def watch_save(
    *,
    actor: Membership,
    url: str,
    channel_ids: list[int],
    template: str,
    mode: str,
    name: str = "",
    watch_id: int | None = None,
    ip: str | None = None,
) -> FeedWatch:
    _require(actor, Perm.POSTS_DRAFT)
    if mode != FeedWatch.DRAFT:
        _require(actor, Perm.POSTS_PUBLISH)
    if mode not in (FeedWatch.DRAFT, FeedWatch.SCHEDULE, FeedWatch.QUEUE):
        raise DomainError(_("Choose what happens to new items."), fields={"mode": "invalid"})
    if not template.strip():
        raise DomainError(_("The template is empty."), fields={"template": "required"})
    channels = list(Channel.objects.filter(workspace=actor.workspace, pk__in=channel_ids))
    if not channels or len(channels) != len(set(channel_ids)):
        raise DomainError(_("Choose at least one channel of this workspace."), fields={"channels": "required"})
    try:
        check_url(url)
    except FetchError as exc:
        raise DomainError(str(exc), fields={"url": "invalid"}) from None
    watch = watch_get(actor.workspace, watch_id) if watch_id else FeedWatch(workspace=actor.workspace)
    if watch.pk is not None and watch.url != url:
        # Another feed: start afresh, so its existing items count as old (no flood).
        watch.etag = watch.last_modified = ""
        watch.created_at = timezone.now()
        watch.last_success_at = None
    watch.url, watch.template, watch.mode, watch.name = url, template, mode, name
    watch.created_by = actor.user  # posts are made on behalf of whoever saved it last
    watch.save()
    watch.channels.set(channels)
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="feed.update" if watch_id else "feed.create",
        target=f"feed:{watch.pk}",
        data={"url": url, "mode": mode, "channels": sorted(c.pk for c in channels)},
        ip=ip,
    )
    return watch


def watch_set_active(*, actor: Membership, watch_id: int, active: bool, ip: str | None = None) -> FeedWatch:
    _require(actor, Perm.POSTS_DRAFT)
    watch = watch_get(actor.workspace, watch_id)
    watch.active = active
    watch.save(update_fields=["active"])
    audit_record(
        workspace=actor.workspace, actor=actor.user, action="feed.resume" if active else "feed.pause",
        target=f"feed:{watch.pk}", ip=ip,
    )  # fmt: skip
    return watch


def watch_delete(*, actor: Membership, watch_id: int, ip: str | None = None) -> None:
    _require(actor, Perm.POSTS_DRAFT)
    watch = watch_get(actor.workspace, watch_id)
    data = {"url": watch.url}
    target = f"feed:{watch.pk}"
    watch.delete()
    audit_record(workspace=actor.workspace, actor=actor.user, action="feed.delete", target=target, data=data, ip=ip)

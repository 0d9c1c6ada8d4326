"""Telling people about things that need them: an in-app row per recipient, and an email in the
recipient's own language unless they turned email off.

``notify`` takes the title and body as callables (or plain strings) so each recipient's text is
made inside ``translation.override(<their language>)``::

    notify(users, workspace=ws, kind="review.requested",
           title=lambda: _("Review %(post)s") % {"post": name}, url=path)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.notifications.models import Notification, NotificationPreference

if TYPE_CHECKING:
    from sokhan.publishing.models import PostTarget

Text = str | Promise | Callable[[], str]
log = logging.getLogger(__name__)


def _render(text: Text) -> str:
    if callable(text):
        return text()
    return str(text)


def user_language(user: User, workspace: Workspace) -> str:
    return user.language or workspace.language or settings.LANGUAGE_CODE


def email_enabled(user: User) -> bool:
    pref = NotificationPreference.objects.filter(user=user).first()
    return pref.email if pref is not None else True


def set_email_enabled(user: User, enabled: bool) -> None:
    NotificationPreference.objects.update_or_create(user=user, defaults={"email": enabled})


def notify(
    users: Iterable[User],
    *,
    workspace: Workspace,
    kind: str,
    title: Text,
    body: Text = "",
    url: str = "",
    exclude: Iterable[User | None] = (),
    email: bool = True,
) -> list[Notification]:
    """Write one notification per distinct active member among ``users`` (minus ``exclude``) and
    email each of them after the transaction commits. ``url`` is a path on this site."""
    skip = {u.pk for u in exclude if u is not None}
    member_ids = set(Membership.objects.filter(workspace=workspace).values_list("user_id", flat=True))
    seen: set[int] = set()
    rows: list[Notification] = []
    mails: list[tuple[str, str, str]] = []
    for user in users:
        if user.pk in seen or user.pk in skip or not user.is_active or user.pk not in member_ids:
            continue
        seen.add(user.pk)
        with translation.override(user_language(user, workspace)):
            subject = _render(title)[:300]
            text = _render(body)
            rows.append(
                Notification.objects.create(
                    workspace=workspace, user=user, kind=kind, title=subject, body=text, url=url[:1000]
                )
            )
            if email and email_enabled(user):
                link = f"{settings.BASE_URL}{url}" if url else f"{settings.BASE_URL}/"
                footer = _("Open in Sokhan: %(link)s") % {"link": link}
                settings_link = f"{settings.BASE_URL}{reverse('notifications:list', kwargs={'ws': workspace.slug})}"
                optout = _("You can turn these emails off on your notifications page: %(link)s") % {
                    "link": settings_link
                }
                mails.append((user.email, f"[{workspace.name}] {subject}", f"{text}\n\n{footer}\n\n{optout}\n"))
    if mails:
        transaction.on_commit(lambda: _send(mails))
    return rows


def _send(mails: list[tuple[str, str, str]]) -> None:
    # After commit: the in-app rows exist whatever happens to the mail server.
    for to, subject, message in mails:
        try:
            send_mail(subject=subject, message=message, from_email=None, recipient_list=[to])
        except Exception:
            log.exception("could not email a notification to %s", to)


# ------------------------------------------------------------------ reading


def notifications_of(user: User, workspace: Workspace) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user, workspace=workspace)


def unread_count(user: User, workspace: Workspace) -> int:
    return notifications_of(user, workspace).filter(read_at__isnull=True).count()


def mark_read(user: User, workspace: Workspace, notification_id: int) -> Notification | None:
    row = notifications_of(user, workspace).filter(pk=notification_id).first()
    if row is not None and row.read_at is None:
        row.read_at = timezone.now()
        row.save(update_fields=["read_at"])
    return row


def mark_all_read(user: User, workspace: Workspace) -> int:
    return notifications_of(user, workspace).filter(read_at__isnull=True).update(read_at=timezone.now())


# ------------------------------------------------------------------ publishing problems


def publishers(workspace: Workspace) -> list[User]:
    members = Membership.objects.filter(workspace=workspace, user__is_active=True).select_related("user")
    return [m.user for m in members.order_by("pk") if role_can(m.role, Perm.POSTS_PUBLISH)]


def post_path(workspace: Workspace, post_id: int) -> str:
    return reverse("approvals:review", kwargs={"ws": workspace.slug, "post_id": post_id})


def notify_publish_problem(target: PostTarget, state: str | None = None) -> list[Notification]:
    """A target ends ``failed`` or ``outcome_unknown`` (``state``, default its current state): tell
    the post's author and everyone who may publish. Inside the transaction that moves the target,
    so the notice exists exactly when the move does (email goes out after commit)."""
    post = target.post
    workspace = post.workspace
    channel = target.channel.display_name
    name = str(post)
    error = target.last_error
    recipients = [*([post.author] if post.author else []), *publishers(workspace)]
    if (state or target.state) == "outcome_unknown":
        kind = "publish.unknown"

        def title() -> str:
            return _("Check %(channel)s: did “%(post)s” go out?") % {"channel": channel, "post": name}

        def body() -> str:
            return _(
                "Sokhan could not tell whether “%(post)s” was published to %(channel)s. Look at the account, "
                "then mark it published, failed, or try again."
            ) % {"channel": channel, "post": name}
    else:
        kind = "publish.failed"

        def title() -> str:
            return _("“%(post)s” failed on %(channel)s") % {"channel": channel, "post": name}

        def body() -> str:
            return _("Publishing “%(post)s” to %(channel)s failed: %(error)s") % {
                "channel": channel,
                "post": name,
                "error": error or _("no reason given"),
            }

    return notify(recipients, workspace=workspace, kind=kind, title=title, body=body, url=post_path(workspace, post.pk))

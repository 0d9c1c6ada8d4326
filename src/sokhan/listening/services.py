"""Listening actions: topics (a named query per workspace), the query tester, and people's
corrections of a mention's sentiment. Each action checks the actor's role, validates, writes and
records an audit event in one transaction. Sources are in ``services_sources``.

A topic keeps its query as typed; the parser's canonical form is what pages show back. Every change
bumps ``updated_at``, which is how the matcher's owners can tell a topic changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.core.errors import DomainError, NotAllowed, NotFound
from sokhan.core.models import Membership, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.listening.matcher import Matcher
from sokhan.listening.mention_filters import SENTIMENTS, query_error_message
from sokhan.listening.models import Mention, Topic, TopicKind
from sokhan.listening.query import Node, QuerySyntaxError, parse

NAME_MAX = 120
TEST_LINES_MAX = 200


class TopicQueryError(DomainError):
    """A query that does not parse; ``syntax`` keeps the parser's position for highlighting."""

    def __init__(self, syntax: QuerySyntaxError) -> None:
        super().__init__(query_error_message(syntax), fields={"query": "syntax"}, code="query_syntax")
        self.syntax = syntax


def _require(actor: Membership, perm: Perm) -> None:
    if not role_can(actor.role, perm):
        raise NotAllowed(_("Your role may not do this."))


def check_query(query: str) -> Node:
    """The parsed query, or ``TopicQueryError`` with the column and what was expected."""
    try:
        return parse(query)
    except QuerySyntaxError as error:
        raise TopicQueryError(error) from None


@dataclass(frozen=True)
class LineMatch:
    text: str
    matched: bool


def match_lines(query: Node, texts: Iterable[str], *, lang: str = "", channel: str = "") -> list[LineMatch]:
    """Which of ``texts`` (non-blank, at most ``TEST_LINES_MAX``) the query matches: the same
    matcher as ingest and ``sokhan listening match``."""
    matcher: Matcher[int] = Matcher()
    matcher.set(0, query)
    lines = [line.strip() for line in texts if line.strip()][:TEST_LINES_MAX]
    return [LineMatch(line, bool(matcher.match(line, lang=lang, channel=channel))) for line in lines]


# ------------------------------------------------------------------ topics


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise DomainError(_("A topic needs a name."), fields={"name": "required"})
    if len(name) > NAME_MAX:
        raise DomainError(
            _("A topic's name can be at most %(n)s characters.") % {"n": NAME_MAX}, fields={"name": "too_long"}
        )
    return name


def _clean_kind(kind: str) -> str:
    if kind not in TopicKind.values:
        raise DomainError(
            _("Unknown kind %(kind)s. Use one of: %(allowed)s.")
            % {"kind": kind, "allowed": ", ".join(TopicKind.values)},
            fields={"kind": "unknown"},
        )
    return kind


def _clean_query(query: str) -> str:
    query = query.strip()
    check_query(query)
    return query


def _name_taken(workspace: Workspace, name: str, *, exclude: int | None = None) -> None:
    rows = Topic.objects.filter(workspace=workspace, name__iexact=name)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    if rows.exists():
        raise DomainError(_("There is already a topic called “%(name)s”.") % {"name": name}, fields={"name": "taken"})


def topic_get(workspace: Workspace, topic_id: int) -> Topic:
    topic = Topic.objects.filter(workspace=workspace, pk=topic_id).first()
    if topic is None:
        raise NotFound(_("No such topic."))
    return topic


def topic_create(
    *,
    actor: Membership,
    name: str,
    kind: str,
    query: str,
    enabled: bool = True,
    route_to_inbox: bool = False,
    ip: str | None = None,
) -> Topic:
    _require(actor, Perm.LISTENING_MANAGE)
    name, kind, query = _clean_name(name), _clean_kind(kind), _clean_query(query)
    _name_taken(actor.workspace, name)
    try:
        with transaction.atomic():
            topic = Topic.objects.create(
                workspace=actor.workspace,
                name=name,
                kind=kind,
                query=query,
                enabled=enabled,
                route_to_inbox=route_to_inbox,
                created_by=actor.user,
            )
            audit_record(
                workspace=actor.workspace,
                actor=actor.user,
                action="listening.topic.create",
                target=f"topic:{topic.pk}",
                data={"name": name, "kind": kind, "query": query, "enabled": enabled},
                ip=ip,
            )
    except IntegrityError:  # a concurrent create with the same name
        raise DomainError(
            _("There is already a topic called “%(name)s”.") % {"name": name}, fields={"name": "taken"}
        ) from None
    return topic


def topic_update(
    *,
    actor: Membership,
    topic_id: int,
    name: str | None = None,
    kind: str | None = None,
    query: str | None = None,
    enabled: bool | None = None,
    route_to_inbox: bool | None = None,
    ip: str | None = None,
) -> Topic:
    """Change the given fields (``None``: keep). Audited with each changed field's old and new value."""
    _require(actor, Perm.LISTENING_MANAGE)
    topic = topic_get(actor.workspace, topic_id)
    wanted: dict[str, Any] = {
        "name": _clean_name(name) if name is not None else None,
        "kind": _clean_kind(kind) if kind is not None else None,
        "query": _clean_query(query) if query is not None else None,
        "enabled": enabled,
        "route_to_inbox": route_to_inbox,
    }
    changes = {
        field: [getattr(topic, field), value]
        for field, value in wanted.items()
        if value is not None and value != getattr(topic, field)
    }
    if not changes:
        return topic
    if "name" in changes:
        _name_taken(actor.workspace, wanted["name"], exclude=topic.pk)
    for field, (_before, after) in changes.items():
        setattr(topic, field, after)
    topic.updated_at = timezone.now()
    action = "listening.topic.update"
    if set(changes) == {"enabled"}:
        action = "listening.topic.enable" if topic.enabled else "listening.topic.disable"
    with transaction.atomic():
        topic.save(update_fields=[*changes, "updated_at"])
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action=action,
            target=f"topic:{topic.pk}",
            data={"name": topic.name, **changes},
            ip=ip,
        )
    return topic


def topic_delete(*, actor: Membership, topic_id: int, ip: str | None = None) -> None:
    """Delete a topic with its matches, hourly counts and alerts; the mentions themselves stay."""
    _require(actor, Perm.LISTENING_MANAGE)
    topic = topic_get(actor.workspace, topic_id)
    with transaction.atomic():
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action="listening.topic.delete",
            target=f"topic:{topic.pk}",
            data={"name": topic.name, "query": topic.query},
            ip=ip,
        )
        topic.delete()


# ------------------------------------------------------------------ corrections


def mention_get(workspace: Workspace, mention_id: int) -> Mention:
    mention = Mention.objects.filter(workspace=workspace, pk=mention_id).first()
    if mention is None:
        raise NotFound(_("No such mention."))
    return mention


def mention_correct(*, actor: Membership, mention_id: int, label: str, ip: str | None = None) -> Mention:
    """A person's sentiment label for a mention. It becomes the label that counts, and is kept with
    who set it and when (for the metrics and for retraining). Setting the model's own label records
    that the person agreed with it."""
    _require(actor, Perm.LISTENING_MANAGE)
    if label not in SENTIMENTS:
        raise DomainError(
            _("Unknown sentiment %(label)s. Use one of: %(allowed)s.")
            % {"label": label, "allowed": ", ".join(SENTIMENTS)},
            fields={"label": "unknown"},
        )
    with transaction.atomic():
        mention = Mention.objects.select_for_update().filter(workspace=actor.workspace, pk=mention_id).first()
        if mention is None:
            raise NotFound(_("No such mention."))
        before = mention.label
        mention.corrected_sentiment = label
        mention.corrected_by = actor.user
        mention.corrected_at = timezone.now()
        mention.save(update_fields=["corrected_sentiment", "corrected_by", "corrected_at"])
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action="listening.mention.correct",
            target=f"mention:{mention.pk}",
            data={"from": before or "-", "to": label},
            ip=ip,
        )
    return mention


def corrections(workspace: Workspace) -> Iterator[dict[str, str]]:
    """Every corrected mention of the workspace as ``{"text", "lang", "label"}``, oldest correction
    first: training rows for the sentiment model (docs/listening-insight.md)."""
    rows = (
        Mention.objects.filter(workspace=workspace)
        .exclude(corrected_sentiment="")
        .order_by("corrected_at", "id")
        .values_list("text", "language", "corrected_sentiment")
    )
    for text, language, label in rows.iterator(chunk_size=1000):
        yield {"text": text, "lang": language, "label": label}


def corrections_jsonl(workspace: Workspace) -> Iterator[str]:
    """``corrections`` as JSON lines (UTF-8 text, not escaped), each ending in a newline."""
    for row in corrections(workspace):
        yield json.dumps(row, ensure_ascii=False) + "\n"

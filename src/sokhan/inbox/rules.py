"""Inbox rules: ordered conditions → actions run on every received message, then the escalation
policy; a dry run that evaluates an unsaved rule without writing anything; and the (audited)
services that create, change, delete and reorder rules. See docs/inbox-rules.md.

A rule is plain JSON::

    conditions: [{"field": "keywords", "op": "any", "value": ["قیمت", "price"]}, …]
    actions:    [{"action": "tag", "value": "sales"}, {"action": "priority", "value": "high"}, …]

Keywords are matched as whole words with the brand rules' matcher
(``sokhan.publishing.rules``): Arabic and Persian letter forms, digit scripts, diacritics and the
half space are treated alike on both sides, so «كتاب» finds «کتاب» and «کار» does not find
«کارخانه». The matcher's fold-once helpers are private there; they are imported on purpose so a
message is folded once for all of a rule set's words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Max
from django.urls import NoReverseMatch
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sokhan.channels.models import Channel
from sokhan.core.errors import DomainError, NotAllowed, NotFound
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.inbox.models import (
    PRIORITY_ORDER,
    Conversation,
    Direction,
    InboxSettings,
    Kind,
    Message,
    Priority,
    Rule,
    RuleHit,
    Sentiment,
    Status,
    Team,
)
from sokhan.inbox.saved_replies import render_saved_reply, saved_reply_check
from sokhan.networks.types import Capability
from sokhan.publishing.rules import find_phrase, fold_with_offsets

CONDITION_FIELDS = ("keywords", "sentiment", "channel", "type", "followers", "language")
ACTIONS = ("tag", "assign", "priority", "hide", "notify", "auto_reply", "close")
KEYWORD_OPS = ("any", "all", "none")
LIST_OPS = ("in", "not_in")
NUMBER_OPS = ("gte", "lte")
SENTIMENTS = (Sentiment.POSITIVE.value, Sentiment.NEUTRAL.value, Sentiment.NEGATIVE.value)
MAX_CONDITIONS = 20
MAX_ACTIONS = 20
MAX_WORDS = 500  # entries per keyword list
MAX_WORD_LENGTH = 100
NAME_MAX = 120
TAG_MAX = 60
AUTO_REPLY_MAX = 2000
ESCALATION = "Escalation"  # RuleHit.rule_name of the escalation policy (stored, not translated)
PREVIEW_CHARS = 300

# What a RuleHit records for each action (``result``), with a sentence in ``detail``.
DONE = "done"
NOT_SUPPORTED = "not supported"
NOT_ALLOWED = "not allowed"
FAILED = "failed"
WOULD = "would apply"  # dry run only
_OK = "ok"  # internal: the plan allows the action

_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")

Folded = tuple[str, list[int], list[int], list[bool]]


# ---------------------------------------------------------------------------------------------
# Automatic replies: where the networks allow them


@dataclass(frozen=True, slots=True)
class AutoReplyPolicy:
    """Whether a rule may answer a message of this kind on this network automatically, and for how
    long after the person wrote (``None``: no limit)."""

    allowed: bool
    window: timedelta | None
    reason: str | Promise


_BOT_DM = AutoReplyPolicy(
    True, None, gettext_lazy("Bots may answer people who wrote to them first; there is no reply window.")
)
_BOT_GROUP = AutoReplyPolicy(
    True, None, gettext_lazy("The discussion group is the channel's own and its bot is expected to answer there.")
)
_META_DM = AutoReplyPolicy(
    True,
    timedelta(hours=24),
    gettext_lazy("Meta's messaging platform allows replies within 24 hours of the person's last message."),
)
_META_COMMENT = AutoReplyPolicy(
    True,
    timedelta(days=7),
    gettext_lazy(
        "A Page or professional account may answer comments on its own posts; Sokhan stops after 7 days, "
        "as Meta does for private replies to comments."
    ),
)
_MENTION = AutoReplyPolicy(
    False,
    None,
    gettext_lazy("A mention is on someone else's post: automatic replies to it are unsolicited and treated as spam."),
)
_X = AutoReplyPolicy(
    False,
    None,
    gettext_lazy("X's automation rules forbid automated replies to posts and mentions without the person's opt-in."),
)
_DEFAULT = AutoReplyPolicy(
    False,
    None,
    gettext_lazy(
        "Sokhan does not send automatic replies on this network: its rules on automated accounts or spam "
        "do not allow them here (a person can still answer)."
    ),
)

# (network, message type) → policy. Anything not listed is refused with ``_DEFAULT``'s reason; the
# table and its reasons are documented in docs/inbox-rules.md.
AUTO_REPLY_POLICY: dict[tuple[str, str], AutoReplyPolicy] = {
    ("telegram", Kind.DM): _BOT_DM,
    ("bale", Kind.DM): _BOT_DM,
    ("eitaa", Kind.DM): _BOT_DM,
    ("telegram", Kind.COMMENT): _BOT_GROUP,
    ("bale", Kind.COMMENT): _BOT_GROUP,
    ("eitaa", Kind.COMMENT): _BOT_GROUP,
    ("facebook", Kind.DM): _META_DM,
    ("instagram", Kind.DM): _META_DM,
    ("facebook", Kind.COMMENT): _META_COMMENT,
    ("instagram", Kind.COMMENT): _META_COMMENT,
    ("x", Kind.COMMENT): _X,
    ("x", Kind.DM): _X,
}


def auto_reply_policy(network: str, kind: str) -> AutoReplyPolicy:
    if kind == Kind.MENTION:
        return _X if network == "x" else _MENTION
    return AUTO_REPLY_POLICY.get((network, kind), _DEFAULT)


# ---------------------------------------------------------------------------------------------
# Validation


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule's cleaned content (what ``rule_clean`` returns and rules are stored as)."""

    name: str
    enabled: bool = True
    match_all: bool = True
    stop: bool = False
    conditions: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "enabled": self.enabled,
            "match_all": self.match_all,
            "stop": self.stop,
            "conditions": self.conditions,
            "actions": self.actions,
        }


def clean_words(raw: Any, where: str, fields: dict[str, str], key: str) -> list[str]:
    """A list of words or phrases (whitespace collapsed, duplicates dropped); a problem is recorded
    in ``fields[key]`` with a message starting with ``where``. Used for keyword conditions and
    the crisis keywords of the inbox settings."""
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        fields[key] = _("%(where)s: give a list of words or phrases.") % {"where": where}
        return []
    words: list[str] = []
    seen: set[str] = set()
    for entry in raw:
        if not isinstance(entry, str):
            fields[key] = _("%(where)s: every entry must be text.") % {"where": where}
            return []
        word = " ".join(entry.split())
        if not word:
            continue
        if len(word) > MAX_WORD_LENGTH:
            fields[key] = _("%(where)s: “%(word)s…” is longer than %(max)s characters.") % {
                "where": where,
                "word": word[:20],
                "max": MAX_WORD_LENGTH,
            }
            return []
        folded = fold_with_offsets(word)[0].strip()
        if not folded:
            fields[key] = _("%(where)s: “%(word)s” has no letters or digits to match.") % {"where": where, "word": word}
            return []
        if folded not in seen:
            seen.add(folded)
            words.append(word)
    if len(words) > MAX_WORDS:
        fields[key] = _("%(where)s: at most %(max)s entries.") % {"where": where, "max": MAX_WORDS}
        return []
    return words


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _choices(raw: Any, allowed: Iterable[str]) -> list[str] | None:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not raw:
        return None
    allowed = set(allowed)
    values = [str(v) for v in raw]
    if any(v not in allowed for v in values):
        return None
    return list(dict.fromkeys(values))


class _Checker:
    """Collects every problem of one rule, keyed ``conditions.<i>.<field>`` / ``actions.<i>.<field>``."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.fields: dict[str, str] = {}
        self._members: set[int] | None = None

    def add(self, key: str, message: str) -> None:
        self.fields.setdefault(key, message)

    def member_ids(self) -> set[int]:
        if self._members is None:
            self._members = set(
                Membership.objects.filter(workspace=self.workspace, user__is_active=True).values_list(
                    "user_id", flat=True
                )
            )
        return self._members

    # -- conditions --------------------------------------------------------------------------

    def condition(self, index: int, raw: Any) -> dict[str, Any] | None:
        key = f"conditions.{index}"
        if not isinstance(raw, Mapping):
            self.add(key, _("Condition %(n)s must be an object with field, op and value.") % {"n": index + 1})
            return None
        name = raw.get("field")
        if name not in CONDITION_FIELDS:
            self.add(
                f"{key}.field",
                _("Condition %(n)s: unknown field %(field)s; use one of %(known)s.")
                % {"n": index + 1, "field": name, "known": ", ".join(CONDITION_FIELDS)},
            )
            return None
        where = _("Condition %(n)s (%(field)s)") % {"n": index + 1, "field": name}
        op = raw.get("op")
        value = raw.get("value")
        ops = KEYWORD_OPS if name == "keywords" else NUMBER_OPS if name == "followers" else LIST_OPS
        if op in (None, "") and name != "followers":
            op = ops[0]
        if op not in ops:
            self.add(
                f"{key}.op",
                _("%(where)s: unknown op %(op)s; use one of %(known)s.")
                % {"where": where, "op": op, "known": ", ".join(ops)},
            )
            return None
        clean: Any = None
        if name == "keywords":
            clean = clean_words(value, where, self.fields, f"{key}.value")
            if not clean and f"{key}.value" not in self.fields:
                self.add(f"{key}.value", _("%(where)s: give at least one word or phrase.") % {"where": where})
        elif name == "sentiment":
            clean = _choices(value, SENTIMENTS)
            if clean is None:
                self.add(
                    f"{key}.value",
                    _("%(where)s: value must list some of %(known)s.")
                    % {"where": where, "known": ", ".join(SENTIMENTS)},
                )
        elif name == "type":
            clean = _choices(value, Kind.values)
            if clean is None:
                self.add(
                    f"{key}.value",
                    _("%(where)s: value must list some of %(known)s.")
                    % {"where": where, "known": ", ".join(Kind.values)},
                )
        elif name == "channel":
            clean = self._channels(value, where, f"{key}.value")
        elif name == "followers":
            number = _int(value)
            if number is None or number < 0:
                self.add(f"{key}.value", _("%(where)s: value must be a whole number, 0 or more.") % {"where": where})
            clean = number
        elif name == "language":
            clean = self._languages(value, where, f"{key}.value")
        if f"{key}.value" in self.fields or clean is None:
            return None
        return {"field": name, "op": op, "value": clean}

    def _channels(self, value: Any, where: str, key: str) -> list[int] | None:
        raw = value if isinstance(value, list | tuple) else [value]
        ids = [_int(v) for v in raw]
        if not raw or any(i is None for i in ids):
            self.add(key, _("%(where)s: value must list channel ids.") % {"where": where})
            return None
        wanted = list(dict.fromkeys(i for i in ids if i is not None))
        known = set(Channel.objects.filter(workspace=self.workspace, pk__in=wanted).values_list("pk", flat=True))
        unknown = [str(i) for i in wanted if i not in known]
        if unknown:
            self.add(
                key,
                _("%(where)s: no channel %(ids)s in this workspace.") % {"where": where, "ids": ", ".join(unknown)},
            )
            return None
        return wanted

    def _languages(self, value: Any, where: str, key: str) -> list[str] | None:
        raw = [value] if isinstance(value, str) else value
        if not isinstance(raw, list | tuple) or not raw:
            self.add(key, _("%(where)s: value must list language codes such as fa or en.") % {"where": where})
            return None
        codes: list[str] = []
        for entry in raw:
            code = str(entry).strip().lower() if isinstance(entry, str) else ""
            if not _LANGUAGE.fullmatch(code):
                self.add(
                    key,
                    _("%(where)s: “%(code)s” is not a language code such as fa or en.")
                    % {"where": where, "code": entry},
                )
                return None
            if code not in codes:
                codes.append(code)
        return codes

    # -- actions -----------------------------------------------------------------------------

    def action(self, index: int, raw: Any) -> dict[str, Any] | None:
        key = f"actions.{index}"
        if not isinstance(raw, Mapping):
            self.add(key, _("Action %(n)s must be an object with action and value.") % {"n": index + 1})
            return None
        name = raw.get("action")
        if name not in ACTIONS:
            self.add(
                f"{key}.action",
                _("Action %(n)s: unknown action %(action)s; use one of %(known)s.")
                % {"n": index + 1, "action": name, "known": ", ".join(ACTIONS)},
            )
            return None
        where = _("Action %(n)s (%(action)s)") % {"n": index + 1, "action": name}
        value = raw.get("value")
        vkey = f"{key}.value"
        clean: Any = None
        if name == "tag":
            tag = " ".join(value.split()).lstrip("#") if isinstance(value, str) else ""
            if not tag:
                self.add(vkey, _("%(where)s: give the tag's name.") % {"where": where})
            elif len(tag) > TAG_MAX:
                self.add(vkey, _("%(where)s: a tag is at most %(n)s characters.") % {"where": where, "n": TAG_MAX})
            clean = tag
        elif name == "assign":
            clean = self._assignee(value, where, vkey)
        elif name == "priority":
            if value not in Priority.values:
                self.add(
                    vkey,
                    _("%(where)s: value must be one of %(known)s.")
                    % {"where": where, "known": ", ".join(Priority.values)},
                )
            clean = value
        elif name == "notify":
            clean = self._members_list(value, where, vkey)
        elif name == "auto_reply":
            clean = self._reply_text(value, where, vkey)
        if vkey in self.fields:
            return None
        return {"action": name, "value": clean}

    def _assignee(self, value: Any, where: str, key: str) -> dict[str, int] | None:
        if not isinstance(value, Mapping) or not (set(value) & {"user", "team"}) or set(value) - {"user", "team"}:
            self.add(key, _('%(where)s: value must be {"user": id} or {"team": id}.') % {"where": where})
            return None
        clean: dict[str, int] = {}
        if value.get("user") is not None:
            user = _int(value["user"])
            if user is None or user not in self.member_ids():
                self.add(
                    key,
                    _("%(where)s: user %(id)s is not a member of this workspace.")
                    % {"where": where, "id": value["user"]},
                )
                return None
            clean["user"] = user
        if value.get("team") is not None:
            team = _int(value["team"])
            if team is None or not Team.objects.filter(workspace=self.workspace, pk=team).exists():
                self.add(key, _("%(where)s: no team %(id)s in this workspace.") % {"where": where, "id": value["team"]})
                return None
            clean["team"] = team
        if not clean:
            self.add(key, _('%(where)s: value must be {"user": id} or {"team": id}.') % {"where": where})
            return None
        return clean

    def _members_list(self, value: Any, where: str, key: str) -> list[int] | None:
        raw = value if isinstance(value, list | tuple) else [value]
        ids = [_int(v) for v in raw]
        if not raw or any(i is None for i in ids):
            self.add(key, _("%(where)s: value must list member ids.") % {"where": where})
            return None
        wanted = list(dict.fromkeys(i for i in ids if i is not None))
        strangers = [str(i) for i in wanted if i not in self.member_ids()]
        if strangers:
            self.add(
                key,
                _("%(where)s: %(ids)s is not a member of this workspace.")
                % {"where": where, "ids": ", ".join(strangers)},
            )
            return None
        return wanted

    def _reply_text(self, value: Any, where: str, key: str) -> str | None:
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            self.add(key, _("%(where)s: give the reply's text.") % {"where": where})
            return None
        if len(text) > AUTO_REPLY_MAX:
            self.add(key, _("%(where)s: at most %(n)s characters.") % {"where": where, "n": AUTO_REPLY_MAX})
            return None
        # Nobody reads an automatic reply before it goes out: an unknown variable is an error here,
        # not just a warning as in saved replies.
        unknown = saved_reply_check(text)
        if unknown:
            self.add(
                key,
                _("%(where)s: unknown variable %(names)s.")
                % {"where": where, "names": ", ".join("{" + n + "}" for n in unknown)},
            )
            return None
        return text


def _flag(data: Mapping[str, Any], name: str, default: bool, checker: _Checker) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        checker.add(name, _("%(field)s must be true or false.") % {"field": name})
        return default
    return value


def rule_clean(workspace: Workspace, data: Mapping[str, Any]) -> RuleSpec:
    """``data`` checked in full against ``workspace`` (its channels, members, teams). Raises a
    ``DomainError`` whose ``fields`` name every problem: ``name``, ``conditions.<i>.field``,
    ``actions.<i>.value``… (``i`` counts from 0; the messages count from 1)."""
    checker = _Checker(workspace)
    known = {"name", "enabled", "match_all", "stop", "conditions", "actions", "position", "id"}
    for extra in sorted(set(data) - known):
        checker.add(extra, _("Unknown field %(field)s.") % {"field": extra})
    raw_name = data.get("name", "")
    name = " ".join(raw_name.split()) if isinstance(raw_name, str) else ""
    if not name:
        checker.add("name", _("Give the rule a name."))
    elif len(name) > NAME_MAX:
        checker.add("name", _("The name is at most %(n)s characters.") % {"n": NAME_MAX})
    enabled = _flag(data, "enabled", True, checker)
    match_all = _flag(data, "match_all", True, checker)
    stop = _flag(data, "stop", False, checker)

    raw_conditions = data.get("conditions", [])
    conditions: list[dict[str, Any]] = []
    if not isinstance(raw_conditions, list | tuple):
        checker.add("conditions", _("conditions must be a list."))
    elif len(raw_conditions) > MAX_CONDITIONS:
        checker.add("conditions", _("A rule has at most %(n)s conditions.") % {"n": MAX_CONDITIONS})
    else:
        for index, raw in enumerate(raw_conditions):
            cond = checker.condition(index, raw)
            if cond is not None:
                conditions.append(cond)

    raw_actions = data.get("actions", [])
    actions: list[dict[str, Any]] = []
    if not isinstance(raw_actions, list | tuple):
        checker.add("actions", _("actions must be a list."))
    elif not raw_actions:
        checker.add("actions", _("A rule needs at least one action."))
    elif len(raw_actions) > MAX_ACTIONS:
        checker.add("actions", _("A rule has at most %(n)s actions.") % {"n": MAX_ACTIONS})
    else:
        for index, raw in enumerate(raw_actions):
            act = checker.action(index, raw)
            if act is not None:
                actions.append(act)
    if checker.fields:
        raise DomainError(next(iter(checker.fields.values())), fields=checker.fields, code="invalid_rule")
    return RuleSpec(name=name, enabled=enabled, match_all=match_all, stop=stop, conditions=conditions, actions=actions)


# ---------------------------------------------------------------------------------------------
# Matching


class _Text:
    """A message's text, folded once, on first use."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._folded: Folded | None = None

    def has(self, word: str) -> bool:
        if self._folded is None:
            self._folded = fold_with_offsets(self.text)
        return bool(find_phrase(word, self._folded))

    def found(self, words: Iterable[str]) -> list[str]:
        return [w for w in words if self.has(w)]


def _language_matches(language: str, codes: Iterable[str]) -> bool:
    language = (language or "").lower()
    return bool(language) and any(language == c or language.startswith(c + "-") for c in codes)


def condition_matches(condition: Mapping[str, Any], message: Message, text: _Text | None = None) -> bool:
    """Whether one cleaned condition holds for ``message``."""
    name, op, value = condition["field"], condition["op"], condition["value"]
    if name == "keywords":
        text = text or _Text(message.text)
        if op == "all":
            return all(text.has(w) for w in value)
        found = any(text.has(w) for w in value)
        return found if op == "any" else not found
    if name == "followers":
        count = message.author_followers
        if count is None:  # unknown is neither many nor few
            return False
        return bool(count >= value) if op == "gte" else bool(count <= value)
    if name == "sentiment":
        hit = bool(message.sentiment) and message.sentiment in value
    elif name == "channel":
        hit = message.channel_id in value
    elif name == "type":
        hit = message.kind in value
    elif name == "language":
        hit = _language_matches(message.language, value)
    else:  # pragma: no cover - rule_clean only lets known fields through
        return False
    return hit if op == "in" else not hit


def conditions_match(spec: RuleSpec, message: Message, text: _Text | None = None) -> list[bool]:
    text = text or _Text(message.text)
    return [condition_matches(c, message, text) for c in spec.conditions]


def rule_matches(spec: RuleSpec, message: Message, text: _Text | None = None) -> bool:
    """All (``match_all``) or any condition holds; a rule without conditions matches every message."""
    results = conditions_match(spec, message, text)
    if not results:
        return True
    return all(results) if spec.match_all else any(results)


# ---------------------------------------------------------------------------------------------
# Planning and applying actions


@dataclass
class _Context:
    """What acting on one workspace's messages needs, loaded once."""

    workspace: Workspace
    now: datetime
    members: dict[int, User] = field(default_factory=dict)
    teams: dict[int, Team] = field(default_factory=dict)
    conversations: dict[int, Conversation] = field(default_factory=dict)

    @classmethod
    def load(cls, workspace: Workspace, now: datetime) -> _Context:
        members = {
            m.user_id: m.user
            for m in Membership.objects.filter(workspace=workspace, user__is_active=True).select_related("user")
        }
        teams = {t.pk: t for t in Team.objects.filter(workspace=workspace)}
        return cls(workspace=workspace, now=now, members=members, teams=teams)

    def conversation(self, message: Message) -> Conversation:
        conversation = self.conversations.get(message.conversation_id)
        if conversation is None:
            conversation = Conversation.objects.select_related("channel", "workspace").get(pk=message.conversation_id)
            self.conversations[conversation.pk] = conversation
        return conversation


@dataclass(frozen=True, slots=True)
class Outcome:
    result: str
    detail: str = ""


def _name(user: User) -> str:
    return (user.full_name or "").strip() or user.email


def _network_name(network: str) -> str:
    from sokhan.networks import registry

    try:
        return registry.get(network).name
    except KeyError:
        return network


def _can(network: str, capability: Capability) -> bool:
    from sokhan.networks import registry

    try:
        return registry.get(network).has(capability)
    except KeyError:
        return False


def auto_reply_check(message: Message, conversation: Conversation, now: datetime) -> Outcome:
    """Whether a rule may answer ``message`` automatically now: the network's policy for its type
    (and reply window), then whether the connector can answer at all."""
    network = conversation.channel.network
    policy = auto_reply_policy(network, message.kind)
    if not policy.allowed:
        return Outcome(NOT_ALLOWED, str(policy.reason))
    if policy.window is not None and now - message.created_at > policy.window:
        hours = int(policy.window.total_seconds() // 3600)
        return Outcome(
            NOT_ALLOWED,
            _("The message is older than the %(hours)s-hour window in which %(network)s allows a reply.")
            % {"hours": hours, "network": _network_name(network)},
        )
    needed = Capability.SEND_DM if message.kind == Kind.DM and _can(network, Capability.SEND_DM) else Capability.REPLY
    if not message.remote_id or not _can(network, needed):
        return Outcome(NOT_SUPPORTED, _("Sokhan cannot answer on %(network)s.") % {"network": _network_name(network)})
    return Outcome(_OK)


def plan_action(action: Mapping[str, Any], message: Message, ctx: _Context) -> Outcome:
    """What ``action`` would do to ``message`` (no writes): ``_OK`` with a description, or why not."""
    name: str = action["action"]
    value: Any = action.get("value")
    conversation = ctx.conversation(message)
    if name == "tag":
        return Outcome(_OK, _("Tag “%(tag)s”") % {"tag": value})
    if name == "assign":
        parts: list[str] = []
        if value.get("user") is not None:
            user = ctx.members.get(value["user"])
            if user is None:
                return Outcome(FAILED, _("The member to assign is no longer in this workspace."))
            parts.append(_name(user))
        if value.get("team") is not None:
            team = ctx.teams.get(value["team"])
            if team is None:
                return Outcome(FAILED, _("The team to assign no longer exists."))
            parts.append(team.name)
        return Outcome(_OK, _("Assign to %(who)s") % {"who": " / ".join(parts)})
    if name == "priority":
        return Outcome(_OK, _("Set priority to %(priority)s") % {"priority": Priority(value).label})
    if name == "hide":
        network = conversation.channel.network
        if message.kind == Kind.COMMENT and message.remote_id and _can(network, Capability.HIDE):
            return Outcome(_OK, _("Hide as spam, here and on %(network)s") % {"network": _network_name(network)})
        return Outcome(
            NOT_SUPPORTED,
            _("Hidden as spam in Sokhan only: %(network)s cannot hide it.") % {"network": _network_name(network)},
        )
    if name == "notify":
        users = [ctx.members[i] for i in value if i in ctx.members]
        if not users:
            return Outcome(FAILED, _("None of the members to notify is in this workspace any more."))
        return Outcome(_OK, _("Notify %(who)s") % {"who": ", ".join(_name(u) for u in users)})
    if name == "auto_reply":
        check = auto_reply_check(message, conversation, ctx.now)
        if check.result != _OK:
            return check
        text = render_saved_reply(value, conversation, None, message=message)
        return Outcome(_OK, _("Reply automatically: %(text)s") % {"text": text})
    if name == "close":
        return Outcome(_OK, _("Close the conversation"))
    return Outcome(FAILED, _("Unknown action %(action)s.") % {"action": name})  # pragma: no cover


def _conversation_url(conversation: Conversation) -> str:
    from sokhan.inbox.workflow import conversation_url

    try:
        return conversation_url(conversation)
    except NoReverseMatch:  # the inbox pages are not wired in (a partial install or a test)
        return ""


def _hide(message: Message, conversation: Conversation, *, on_network: bool) -> None:
    from sokhan.inbox.tasks import hide_task

    Message.objects.filter(pk=message.pk).update(hidden=True, needs_response=False)
    message.hidden, message.needs_response = True, False
    # Spam does not wait for an answer: the conversation waits for its oldest other message, if any.
    waiting = (
        Message.objects.filter(
            conversation_id=conversation.pk, direction=Direction.IN, needs_response=True, answered_at__isnull=True
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        awaiting_since=waiting, version=F("version") + 1, updated_at=timezone.now()
    )
    conversation.awaiting_since = waiting
    conversation.refresh_from_db(fields=["version"])
    audit_record(
        workspace=conversation.workspace,
        actor=None,
        action="inbox.hide",
        target=f"conversation:{conversation.pk}",
        data={"message": message.pk, "by": "rule", "on_network": on_network},
    )
    if on_network:
        hide_task.enqueue(message_id=message.pk)


def _execute(action: Mapping[str, Any], message: Message, ctx: _Context, planned: Outcome, rule_name: str) -> None:
    from sokhan.inbox import workflow

    name: str = action["action"]
    value: Any = action.get("value")
    conversation = ctx.conversation(message)
    if name == "tag":
        workflow.conversation_tag(conversation, value, actor=None)
    elif name == "assign":
        user = ctx.members.get(value["user"]) if value.get("user") is not None else conversation.assignee
        team = ctx.teams.get(value["team"]) if value.get("team") is not None else conversation.team
        workflow.conversation_assign(conversation, actor=None, user=user, team=team)
    elif name == "priority":
        workflow.conversation_set_priority(conversation, value, actor=None)
    elif name == "hide":
        _hide(message, conversation, on_network=planned.result == _OK)
    elif name == "notify":
        from sokhan.notifications.services import notify

        def title() -> str:
            return _("Inbox rule “%(rule)s” matched a message") % {"rule": rule_name}

        notify(
            [ctx.members[i] for i in value if i in ctx.members],
            workspace=ctx.workspace,
            kind="inbox.rule",
            title=title,
            body=message.text[:500],
            url=_conversation_url(conversation),
        )
    elif name == "auto_reply":
        from sokhan.inbox.tasks import auto_reply_task

        text = render_saved_reply(value, conversation, None, message=message)
        auto_reply_task.enqueue(message_id=message.pk, text=text)
    elif name == "close":
        workflow.conversation_set_status(conversation, Status.CLOSED, actor=None)


def _run_actions(
    actions: Sequence[Mapping[str, Any]], message: Message, ctx: _Context, rule_name: str
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for action in actions:
        planned = plan_action(action, message, ctx)
        outcome = planned
        # hide still hides in Sokhan when the network cannot; other refusals do nothing
        if planned.result == _OK or (action["action"] == "hide" and planned.result == NOT_SUPPORTED):
            try:
                with transaction.atomic():  # a failed action undoes only itself
                    _execute(action, message, ctx, planned, rule_name)
            except DomainError as error:
                outcome = Outcome(FAILED, error.message)
                ctx.conversations.pop(message.conversation_id, None)  # reload what the savepoint undid
            else:
                if planned.result == _OK:
                    outcome = Outcome(DONE, planned.detail)
        results.append(
            {
                "action": action["action"],
                "value": action.get("value"),
                "result": outcome.result,
                "detail": outcome.detail,
            }
        )
    return results


def _spec(rule: Rule) -> RuleSpec:
    return RuleSpec(
        name=rule.name,
        enabled=rule.enabled,
        match_all=rule.match_all,
        stop=rule.stop,
        conditions=list(rule.conditions or []),
        actions=list(rule.actions or []),
    )


def apply_rules(messages: Iterable[Message], *, now: datetime | None = None) -> list[RuleHit]:
    """Run each workspace's enabled rules, in order, on its received ``messages``, then the
    escalation policy. Called by ``ingest`` inside its transaction, right after storing them, so the
    jobs rules enqueue (automatic replies, hides) exist exactly when the messages do."""
    now = now or timezone.now()
    received = [m for m in messages if m.direction == Direction.IN]
    hits: list[RuleHit] = []
    if not received:
        return hits
    with transaction.atomic():
        by_workspace: dict[int, list[Message]] = {}
        for message in received:
            by_workspace.setdefault(message.workspace_id, []).append(message)
        for workspace_id, batch in by_workspace.items():
            workspace = Workspace.objects.get(pk=workspace_id)
            rules = [
                (r, _spec(r)) for r in Rule.objects.filter(workspace=workspace, enabled=True).order_by("position", "id")
            ]
            settings = InboxSettings.objects.filter(workspace=workspace).select_related("escalation_owner").first()
            ctx = _Context.load(workspace, now)
            for message in sorted(batch, key=lambda m: (m.created_at, m.pk)):
                text = _Text(message.text)
                for rule, spec in rules:
                    if not rule_matches(spec, message, text):
                        continue
                    results = _run_actions(spec.actions, message, ctx, rule.name)
                    hits.append(
                        RuleHit.objects.create(
                            workspace=workspace, rule=rule, rule_name=rule.name, message=message, actions=results
                        )
                    )
                    if rule.stop:
                        break
                if settings is not None and not message.hidden:  # spam a rule hid is not escalated
                    hit = _escalate(message, text, settings, ctx)
                    if hit is not None:
                        hits.append(hit)
    return hits


def escalation_reason(message: Message, text: _Text, settings: InboxSettings) -> tuple[str, str] | None:
    """``(priority, why)`` when the escalation policy applies to ``message``: a crisis keyword
    (urgent) or, with ``escalate_negative``, a negative sentiment (high)."""
    crisis = text.found(settings.crisis_keywords or [])
    if crisis:
        return Priority.URGENT, _("Crisis keyword: %(words)s") % {"words": ", ".join(crisis)}
    if settings.escalate_negative and message.sentiment == Sentiment.NEGATIVE:
        return Priority.HIGH, _("Negative message")
    return None


def _escalate(message: Message, text: _Text, settings: InboxSettings, ctx: _Context) -> RuleHit | None:
    owner = ctx.members.get(settings.escalation_owner_id) if settings.escalation_owner_id else None
    if owner is None:  # no owner (or no longer a member): nobody to escalate to
        return None
    reason = escalation_reason(message, text, settings)
    if reason is None:
        return None
    priority, why = reason
    from sokhan.inbox import workflow
    from sokhan.notifications.services import notify

    conversation = ctx.conversation(message)
    results: list[dict[str, Any]] = []

    def record(action: str, value: Any, run: Callable[[], object], detail: str) -> None:
        try:
            with transaction.atomic():
                run()
        except DomainError as error:
            results.append({"action": action, "value": value, "result": FAILED, "detail": error.message})
            ctx.conversations.pop(message.conversation_id, None)
        else:
            results.append({"action": action, "value": value, "result": DONE, "detail": detail})

    if conversation.assignee_id != owner.pk:
        record(
            "assign",
            {"user": owner.pk},
            lambda: workflow.conversation_assign(conversation, actor=None, user=owner, team=conversation.team),
            _("Assign to %(who)s (%(why)s)") % {"who": _name(owner), "why": why},
        )
    conversation = ctx.conversation(message)
    # Escalation only raises the priority: an urgent conversation stays urgent on a negative message.
    if PRIORITY_ORDER[Priority(conversation.priority)] < PRIORITY_ORDER[Priority(priority)]:
        record(
            "priority",
            priority,
            lambda: workflow.conversation_set_priority(conversation, priority, actor=None),
            _("Set priority to %(priority)s") % {"priority": Priority(priority).label},
        )

    def title() -> str:
        return _("Escalated: %(why)s") % {"why": why}

    record(
        "notify",
        [owner.pk],
        lambda: notify(
            [owner],
            workspace=ctx.workspace,
            kind="inbox.escalated",
            title=title,
            body=message.text[:500],
            url=_conversation_url(conversation),
        ),
        _("Notify %(who)s") % {"who": _name(owner)},
    )
    return RuleHit.objects.create(
        workspace=ctx.workspace, rule=None, rule_name=ESCALATION, message=message, actions=results
    )


# ---------------------------------------------------------------------------------------------
# Dry run


@dataclass(frozen=True, slots=True)
class DryRunRow:
    """One of the last received messages and what the rule would do to it."""

    message_id: int
    conversation_id: int
    channel: str
    network: str
    kind: str
    author: str
    text: str
    created_at: datetime
    matches: bool
    conditions: list[bool]
    actions: list[dict[str, Any]]


def dry_run(workspace: Workspace, rule_data: Mapping[str, Any], last_n: int = 50) -> list[DryRunRow]:
    """Evaluate an unsaved rule against the workspace's last ``last_n`` received messages (newest
    first). Only reads: nothing is tagged, assigned, sent, enqueued or audited."""
    spec = rule_clean(workspace, rule_data)
    last_n = max(1, min(int(last_n), 500))
    messages = list(
        Message.objects.filter(workspace=workspace, direction=Direction.IN)
        .select_related("channel", "conversation__channel", "conversation__workspace")
        .order_by("-created_at", "-id")[:last_n]
    )
    ctx = _Context.load(workspace, timezone.now())
    rows: list[DryRunRow] = []
    for message in messages:
        ctx.conversations.setdefault(message.conversation_id, message.conversation)
        text = _Text(message.text)
        conditions = conditions_match(spec, message, text)
        matches = (all(conditions) if spec.match_all else any(conditions)) if conditions else True
        actions: list[dict[str, Any]] = []
        if matches:
            for action in spec.actions:
                planned = plan_action(action, message, ctx)
                result = WOULD if planned.result == _OK else planned.result
                actions.append(
                    {
                        "action": action["action"],
                        "value": action.get("value"),
                        "result": result,
                        "detail": planned.detail,
                    }
                )
        rows.append(
            DryRunRow(
                message_id=message.pk,
                conversation_id=message.conversation_id,
                channel=message.channel.display_name,
                network=message.channel.network,
                kind=message.kind,
                author=message.author_name or message.author_handle,
                text=message.text[:PREVIEW_CHARS],
                created_at=message.created_at,
                matches=matches,
                conditions=conditions,
                actions=actions,
            )
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Services


def _require(membership: Membership) -> None:
    if not role_can(membership.role, Perm.WORKSPACE_SETTINGS):
        raise NotAllowed(_("Your role may not change the inbox rules."))


def rules_for(workspace: Workspace) -> list[Rule]:
    return list(Rule.objects.filter(workspace=workspace).order_by("position", "id"))


def rule_get(workspace: Workspace, rule_id: int) -> Rule:
    rule = Rule.objects.filter(workspace=workspace, pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Rule not found."))
    return rule


def rule_json(rule: Rule) -> dict[str, Any]:
    return {"id": rule.pk, "position": rule.position, **_spec(rule).as_json()}


def _audit(membership: Membership, action: str, rule: Rule, data: dict[str, Any], ip: str | None) -> None:
    audit_record(
        workspace=membership.workspace,
        actor=membership.user,
        action=action,
        target=f"inbox_rule:{rule.pk}",
        data=data,
        ip=ip,
    )


@transaction.atomic
def rule_create(membership: Membership, data: Mapping[str, Any], ip: str | None = None) -> Rule:
    """A new rule, last in the order."""
    _require(membership)
    spec = rule_clean(membership.workspace, data)
    last = Rule.objects.filter(workspace=membership.workspace).aggregate(m=Max("position"))["m"]
    rule = Rule.objects.create(
        workspace=membership.workspace,
        position=0 if last is None else last + 1,
        created_by=membership.user,
        updated_at=timezone.now(),
        **spec.as_json(),
    )
    _audit(membership, "inbox.rule.create", rule, spec.as_json(), ip)
    return rule


@transaction.atomic
def rule_update(membership: Membership, rule_id: int, data: Mapping[str, Any], ip: str | None = None) -> Rule:
    """Change a rule; fields left out of ``data`` keep their value (so ``{"enabled": false}`` works)."""
    _require(membership)
    rule = Rule.objects.select_for_update().filter(workspace=membership.workspace, pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Rule not found."))
    before = _spec(rule).as_json()
    merged = {**before, **{k: v for k, v in data.items() if k not in ("id", "position")}}
    spec = rule_clean(membership.workspace, merged)
    after = spec.as_json()
    if after == before:
        return rule
    for name, value in after.items():
        setattr(rule, name, value)
    rule.updated_at = timezone.now()
    rule.save()
    _audit(membership, "inbox.rule.update", rule, {"from": before, "to": after}, ip)
    return rule


@transaction.atomic
def rule_delete(membership: Membership, rule_id: int, ip: str | None = None) -> None:
    _require(membership)
    rule = rule_get(membership.workspace, rule_id)
    _audit(membership, "inbox.rule.delete", rule, _spec(rule).as_json(), ip)
    rule.delete()


@transaction.atomic
def rule_reorder(membership: Membership, rule_ids: Sequence[int], ip: str | None = None) -> list[Rule]:
    """Put the workspace's rules in the order of ``rule_ids``, which must name each of them once."""
    _require(membership)
    rules = {r.pk: r for r in Rule.objects.select_for_update().filter(workspace=membership.workspace)}
    ids = [_int(i) for i in rule_ids]
    if any(i is None for i in ids) or len(set(ids)) != len(ids) or set(ids) != set(rules):
        raise DomainError(
            _("List every rule of this workspace exactly once, in the new order."), fields={"order": "invalid"}
        )
    before = [r.pk for r in sorted(rules.values(), key=lambda r: (r.position, r.pk))]
    order = [i for i in ids if i is not None]
    for position, pk in enumerate(order):
        if rules[pk].position != position:
            Rule.objects.filter(pk=pk).update(position=position)
            rules[pk].position = position
    if before != order:
        audit_record(
            workspace=membership.workspace,
            actor=membership.user,
            action="inbox.rule.reorder",
            target=f"workspace:{membership.workspace.slug}",
            data={"from": before, "to": order},
            ip=ip,
        )
    return [rules[pk] for pk in order]


def rule_move(membership: Membership, rule_id: int, offset: int, ip: str | None = None) -> list[Rule]:
    """Move one rule up (``offset`` -1) or down (+1) in the order."""
    _require(membership)
    order = [r.pk for r in rules_for(membership.workspace)]
    if rule_id not in order:
        raise NotFound(_("Rule not found."))
    index = order.index(rule_id)
    target = max(0, min(len(order) - 1, index + offset))
    order.insert(target, order.pop(index))
    return rule_reorder(membership, order, ip=ip)

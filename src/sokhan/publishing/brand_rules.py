"""A workspace's brand rules: read, save (validated, audited) and check a post's variant.

The rules themselves and the matching are pure logic in :mod:`sokhan.publishing.rules`; this
module keeps one ``BrandRuleSet`` row per workspace (no row: no rules) and checks a whole variant
(text, thread parts and first comment) the same way for the composer and for scheduling.
See ``docs/composer-rules.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.core.errors import DomainError, NotAllowed
from sokhan.core.models import Membership, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.publishing.models import BrandRuleSet
from sokhan.publishing.rules import RULE_KINDS, BrandRules, RuleConfigError, RuleFinding, check

MAX_WORDS = 500  # entries per list
MAX_WORD_LENGTH = 100  # characters per entry
MAX_HASHTAGS_LIMIT = 100

_FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


def is_sponsored(options: Mapping[str, Any] | None) -> bool:
    """Whether a target's options mark it sponsored (the composer stores ``"sponsored": "true"``;
    over the API ``"false"``, ``"0"``, ``"no"``, ``"off"`` and empty mean not sponsored)."""
    value = (options or {}).get("sponsored")
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_WORDS
    return bool(value)


def brand_rules_for(workspace: Workspace) -> BrandRules:
    """The workspace's saved brand rules; empty rules (nothing is checked) when none are saved."""
    row = BrandRuleSet.objects.filter(workspace=workspace).only("rules").first()
    if row is None or not row.rules:
        return BrandRules()
    return BrandRules.from_json(row.rules)


def brand_rules_saved(workspace: Workspace) -> BrandRuleSet | None:
    """The stored row (who saved the rules and when), or None."""
    return BrandRuleSet.objects.filter(workspace=workspace).select_related("updated_by").first()


# ------------------------------------------------------------------ validation


def _words(data: Mapping[str, Any], name: str, fields: dict[str, str]) -> list[str]:
    raw = data.get(name, [])
    if raw is None:
        return []
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        fields[name] = _("%(field)s must be a list of words.") % {"field": name}
        return []
    words: list[str] = []
    for entry in raw:
        if not isinstance(entry, str):
            fields[name] = _("%(field)s must be a list of words.") % {"field": name}
            return []
        word = " ".join(entry.split())
        if len(word) > MAX_WORD_LENGTH:
            fields[name] = _("%(field)s: “%(word)s…” is longer than %(max)s characters.") % {
                "field": name,
                "word": word[:20],
                "max": MAX_WORD_LENGTH,
            }
            return []
        if word not in words:
            words.append(word)
    if len(words) > MAX_WORDS:
        fields[name] = _("%(field)s may hold at most %(max)s entries.") % {"field": name, "max": MAX_WORDS}
        return []
    try:  # what the rules themselves refuse (e.g. an entry of only joiners or diacritics)
        BrandRules(banned_words=words) if name == "banned_words" else BrandRules(required_disclosure=words)
    except RuleConfigError as error:
        fields[name] = str(error)
        return []
    return words


def _max_hashtags(data: Mapping[str, Any], fields: dict[str, str]) -> int | None:
    raw = data.get("max_hashtags")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    value: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and raw.strip().isdigit():
        value = int(raw.strip())
    if value is None or value > MAX_HASHTAGS_LIMIT:
        fields["max_hashtags"] = _("max_hashtags must be a whole number from 0 to %(max)s, or empty for no limit.") % {
            "max": MAX_HASHTAGS_LIMIT
        }
        return None
    try:
        BrandRules(max_hashtags=value)
    except RuleConfigError as error:
        fields["max_hashtags"] = str(error)
        return None
    return value


def _blocking(data: Mapping[str, Any], fields: dict[str, str]) -> frozenset[str]:
    raw = data.get("blocking", ("banned_word", "missing_disclosure"))
    if raw is None:
        return frozenset()
    if isinstance(raw, str) or not isinstance(raw, Sequence | set | frozenset):
        fields["blocking"] = _("blocking must be a list of rule kinds (%(known)s).") % {
            "known": ", ".join(sorted(RULE_KINDS))
        }
        return frozenset()
    kinds = frozenset(str(kind) for kind in raw)
    try:
        BrandRules(blocking=kinds)
    except RuleConfigError as error:
        fields["blocking"] = str(error)
        return frozenset()
    return kinds


def brand_rules_clean(data: Mapping[str, Any]) -> BrandRules:
    """``data`` (as ``BrandRules.as_json`` writes it) checked field by field. Raises
    ``DomainError`` whose ``fields`` name every wrong field (``banned_words``,
    ``required_disclosure``, ``disclosure_applies_to_sponsored``, ``max_hashtags``, ``blocking``)."""
    fields: dict[str, str] = {}
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(BrandRules)})
    for name in unknown:
        fields[name] = _("Unknown field %(field)s.") % {"field": name}
    banned = _words(data, "banned_words", fields)
    disclosure = _words(data, "required_disclosure", fields)
    applies = data.get("disclosure_applies_to_sponsored", True)
    if not isinstance(applies, bool):
        fields["disclosure_applies_to_sponsored"] = _("disclosure_applies_to_sponsored must be true or false.")
    maximum = _max_hashtags(data, fields)
    blocking = _blocking(data, fields)
    if fields:
        raise DomainError(next(iter(fields.values())), fields=fields)
    try:
        return BrandRules(
            banned_words=banned,
            required_disclosure=disclosure,
            disclosure_applies_to_sponsored=bool(applies),
            max_hashtags=maximum,
            blocking=blocking,
        )
    except RuleConfigError as error:  # every field passed on its own; kept as a safety net
        raise DomainError(str(error), fields={"rules": str(error)}) from None


@transaction.atomic
def brand_rules_save(actor: Membership, data: Mapping[str, Any], ip: str | None = None) -> BrandRules:
    """Replace the workspace's brand rules with ``data`` (see ``brand_rules_clean``). Needs
    ``workspace.settings``; a change is recorded as ``brand_rules.update`` with the rules before
    and after. Saving the same rules again writes nothing."""
    if not role_can(actor.role, Perm.WORKSPACE_SETTINGS):
        raise NotAllowed(_("Your role may not change the brand rules."))
    rules = brand_rules_clean(data)
    workspace = actor.workspace
    row = BrandRuleSet.objects.select_for_update().filter(workspace=workspace).first()
    before = BrandRules.from_json(row.rules).as_json() if row is not None and row.rules else BrandRules().as_json()
    after = rules.as_json()
    if row is not None and before == after:
        return rules
    if row is None:
        row = BrandRuleSet(workspace=workspace)
    row.rules = after
    row.updated_at = timezone.now()
    row.updated_by = actor.user
    row.save()
    audit_record(
        workspace=workspace,
        actor=actor.user,
        action="brand_rules.update",
        target=f"workspace:{workspace.slug}",
        data={"from": before, "to": after},
        ip=ip,
    )
    return rules


# ------------------------------------------------------------------ checking a variant


def variant_findings(
    text: str,
    *,
    rules: BrandRules,
    sponsored: bool,
    thread: Sequence[str] = (),
    first_comment: str = "",
) -> list[RuleFinding]:
    """Every brand-rule finding for one channel's variant. The main text is checked in full;
    banned words are also looked for in the thread parts and the first comment (their findings'
    messages say where). A disclosure anywhere in the variant satisfies the disclosure rule; the
    hashtag limit counts the main text."""
    found = check(text, rules, sponsored=sponsored)
    extra = [(_("Thread part %(n)s") % {"n": n}, str(part)) for n, part in enumerate(thread, start=2)]
    if first_comment:
        extra.append((_("First comment"), first_comment))
    if extra:
        whole = "\n".join([text, *(part for _where, part in extra)])
        if any(f.kind == "missing_disclosure" for f in found) and not any(
            f.kind == "missing_disclosure" for f in check(whole, rules, sponsored=sponsored)
        ):
            found = [f for f in found if f.kind != "missing_disclosure"]
        words_only = dataclasses.replace(rules, required_disclosure=[], max_hashtags=None)
        for where, part in extra:
            for f in check(part, words_only, sponsored=False):
                found.append(dataclasses.replace(f, message=f"{where}: {f.message}"))
    return found

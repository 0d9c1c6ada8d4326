"""Holding statements: prepared first answers for a crisis, per workspace and language, with
variables filled in when one is used. The variables work like the inbox's saved replies
(``sokhan.inbox.saved_replies``, whose filling this reuses): ``{brand_name}``, ``{agent_name}``,
``{incident_title}``, ``{topic_names}``; an unknown ``{name}`` stays as written.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from sokhan.core.errors import DomainError, NotAllowed, NotFound
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.services import audit_record
from sokhan.inbox.saved_replies import brand_name_of, fill_variables, unknown_variables
from sokhan.listening.crisis import can_run
from sokhan.listening.models import HoldingStatement, Incident

VARIABLES = ("brand_name", "agent_name", "incident_title", "topic_names")
NAME_MAX = 120
TEXT_MAX = 5000
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")

# Offered once to a workspace without statements ("Add the examples"): content in its own
# language, not interface text, so not translated.
EXAMPLES = (
    (
        "اعلام اولیه",
        "fa",
        "ما از گزارش‌ها درباره‌ی «{incident_title}» آگاهیم و در حال بررسی آن هستیم. "
        "به‌محض اینکه اطلاعات بیشتری داشته باشیم، همین‌جا اطلاع می‌دهیم. — {brand_name}",
    ),
    (
        "پاسخ به پیام‌ها",
        "fa",
        "ممنون که به ما خبر دادید. از «{incident_title}» مطلعیم و تیم ما روی آن کار می‌کند؛ "
        "نتیجه را همین‌جا به شما می‌گوییم. — {agent_name}، {brand_name}",
    ),
    (
        "Initial acknowledgement",
        "en",
        "We are aware of reports about {incident_title} and are looking into it. We will share an "
        "update here as soon as we know more. — {brand_name}",
    ),
    (
        "Reply to messages",
        "en",
        "Thank you for telling us. We know about {incident_title} and our team is working on it; "
        "we will let you know here. — {agent_name}, {brand_name}",
    ),
)


def statements_for(workspace: Workspace) -> list[HoldingStatement]:
    return list(HoldingStatement.objects.filter(workspace=workspace).order_by("language", "name", "pk"))


def statement_get(workspace: Workspace, statement_id: int) -> HoldingStatement:
    found = HoldingStatement.objects.filter(workspace=workspace, pk=statement_id).first()
    if found is None:
        raise NotFound(_("No such holding statement in this workspace."))
    return found


def statement_check(text: str) -> list[str]:
    """Unknown variable names in ``text`` (the editor warns; saving is allowed)."""
    return unknown_variables(text, VARIABLES)


def statement_values(
    workspace: Workspace, incident: Incident | None, agent: User | None, language: str
) -> dict[str, str]:
    """The variables' values; without an incident its two stay as written."""
    values = {
        "brand_name": brand_name_of(workspace),
        "agent_name": ((agent.full_name or "").strip() or agent.email) if agent else brand_name_of(workspace),
    }
    if incident is not None:
        separator = "، " if language.startswith("fa") else ", "
        values["incident_title"] = incident.title
        values["topic_names"] = separator.join(incident.topics.values_list("name", flat=True))
    return values


def statement_render(statement: HoldingStatement, incident: Incident | None, agent: User | None) -> str:
    """The statement's text with what is known filled in."""
    values = statement_values(statement.workspace, incident, agent, statement.language)
    return fill_variables(statement.text, values)


def statement_clean(data: dict[str, Any]) -> dict[str, str]:
    fields: dict[str, str] = {}
    name = str(data.get("name") or "").strip()
    text = str(data.get("text") or "").strip()
    language = str(data.get("language") or "").strip().lower()
    if not name:
        fields["name"] = _("Give the statement a name.")
    elif len(name) > NAME_MAX:
        fields["name"] = _("The name is at most %(n)s characters.") % {"n": NAME_MAX}
    if not text:
        fields["text"] = _("The statement has no text.")
    elif len(text) > TEXT_MAX:
        fields["text"] = _("The text is at most %(n)s characters.") % {"n": TEXT_MAX}
    if not _LANGUAGE.fullmatch(language):
        fields["language"] = _("Write the language as a code such as fa or en.")
    if fields:
        raise DomainError(next(iter(fields.values())), fields=fields)
    return {"name": name, "text": text, "language": language}


def _require(actor: Membership) -> None:
    if not can_run(actor.role):
        raise NotAllowed(_("Your role may not change holding statements."))


def _audit(actor: Membership, action: str, statement: HoldingStatement, data: dict[str, Any], ip: str | None) -> None:
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action=action,
        target=f"holding_statement:{statement.pk}",
        data=data,
        ip=ip,
    )


@transaction.atomic
def statement_create(actor: Membership, data: dict[str, Any], ip: str | None = None) -> HoldingStatement:
    _require(actor)
    clean = statement_clean(data)
    statement = HoldingStatement.objects.create(workspace=actor.workspace, **clean)
    _audit(actor, "listening.statement.create", statement, clean, ip)
    return statement


@transaction.atomic
def statement_update(
    actor: Membership, statement_id: int, data: dict[str, Any], ip: str | None = None
) -> HoldingStatement:
    """Fields left out of ``data`` keep their value."""
    _require(actor)
    statement = statement_get(actor.workspace, statement_id)
    before = {"name": statement.name, "text": statement.text, "language": statement.language}
    clean = statement_clean({**before, **{k: v for k, v in data.items() if v is not None}})
    if clean != before:
        for key, value in clean.items():
            setattr(statement, key, value)
        statement.save(update_fields=list(clean))
        _audit(actor, "listening.statement.update", statement, {"from": before, "to": clean}, ip)
    return statement


@transaction.atomic
def statement_delete(actor: Membership, statement_id: int, ip: str | None = None) -> None:
    _require(actor)
    statement = statement_get(actor.workspace, statement_id)
    _audit(actor, "listening.statement.delete", statement, {"name": statement.name}, ip)
    statement.delete()


@transaction.atomic
def statement_examples(actor: Membership, ip: str | None = None) -> list[HoldingStatement]:
    """Add the example statements (Persian and English) to a workspace that has none."""
    _require(actor)
    if HoldingStatement.objects.filter(workspace=actor.workspace).exists():
        return []
    made = [
        HoldingStatement.objects.create(workspace=actor.workspace, name=name, language=language, text=text)
        for name, language, text in EXAMPLES
    ]
    for statement in made:
        _audit(actor, "listening.statement.create", statement, {"name": statement.name, "example": True}, ip)
    return made

"""A workspace's brand rules over the API: read them, replace them. See docs/composer-rules.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from sokhan.api.auth import Scope, access, access_of, client_ip
from sokhan.api.schemas import ERRORS
from sokhan.core.models import Workspace
from sokhan.core.permissions import Perm
from sokhan.publishing.brand_rules import brand_rules_for, brand_rules_save, brand_rules_saved

router = Router(tags=["brand rules"])

KINDS = "`banned_word`, `missing_disclosure`, `too_many_hashtags`"


class BrandRulesIn(Schema):
    banned_words: list[str] = Field(default_factory=list, description="Words or phrases, matched as whole words.")
    required_disclosure: list[str] = Field(
        default_factory=list, description="Alternatives: any one in the post satisfies the rule (e.g. #تبلیغ, #ad)."
    )
    disclosure_applies_to_sponsored: bool = Field(
        True, description="true: required on sponsored posts only (target option `sponsored`); false: on every post."
    )
    max_hashtags: int | None = Field(None, description="Most hashtags in a post (0–100); null for no limit.")
    blocking: list[str] = Field(
        default_factory=lambda: ["banned_word", "missing_disclosure"],
        description=f"Rule kinds whose findings stop scheduling ({KINDS}); the others are warnings.",
    )


class BrandRulesOut(Schema):
    banned_words: list[str]
    required_disclosure: list[str]
    disclosure_applies_to_sponsored: bool
    max_hashtags: int | None
    blocking: list[str]
    updated_at: datetime | None = Field(description="When the rules were last changed; null if never saved.")
    updated_by: str | None


def rules_out(workspace: Workspace) -> dict[str, Any]:
    saved = brand_rules_saved(workspace)
    return {
        **brand_rules_for(workspace).as_json(),
        "updated_at": saved.updated_at if saved else None,
        "updated_by": saved.updated_by.email if saved and saved.updated_by else None,
    }


@router.get(
    "/workspaces/{ws}/brand-rules",
    response={200: BrandRulesOut, **ERRORS},
    auth=access(Perm.POSTS_VIEW),
)
def brand_rules_get(request: HttpRequest, ws: str) -> dict[str, Any]:
    """The workspace's brand rules (empty when none are saved): what posts are checked against."""
    return rules_out(access_of(request).workspace_membership.workspace)


@router.put(
    "/workspaces/{ws}/brand-rules",
    response={200: BrandRulesOut, **ERRORS},
    auth=access(Perm.WORKSPACE_SETTINGS, Scope.ADMIN),
)
def brand_rules_put(request: HttpRequest, ws: str, payload: BrandRulesIn) -> dict[str, Any]:
    """Replace the brand rules. A wrong field is a 400 whose ``fields`` name it."""
    membership = access_of(request).workspace_membership
    brand_rules_save(membership, payload.dict(), ip=client_ip(request))
    return rules_out(membership.workspace)

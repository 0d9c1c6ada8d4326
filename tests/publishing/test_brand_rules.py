"""Brand rules per workspace: saving (validated field by field, audited with before and after),
the API, and scheduling refused by blocking rules (Persian banned words with and without the half
space, thread parts and first comments, the disclosure on sponsored posts) but not by warnings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from tests.api.conftest import ApiClient, assert_error, make_token

from sokhan.channels.models import Channel
from sokhan.core.errors import DomainError, NotAllowed
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.ops.bench_sink import make_channel
from sokhan.publishing import services
from sokhan.publishing import states as S
from sokhan.publishing.brand_rules import brand_rules_for, brand_rules_save
from sokhan.publishing.models import BrandRuleSet, Post, PostTarget
from sokhan.publishing.rules import BrandRules

pytestmark = pytest.mark.django_db

BANNED_CHEAP = {"banned_words": ["ارزان"], "blocking": ["banned_word"]}


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> Iterator[None]:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner_m(owner: User, workspace: Workspace) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(user=owner, workspace=workspace)


@pytest.fixture
def mastodon(workspace: Workspace) -> Channel:
    return make_channel(workspace, "http://127.0.0.1:9")


@pytest.fixture
def x(workspace: Workspace) -> Channel:
    return make_channel(workspace, "http://127.0.0.1:9", network="x", display_name="Acme on X", remote_id="2")


@pytest.fixture
def api(owner: User, workspace: Workspace) -> ApiClient:
    return ApiClient(make_token(owner, workspace, ["admin"]))


def draft(actor: Membership, channel: Channel, text: str, **variant: Any) -> Post:
    return services.post_create(
        actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text=text, **variant)]
    )


def schedule(actor: Membership, post: Post) -> None:
    services.post_schedule(actor=actor, post_id=post.pk, at=datetime.now(UTC) + timedelta(days=1))


def state(post: Post) -> str:
    return PostTarget.objects.get(post=post).state


# ------------------------------------------------------------------ saving


def test_no_saved_rules_check_nothing(owner_m: Membership, mastodon: Channel) -> None:
    assert brand_rules_for(owner_m.workspace) == BrandRules()
    post = draft(owner_m, mastodon, "ارزان‌ترین قهوه")
    schedule(owner_m, post)
    assert state(post) == S.SCHEDULED


def test_save_keeps_the_rules_and_audits_before_and_after(owner_m: Membership) -> None:
    data = {
        "banned_words": ["  ارزان ", "مفت", "ارزان"],
        "required_disclosure": ["#تبلیغ", "#ad"],
        "disclosure_applies_to_sponsored": False,
        "max_hashtags": 3,
        "blocking": ["banned_word"],
    }
    rules = brand_rules_save(owner_m, data, ip="203.0.113.7")
    assert brand_rules_for(owner_m.workspace) == rules
    assert rules.banned_words == ["ارزان", "مفت"]  # trimmed, repeated entries once
    assert rules.required_disclosure == ["#تبلیغ", "#ad"]
    assert rules.disclosure_applies_to_sponsored is False and rules.max_hashtags == 3
    assert rules.blocking == frozenset({"banned_word"})
    row = BrandRuleSet.objects.get(workspace=owner_m.workspace)
    assert row.updated_by == owner_m.user
    event = AuditEvent.objects.get(action="brand_rules.update")
    assert event.actor == owner_m.user and event.ip == "203.0.113.7"
    assert event.data["from"] == BrandRules().as_json()
    assert event.data["to"]["banned_words"] == ["ارزان", "مفت"] and event.data["to"]["max_hashtags"] == 3

    # The same rules again write nothing; a change is recorded with what it replaced.
    brand_rules_save(owner_m, data)
    assert AuditEvent.objects.filter(action="brand_rules.update").count() == 1
    brand_rules_save(owner_m, {**data, "max_hashtags": None})
    latest = AuditEvent.objects.filter(action="brand_rules.update").order_by("-pk").first()
    assert latest is not None
    assert latest.data["from"]["max_hashtags"] == 3 and latest.data["to"]["max_hashtags"] is None
    assert brand_rules_for(owner_m.workspace).max_hashtags is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"max_hashtags": -1}, "max_hashtags"),
        ({"max_hashtags": "many"}, "max_hashtags"),
        ({"blocking": ["banned_words"]}, "blocking"),
        ({"banned_words": ["ارزان", "\u200c\u0640"]}, "banned_words"),  # only a half space and a tatweel
        ({"required_disclosure": "#تبلیغ"}, "required_disclosure"),
        ({"disclosure_applies_to_sponsored": "yes"}, "disclosure_applies_to_sponsored"),
        ({"banned_word": ["ارزان"]}, "banned_word"),
    ],
)
def test_wrong_field_is_named_and_nothing_is_saved(owner_m: Membership, data: dict[str, Any], field: str) -> None:
    with pytest.raises(DomainError) as raised:
        brand_rules_save(owner_m, data)
    assert set(raised.value.fields) == {field}
    assert field in raised.value.message
    assert not BrandRuleSet.objects.exists()
    assert not AuditEvent.objects.filter(action="brand_rules.update").exists()


def test_only_workspace_settings_may_save(workspace: Workspace, make_member) -> None:  # type: ignore[no-untyped-def]
    editor = make_member(Role.EDITOR)
    membership = Membership.objects.select_related("workspace", "user").get(user=editor, workspace=workspace)
    with pytest.raises(NotAllowed):
        brand_rules_save(membership, BANNED_CHEAP)
    assert not BrandRuleSet.objects.exists()


# ------------------------------------------------------------------ scheduling


def test_blocking_banned_word_refuses_scheduling_in_every_spelling(owner_m: Membership, mastodon: Channel) -> None:
    brand_rules_save(owner_m, {"banned_words": ["ارزان", "کتابفروشی"], "blocking": ["banned_word"]})
    # «ارزان» with a suffix joined by a half space (ZWNJ); «کتابفروشی» written with one and Arabic ي/ك.
    for text in ("قهوهٔ ارزان‌ترین شهر", "قهوه در كتاب‌فروشي ما"):
        post = draft(owner_m, mastodon, text)
        with pytest.raises(DomainError) as raised:
            schedule(owner_m, post)
        assert raised.value.code == "brand_rules"
        message = raised.value.fields[f"channel.{mastodon.pk}"]
        assert "is a banned word" in message
        assert ("“ارزان”" in message) if "ارزان" in text else ("“کتابفروشی”" in message)
        assert state(post) == S.DRAFT
    assert not AuditEvent.objects.filter(action="post.schedule").exists()


def test_banned_word_in_a_thread_part_or_first_comment_blocks(
    owner_m: Membership, mastodon: Channel, x: Channel
) -> None:
    brand_rules_save(owner_m, BANNED_CHEAP)
    in_thread = draft(owner_m, mastodon, "قهوهٔ تازه", thread=["و ارزان"])
    with pytest.raises(DomainError) as raised:
        schedule(owner_m, in_thread)
    assert raised.value.fields[f"channel.{mastodon.pk}"].startswith("Brand rule: Thread part 2: “ارزان”")
    in_comment = draft(owner_m, x, "قهوهٔ تازه", first_comment="ارزان است")
    with pytest.raises(DomainError) as raised:
        schedule(owner_m, in_comment)
    assert "First comment: “ارزان” is a banned word" in raised.value.fields[f"channel.{x.pk}"]


def test_warning_only_rules_do_not_stop_scheduling(owner_m: Membership, mastodon: Channel) -> None:
    brand_rules_save(
        owner_m,
        {"banned_words": ["ارزان"], "required_disclosure": ["#تبلیغ"], "max_hashtags": 1, "blocking": []},
    )
    post = draft(owner_m, mastodon, "ارزان #قهوه #چای", options={"sponsored": "true"})
    schedule(owner_m, post)
    assert state(post) == S.SCHEDULED


def test_disclosure_is_required_only_on_sponsored_posts(owner_m: Membership, mastodon: Channel) -> None:
    brand_rules_save(owner_m, {"required_disclosure": ["#تبلیغ", "#ad"], "blocking": ["missing_disclosure"]})
    plain = draft(owner_m, mastodon, "قهوهٔ تازه رسید")
    schedule(owner_m, plain)
    assert state(plain) == S.SCHEDULED
    said_not = draft(owner_m, mastodon, "قهوهٔ تازه رسید", options={"sponsored": "false"})
    schedule(owner_m, said_not)
    assert state(said_not) == S.SCHEDULED

    sponsored = draft(owner_m, mastodon, "قهوهٔ تازه رسید", options={"sponsored": "true"})
    with pytest.raises(DomainError) as raised:
        schedule(owner_m, sponsored)
    assert raised.value.code == "brand_rules"
    assert "add the disclosure “#تبلیغ” or “#ad”" in raised.value.fields[f"channel.{mastodon.pk}"]
    assert state(sponsored) == S.DRAFT

    disclosed = draft(owner_m, mastodon, "قهوهٔ تازه رسید #تبلیغ", options={"sponsored": "true"})
    schedule(owner_m, disclosed)
    assert state(disclosed) == S.SCHEDULED


def test_disclosure_on_every_post(owner_m: Membership, mastodon: Channel) -> None:
    brand_rules_save(owner_m, {"required_disclosure": ["#ad"], "disclosure_applies_to_sponsored": False})
    post = draft(owner_m, mastodon, "fresh coffee")
    with pytest.raises(DomainError) as raised:
        schedule(owner_m, post)
    assert "Every post must carry the disclosure “#ad”" in raised.value.fields[f"channel.{mastodon.pk}"]


def test_rules_of_another_workspace_do_not_apply(owner: User, owner_m: Membership, mastodon: Channel) -> None:
    other = workspace_create(owner=owner, name="Other", slug="other")
    other_m = Membership.objects.select_related("workspace", "user").get(user=owner, workspace=other)
    brand_rules_save(other_m, BANNED_CHEAP)
    post = draft(owner_m, mastodon, "ارزان")
    schedule(owner_m, post)
    assert state(post) == S.SCHEDULED


# ------------------------------------------------------------------ API


def test_api_reads_and_replaces_the_rules(api: ApiClient, owner_m: Membership, mastodon: Channel) -> None:
    empty = api.get("/workspaces/acme/brand-rules").json()
    assert empty["banned_words"] == [] and empty["updated_at"] is None and empty["updated_by"] is None
    body = {"banned_words": ["ارزان"], "required_disclosure": ["#تبلیغ"], "max_hashtags": 5}
    response = api.request("PUT", "/workspaces/acme/brand-rules", body)
    assert response.status_code == 200, response.content
    saved = response.json()
    assert saved["banned_words"] == ["ارزان"] and saved["max_hashtags"] == 5
    assert saved["blocking"] == ["banned_word", "missing_disclosure"]  # the default
    assert saved["disclosure_applies_to_sponsored"] is True and saved["updated_by"] == "owner@example.com"
    assert api.get("/workspaces/acme/brand-rules").json()["banned_words"] == ["ارزان"]

    # Scheduling over the API is refused with the channel and the word named.
    post = draft(owner_m, mastodon, "ارزان‌تر از همه")
    response = api.post(f"/workspaces/acme/posts/{post.pk}/schedule", {})
    error = assert_error(response, 400, "brand_rules")
    assert "“ارزان” is a banned word" in error["fields"][f"channel.{mastodon.pk}"]


def test_api_names_the_wrong_field(api: ApiClient) -> None:
    response = api.request("PUT", "/workspaces/acme/brand-rules", {"blocking": ["banned_word", "typo"]})
    error = assert_error(response, 400)
    assert set(error["fields"]) == {"blocking"} and "typo" in error["fields"]["blocking"]
    response = api.request("PUT", "/workspaces/acme/brand-rules", {"max_hashtags": 500})
    assert set(assert_error(response, 400)["fields"]) == {"max_hashtags"}
    assert not BrandRuleSet.objects.exists()


def test_api_permissions_and_other_workspaces(owner: User, workspace: Workspace, make_member) -> None:  # type: ignore[no-untyped-def]
    editor = make_member(Role.EDITOR)
    as_editor = ApiClient(make_token(editor, workspace, ["admin"]))
    assert as_editor.get("/workspaces/acme/brand-rules").status_code == 200  # what posts are checked against
    assert_error(as_editor.request("PUT", "/workspaces/acme/brand-rules", {"banned_words": ["x"]}), 403, "forbidden")
    write_only = ApiClient(make_token(owner, workspace, ["write"]))
    response = write_only.request("PUT", "/workspaces/acme/brand-rules", {"banned_words": ["x"]})
    assert_error(response, 403, "insufficient_scope")
    stranger = User.objects.create_user("stranger@example.com", "correct horse battery staple")
    workspace_create(owner=stranger, name="Theirs", slug="theirs")
    theirs = ApiClient(make_token(stranger, Workspace.objects.get(slug="theirs"), ["admin"]))
    assert_error(theirs.get("/workspaces/acme/brand-rules"), 404)
    assert_error(theirs.request("PUT", "/workspaces/acme/brand-rules", {"banned_words": ["x"]}), 404)
    assert not BrandRuleSet.objects.exists()

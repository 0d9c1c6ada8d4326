"""The brand rules page: an owner saves banned words, the disclosure and the hashtag limit with a
severity for each; the composer's live check then shows the workspace's findings (blocking or as
a warning); other roles and other workspaces cannot reach the page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from tests.web.helpers import sign_in

from sokhan.channels.models import Channel
from sokhan.core.models import AuditEvent, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.networks.types import Credentials
from sokhan.publishing.brand_rules import brand_rules_for
from sokhan.publishing.models import BrandRuleSet

pytestmark = pytest.mark.django_db

PAGE = "/w/acme/settings/brand-rules/"


def rules_form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "banned_words": "ارزان\n\n  مفت  \n",
        "banned_word_severity": "blocking",
        "required_disclosure": "#تبلیغ\n#ad",
        "disclosure_applies": "sponsored",
        "missing_disclosure_severity": "blocking",
        "max_hashtags": "",
        "too_many_hashtags_severity": "warning",
    }
    data.update(changes)
    return data


@pytest.fixture
def x(workspace: Workspace) -> Channel:
    channel = Channel(
        workspace=workspace,
        network="x",
        display_name="Acme on X",
        base_url="http://127.0.0.1:9",
        remote_id="1",
        handle="acme_x",
        last_check_ok=True,
        last_check_at=timezone.now(),
    )
    channel.credentials = Credentials(access_token="test-token")
    channel.save()
    return channel


def check_block(client: Client, channel: Channel, text: str, **extra: Any) -> str:
    data = {"channels": [channel.pk], "main_text": text, f"c{channel.pk}-text": text, **extra}
    response = client.post("/w/acme/posts/check/", data, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.content.decode()[:2000]
    match = re.search(
        rf'<div class="channel-check" id="check-c{channel.pk}".*?</section>', response.content.decode(), re.S
    )
    assert match
    return match.group(0)


def test_settings_page_links_to_the_brand_rules(owner_client: Client) -> None:
    assert f'href="{PAGE}"' in owner_client.get("/w/acme/settings/").content.decode()


def test_owner_saves_rules_and_sees_them_again(owner_client: Client, workspace: Workspace) -> None:
    html = owner_client.get(PAGE).content.decode()
    assert "<h1>Brand rules</h1>" in html
    assert 'name="banned_words"' in html and 'name="required_disclosure"' in html

    # Persian digits in the number field are read as the number they are.
    response = owner_client.post(PAGE, rules_form(max_hashtags="۳", disclosure_applies="all"), follow=True)
    assert response.redirect_chain[-1] == (PAGE, 302)
    html = response.content.decode()
    assert "Brand rules saved." in html
    assert "ارزان\nمفت</textarea>" in html
    assert 'value="3"' in html
    assert 'name="disclosure_applies" value="all" required id="id_disclosure_applies_1" checked' in html
    assert "Last changed by" in html
    rules = brand_rules_for(workspace)
    assert rules.banned_words == ["ارزان", "مفت"]
    assert rules.required_disclosure == ["#تبلیغ", "#ad"]
    assert rules.disclosure_applies_to_sponsored is False and rules.max_hashtags == 3
    assert rules.blocking == frozenset({"banned_word", "missing_disclosure"})
    assert AuditEvent.objects.filter(action="brand_rules.update").count() == 1


def test_a_wrong_entry_is_shown_at_its_field_and_nothing_is_saved(owner_client: Client) -> None:
    response = owner_client.post(PAGE, rules_form(banned_words="ارزان\n\u200c\u0640"))
    assert response.status_code == 400
    html = response.content.decode()
    error = '<ul class="errorlist" id="id_banned_words_error"><li>banned_words contains an empty entry.</li></ul>'
    assert error in html
    assert 'aria-describedby="id_banned_words_helptext id_banned_words_error"' in html
    assert "ارزان\n\u200c\u0640</textarea>" in html  # what was typed is kept
    response = owner_client.post(PAGE, rules_form(max_hashtags="-2"))
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 0." in response.content.decode()
    assert not BrandRuleSet.objects.exists()


def test_composer_check_shows_the_workspace_rules(owner_client: Client, x: Channel) -> None:
    text = "قهوهٔ ارزان‌ترین شهر #قهوه #چای"
    assert "Brand rule:" not in check_block(owner_client, x, text, sponsored="on")

    owner_client.post(PAGE, rules_form(max_hashtags="1"))
    on_x = check_block(owner_client, x, text, sponsored="on")
    errors = on_x.split('<ul class="errorlist check-errors">')[1].split("</ul>")[0]
    assert "Brand rule: “ارزان” is a banned word (found “ارزان” on line 1, column 7)." in errors
    assert "add the disclosure “#تبلیغ” or “#ad”" in errors
    warnings = on_x.split('<ul class="warnings">')[1].split("</ul>")[0]
    assert "the brand limit is 1" in warnings
    # Not sponsored: no disclosure needed.
    assert "add the disclosure" not in check_block(owner_client, x, text)

    # Made a warning, the banned word no longer blocks.
    owner_client.post(PAGE, rules_form(banned_word_severity="warning"))
    on_x = check_block(owner_client, x, "قهوهٔ ارزان")
    assert "check-errors" not in on_x
    assert "Brand rule: “ارزان” is a banned word" in on_x.split('<ul class="warnings">')[1]


def test_blocking_rule_from_the_page_stops_publishing_from_the_composer(owner_client: Client, x: Channel) -> None:
    owner_client.post(PAGE, rules_form())
    data = {"channels": [x.pk], "main_text": "قهوهٔ ارزان", f"c{x.pk}-text": "قهوهٔ ارزان", "action": "publish"}
    response = owner_client.post("/w/acme/posts/new/", data)
    assert response.status_code == 400
    assert "Brand rules stop this post" in response.content.decode()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
def test_roles_without_workspace_settings_get_403(workspace: Workspace, make_member, role: Role) -> None:  # type: ignore[no-untyped-def]
    user = make_member(role)
    client = Client()
    sign_in(client, user.email)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, rules_form()).status_code == 403
    assert 'href="/w/acme/settings/brand-rules/"' not in client.get("/w/acme/").content.decode()
    assert not BrandRuleSet.objects.exists()


def test_another_workspace_is_404(owner: User, workspace: Workspace) -> None:
    stranger = User.objects.create_user("stranger@example.com", "correct horse battery staple")
    workspace_create(owner=stranger, name="Theirs", slug="theirs")
    client = Client()
    sign_in(client, stranger.email)
    assert client.get(PAGE).status_code == 404
    assert client.post(PAGE, rules_form()).status_code == 404
    assert client.get("/w/theirs/settings/brand-rules/").status_code == 200
    assert not BrandRuleSet.objects.filter(workspace=workspace).exists()

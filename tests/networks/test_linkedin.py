"""LinkedIn organisation pages against recorded exchanges shaped like the REST API reference."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.base import OAuthClient
from sokhan.networks.connectors.linkedin import LinkedInConnector, escape_little_text
from sokhan.networks.errors import AuthExpired, RateLimited, Rejected, Transient
from sokhan.networks.types import (
    Account,
    Capability,
    Credentials,
    MediaFile,
    MessageKind,
    PublishRequest,
    RemoteMessage,
)

ORG = "urn:li:organization:2414183"
POST = "urn:li:share:6844785523593134080"
CLIENT = OAuthClient("li-client", "li-secret", "https://sokhan.example/oauth/linkedin/callback")
Cassette = Callable[[str], Replay]


def connect(replay: Replay, target: str = ORG) -> LinkedInConnector:
    return LinkedInConnector(Account(base_url=replay.url, target=target), Credentials(access_token="li-token"))


def test_registered_with_declared_capabilities() -> None:
    cls = registry.get("linkedin")
    assert cls is LinkedInConnector
    assert cls.has(Capability.PUBLISH_IMAGE) and cls.has(Capability.REPLY)
    assert not cls.has(Capability.PUBLISH_VIDEO)
    assert cls.limits.max_text == 3000
    assert cls.default_base_url == "https://api.linkedin.com"


def test_little_text_escaping() -> None:
    assert escape_little_text("a(b)[c]{d}<e>@f*g~h|i\\j_k") == "a\\(b\\)\\[c\\]\\{d\\}\\<e\\>\\@f\\*g\\~h\\|i\\\\j\\_k"
    assert escape_little_text("see https://x.io/a_(b) now") == "see https://x.io/a_(b) now"
    assert escape_little_text("#سخن\u200cها and #go") == "{hashtag|\\#|سخن\u200cها} and {hashtag|\\#|go}"
    assert escape_little_text("#tag", hashtags=False) == "\\#tag"
    assert escape_little_text("C#") == "C\\#"


def test_verify_reads_organisation_and_followers(cassette: Cassette) -> None:
    profile = connect(cassette("linkedin/verify")).verify()
    assert profile.remote_id == ORG
    assert profile.handle == "devtestco"
    assert profile.display_name == "DevTestCo"
    assert profile.followers == 1523
    assert profile.links == ("https://www.devtestco.com",)


def test_bare_organisation_id_is_turned_into_a_urn(cassette: Cassette) -> None:
    assert connect(cassette("linkedin/verify"), target="2414183").verify().remote_id == ORG


def test_publish_text_escapes_commentary_and_reads_restli_id(cassette: Cassette) -> None:
    result = connect(cassette("linkedin/publish_text")).publish(
        PublishRequest(text="سلام (دنیا) @ قیمت_ها #سخن https://example.com/a_b", idempotency_key="k1")
    )
    assert result.remote_id == POST
    assert result.url == f"https://www.linkedin.com/feed/update/{POST}/"


def test_publish_image_uploads_then_posts(cassette: Cassette, tmp_path: Path) -> None:
    image = tmp_path / "logo.png"
    image.write_bytes(b"\x89PNGDATA")
    result = connect(cassette("linkedin/publish_image")).publish(
        PublishRequest(
            text="Launch day",
            idempotency_key="k2",
            media=(MediaFile(path=image, mime_type="image/png", alt_text="Our new logo"),),
        )
    )
    assert result.remote_id == "urn:li:share:6844785523593134081"


def test_publish_refuses_video_before_any_call(tmp_path: Path) -> None:
    connector = LinkedInConnector(Account(target=ORG), Credentials(access_token="t"))
    video = MediaFile(path=tmp_path / "a.mp4", mime_type="video/mp4")
    with pytest.raises(Rejected, match="cannot publish video"):
        connector.publish(PublishRequest(text="x", idempotency_key="k", media=(video,)))


def test_delete_encodes_the_urn(cassette: Cassette) -> None:
    connect(cassette("linkedin/delete")).delete(POST)


def test_fetch_comments_since_watermark_oldest_first_without_own(cassette: Cassette) -> None:
    page = connect(cassette("linkedin/comments")).fetch_comments("1700000000000", post_ids=[POST])
    assert [m.text for m in page.items] == ["عالی بود"]
    comment = page.items[0]
    assert comment.kind is MessageKind.COMMENT
    assert comment.remote_id == f"urn:li:comment:({POST},6636062862760562689)"
    assert comment.author_id == "urn:li:person:bYsSbQi0Ni"
    assert comment.root_id == POST
    assert comment.created_at == datetime(2023, 11, 14, 22, 16, 40, tzinfo=UTC)
    assert page.cursor == "1700000300000"


def test_reply_to_a_comment_is_nested(cassette: Cassette) -> None:
    to = RemoteMessage(
        remote_id=f"urn:li:comment:({POST},6636062862760562689)",
        kind=MessageKind.COMMENT,
        text="عالی بود",
        author_id="urn:li:person:bYsSbQi0Ni",
        author_handle="",
        created_at=datetime.now(UTC),
        root_id=POST,
    )
    result = connect(cassette("linkedin/reply")).reply(to, "ممنون (واقعاً)")
    assert result.remote_id == f"urn:li:comment:({POST},6636062862760562691)"


def test_post_metrics(cassette: Cassette) -> None:
    replay = cassette("linkedin/post_metrics")
    [metrics] = connect(replay).post_metrics([POST])
    assert (metrics.likes, metrics.comments, metrics.shares, metrics.clicks) == (19, 4, 2, 78)
    assert (metrics.impressions, metrics.reach, metrics.views) == (2000, 1500, None)
    raw_query = replay.requests[0]["query"]
    assert raw_query["shares"] == [f"List({POST})"]


def test_post_metrics_list_is_url_encoded_on_the_wire(cassette: Cassette) -> None:
    import httpx

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"elements": []})

    connector = LinkedInConnector(Account(target=ORG), Credentials(access_token="t"))
    original = httpx.Client.__init__

    def patched(self: httpx.Client, *args: object, **kwargs: object) -> None:
        kwargs["transport"] = httpx.MockTransport(handler)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(httpx.Client, "__init__", patched)
        [metrics] = connector.post_metrics([POST])
    assert metrics.likes is None
    query = urlsplit(seen[0]).query
    assert "shares=List(urn%3Ali%3Ashare%3A6844785523593134080)" in query
    assert parse_qs(query)["organizationalEntity"] == [ORG]


def test_account_metrics(cassette: Cassette) -> None:
    metrics = connect(cassette("linkedin/account_metrics")).account_metrics()
    assert metrics.followers == 1523
    assert metrics.impressions == 90210
    assert metrics.reach == 40100


def test_errors_are_typed(cassette: Cassette) -> None:
    connector = connect(cassette("linkedin/errors"))
    with pytest.raises(AuthExpired, match="Invalid access token"):
        connector.verify()
    with pytest.raises(RateLimited) as limited:
        connector.publish(PublishRequest(text="hi", idempotency_key="k"))
    assert limited.value.retry_after is not None and 0 < limited.value.retry_after <= 86400
    with pytest.raises(Rejected) as rejected:
        connector.publish(PublishRequest(text="hi", idempotency_key="k"))
    assert rejected.value.field == "/commentary"
    with pytest.raises(Transient):
        connector.delete(POST)
    with pytest.raises(Rejected, match="Not enough permissions"):
        connector.account_metrics()


def test_oauth_authorization_url() -> None:
    url = LinkedInConnector.authorization_url(CLIENT, state="s1", code_challenge="ignored")
    split = urlsplit(url)
    assert f"{split.scheme}://{split.netloc}{split.path}" == "https://www.linkedin.com/oauth/v2/authorization"
    query = parse_qs(split.query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["li-client"]
    assert query["state"] == ["s1"]
    assert query["scope"] == ["r_organization_social w_organization_social rw_organization_admin"]
    assert "code_challenge" not in query


def test_oauth_exchange_and_refresh_keep_refresh_token(cassette: Cassette) -> None:
    replay = cassette("linkedin/oauth")
    creds = LinkedInConnector.exchange_code(
        CLIENT, code="AQTQmah11lalyH65DAIivsjsAQV5P", code_verifier="", base_url=replay.url
    )
    assert creds.access_token == "AQUvlL_DYEzvT2wz1QJiEPeLioeA"
    assert creds.refresh_token == "AQWAft_WjYZKwuWXLC5hQlghgTam"
    assert "w_organization_social" in creds.scopes
    assert creds.expires_at is not None and creds.expires_at > datetime.now(UTC)
    refreshed = LinkedInConnector.refresh(CLIENT, creds, base_url=replay.url)
    assert refreshed.access_token == "BQVnew_access"
    assert refreshed.refresh_token == "AQWAft_WjYZKwuWXLC5hQlghgTam"
    with pytest.raises(AuthExpired):
        LinkedInConnector.refresh(CLIENT, creds, base_url=replay.url)


def test_refresh_without_refresh_token_asks_to_reconnect() -> None:
    with pytest.raises(AuthExpired, match="reconnect"):
        LinkedInConnector.refresh(CLIENT, Credentials(access_token="a"))

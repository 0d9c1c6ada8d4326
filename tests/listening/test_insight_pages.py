"""The insight page through Django's test client: every number that is a link lists exactly that
many mentions, English and Persian rendering (RTL, Jalali, Persian digits), who may see it, and the
insight API."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client
from tests.api.conftest import ApiClient, make_token
from tests.listening.mention_rows import mention, topic
from tests.web.helpers import sign_in

from sokhan.core.models import User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.listening.models import Topic, TopicKind

pytestmark = pytest.mark.django_db

TEHRAN = ZoneInfo("Asia/Tehran")
RANGE = "from=2026-03-21&to=2026-03-22"
LINKED_NUMBER = re.compile(r'<a(?: [a-z]+="[^"]*")*? href="(/w/acme/listening/mentions/[^"]*)"[^>]*>([0-9۰-۹]+)</a>')


def tehran(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=TEHRAN)


@pytest.fixture(autouse=True)
def _clean(settings: Any) -> Iterator[None]:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def topics(workspace: Workspace) -> list[Topic]:
    brand = topic(workspace, "Acme", "acme OR آکمه", TopicKind.BRAND)
    rival = topic(workspace, "Rival", "rival", TopicKind.COMPETITOR)
    mention(workspace, "acme قیمت خوب #یلدا", tehran(21, 9), [brand], sentiment="positive", handle="sara", followers=90)
    mention(
        workspace,
        "acme قیمت بد #یلدا",
        tehran(21, 10),
        [brand],
        sentiment="negative",
        corrected="positive",
        handle="nima",
        followers=4000,
    )
    mention(
        workspace,
        "acme rival قیمت",
        tehran(22, 12),
        [brand, rival],
        sentiment="negative",
        handle="sara",
        followers=120,
        language="en",
        network="mastodon",
    )
    mention(workspace, "rival #یلدا ok", tehran(22, 13), [rival], sentiment="neutral", handle="leila", language="")
    mention(workspace, "acme before", tehran(19, 12), [brand], sentiment="positive", handle="old")
    return [brand, rival]


def client_for(user: User, language: str = "en") -> Client:
    client = Client()
    sign_in(client, user.email, language=language)
    return client


def rows_at(client: Client, url: str) -> int:
    response = client.get(html.unescape(url))
    assert response.status_code == 200, url
    return response.content.decode().count('class="mention"')


def test_every_linked_number_of_the_hourly_view_too(owner: User, topics: list[Topic]) -> None:
    client = client_for(owner)
    text = client.get("/w/acme/listening/?from=2026-03-21&to=2026-03-21&by=hour").content.decode()
    links = set(LINKED_NUMBER.findall(text))
    assert any("hour=2026-03-21T05%3A00Z" in url for url, _n in links)  # 09:00 Tehran
    for url, number in links:
        assert rows_at(client, url) == int(number), (url, number)


def test_every_linked_number_lists_that_many_mentions(owner: User, topics: list[Topic]) -> None:
    client = client_for(owner)
    page = client.get(f"/w/acme/listening/?{RANGE}")
    assert page.status_code == 200
    text = page.content.decode()
    links = LINKED_NUMBER.findall(text)
    assert len(links) > 40  # summary, tables, authors, languages, terms
    for url, number in set(links):
        assert rows_at(client, url) == int(number), (url, number)
    # The headline figures.
    assert re.search(r'id="figure-total" href="[^"]+">4<', text)
    assert re.search(r'id="figure-net"[^>]*><bdi dir="ltr">\+33%</bdi>', text)  # (2 − 1) ÷ (2 + 1)
    assert re.search(r'id="figure-sov"[^>]*>60%<', text)  # brand 3 ÷ (3 + rival 2)
    assert "The model agreed with people on" in text


def test_a_figure_links_to_its_filters(owner: User, topics: list[Topic]) -> None:
    client = client_for(owner)
    text = client.get(f"/w/acme/listening/?{RANGE}").content.decode()
    _brand, rival = topics
    # The rival's negative count on the topics table: topic, both days and the sentiment.
    row = re.search(rf'<tr data-topic="{rival.pk}">.*?</tr>', text, re.S)
    assert row is not None
    hrefs = re.findall(r'href="([^"]+)"', html.unescape(row.group(0)))
    assert f"/w/acme/listening/mentions/?topic={rival.pk}&sentiment=negative&from=2026-03-21&to=2026-03-22" in hrefs
    # A trending hashtag and an author lead to the mentions with that query and that author.
    assert "q=%23%DB%8C%D9%84%D8%AF%D8%A7" in text  # #یلدا
    assert "network=telegram&amp;author=nima" in text


def test_persian_viewer_gets_rtl_jalali_and_persian_digits(owner: User, topics: list[Topic]) -> None:
    client = client_for(owner, language="fa")
    text = client.get(f"/w/acme/listening/?{RANGE}").content.decode()
    assert '<html lang="fa" dir="rtl">' in text
    assert re.search(r'id="figure-total" href="[^"]+">۴<', text)
    assert re.search(r'id="figure-sov"[^>]*>۶۰٪<', text)
    assert "۱ فروردین ۱۴۰۵" in text  # 2026-03-21 in the Jalali calendar
    # The default range is written in the viewer's calendar.
    default = client.get("/w/acme/listening/").content.decode()
    assert re.search(r'name="from" value="۱۴۰[0-9۰-۹]/', default)
    # Persian words in the cloud are plain text for the browser to shape, never reversed.
    assert 'dir="auto" title="۳">#یلدا</a>' in text


def test_english_page_without_topics_invites_to_create_one(owner: User, workspace: Workspace) -> None:
    text = client_for(owner).get("/w/acme/listening/").content.decode()
    assert 'id="no-topics"' in text and "/w/acme/listening/topics/new/" in text


def test_who_may_see_insight(owner: User, workspace: Workspace, make_member: Any, topics: list[Topic]) -> None:
    analyst = make_member(Role.ANALYST)
    assert client_for(analyst).get("/w/acme/listening/").status_code == 200
    for role in (Role.VIEWER, Role.CONTRIBUTOR, Role.APPROVER):
        member = make_member(role)
        client = client_for(member)
        for url in ("/w/acme/listening/", "/w/acme/listening/mentions/", "/w/acme/listening/topics/"):
            assert client.get(url).status_code == 403, (role, url)
    stranger = User.objects.create_user("stranger@example.com", "correct horse battery staple")
    workspace_create(owner=stranger, name="Other", slug="other")
    client = client_for(stranger)
    assert client.get("/w/acme/listening/").status_code == 404
    assert client.get("/w/other/listening/").status_code == 200
    assert client.get(f"/w/other/listening/topics/{topics[0].pk}/").status_code == 404


def test_bad_dates_are_explained(owner: User, topics: list[Topic]) -> None:
    client = client_for(owner)
    response = client.get("/w/acme/listening/?from=2026-03-22&to=2026-03-21")
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()
    response = client.get("/w/acme/listening/?from=2026-01-01&to=2026-03-21&by=hour")
    assert response.status_code == 400
    assert "Hours can be shown for at most 14 days." in response.content.decode()


def test_insight_api(owner: User, workspace: Workspace, topics: list[Topic]) -> None:
    api = ApiClient(make_token(owner, workspace, ["read"]))
    response = api.get(
        "/workspaces/acme/listening/insight", {"since": "2026-03-21", "until": "2026-03-22", "by": "day"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["buckets"] == ["2026-03-21", "2026-03-22"]
    assert body["time_zone"] == "Asia/Tehran"
    assert body["share_of_voice"] == pytest.approx(0.6)
    assert body["mentions"] == {"positive": 2, "neutral": 1, "negative": 1, "unlabelled": 0, "net_sentiment": 1 / 3}
    assert [t["series"] for t in body["topics"]] == [[2, 1], [0, 2]]
    assert body["top_authors"][0] == {"network": "telegram", "handle": "nima", "name": "", "reach": 4000, "mentions": 1}
    assert body["languages"] == {"fa": 2, "en": 1, "": 1}
    assert (body["corrections"], body["corrections_agreed"]) == (1, 0)
    assert body["trending_hashtags"][0]["term"] == "#یلدا"
    jalali = api.get("/workspaces/acme/listening/insight", {"from": "1405/01/01", "to": "1405/01/02", "by": "hour"})
    assert jalali.status_code == 200 and len(jalali.json()["buckets"]) == 48
    bad = api.get("/workspaces/acme/listening/insight", {"since": "yesterday"})
    assert bad.status_code == 400 and bad.json()["error"]["fields"] == {"since": "invalid"}

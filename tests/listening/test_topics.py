"""Topics: the pages (list, create with the query check, the tester, edit, turn off, delete), the
services' validation and audit, who may do what, other workspaces, and the topics API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from tests.api.conftest import ApiClient, assert_error, make_token
from tests.listening.mention_rows import topic
from tests.web.helpers import sign_in

from sokhan.core.errors import DomainError, NotAllowed
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.listening import services
from sokhan.listening.models import Topic

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean(settings: Any) -> Iterator[None]:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    cache.clear()
    yield
    cache.clear()


def client_for(user: User, language: str = "en") -> Client:
    client = Client()
    sign_in(client, user.email, language=language)
    return client


def owner_of(workspace: Workspace, user: User) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(workspace=workspace, user=user)


def test_create_with_a_syntax_error_shows_the_column_then_saves(owner: User, workspace: Workspace) -> None:
    client = client_for(owner)
    form = {"name": "Acme", "kind": "brand", "query": "(acme OR آکمه", "enabled": "on", "action": "save"}
    response = client.post("/w/acme/listening/topics/new/", form)
    assert response.status_code == 400
    text = response.content.decode()
    error = re.search(r'id="query-error">(.*?)</div>', text, re.S)
    assert error is not None
    assert (
        "Column 14: expected &quot;)&quot; to close the &quot;(&quot; at column 1; found end of query."
        in error.group(1)
    )
    assert "<mark" in error.group(1)  # the place is marked in the query
    assert not Topic.objects.exists()

    response = client.post("/w/acme/listening/topics/new/", {**form, "query": "(acme OR آکمه) -jobs"})
    saved = Topic.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/w/acme/listening/topics/{saved.pk}/"
    assert (saved.name, saved.kind, saved.query, saved.enabled, saved.created_by) == (
        "Acme",
        "brand",
        "(acme OR آکمه) -jobs",
        True,
        owner,
    )
    page = client.get(response["Location"]).content.decode()
    assert "Understood as:" in page and "(acme OR آکمه) AND NOT jobs" in page
    event = AuditEvent.objects.get(action="listening.topic.create")
    assert event.data["query"] == "(acme OR آکمه) -jobs" and event.target == f"topic:{saved.pk}"


def test_the_tester_runs_the_typed_query_without_saving(owner: User, workspace: Workspace) -> None:
    client = client_for(owner)
    texts = "خرید از آکمه\r\nacme jobs open\r\n\r\nنمی‌دانم\r\nACME!"
    response = client.post(
        "/w/acme/listening/topics/new/",
        {"name": "Acme", "kind": "brand", "query": "(acme OR آکمه) -jobs", "texts": texts, "action": "test"},
    )
    assert response.status_code == 200
    text = response.content.decode()
    results = re.findall(r'<li class="(matched|missed)">.*?<span dir="auto">(.*?)</span>', text, re.S)
    assert results == [
        ("matched", "خرید از آکمه"),
        ("missed", "acme jobs open"),
        ("missed", "نمی‌دانم"),
        ("matched", "ACME!"),
    ]
    assert "2 of 4 texts match." in text
    assert not Topic.objects.exists()
    # lang: fields see the language given for the texts.
    response = client.post(
        "/w/acme/listening/topics/new/",
        {"name": "A", "kind": "brand", "query": "acme lang:fa", "texts": "acme", "test_lang": "fa", "action": "test"},
    )
    assert "1 of 1 texts match." in response.content.decode()


def test_the_tester_agrees_with_the_cli_matcher() -> None:
    parsed = services.check_query("«کتاب خانه» OR #یلدا")
    lines = services.match_lines(parsed, ["كتاب   خانه", "#یلدا_مبارک", "#یلدا!", "کتابخانه"])
    assert [line.matched for line in lines] == [True, False, True, False]


def test_list_edit_turn_off_and_delete(owner: User, workspace: Workspace) -> None:
    acme = topic(workspace, "Acme", "acme")
    client = client_for(owner)
    listing = client.get("/w/acme/listening/topics/").content.decode()
    assert f'data-topic="{acme.pk}"' in listing and '<code class="query" dir="auto">acme</code>' in listing

    response = client.post(
        f"/w/acme/listening/topics/{acme.pk}/",
        {"name": "Acme Co", "kind": "competitor", "query": "acme OR «آکمه»", "enabled": "on", "action": "save"},
    )
    assert response.status_code == 302
    acme.refresh_from_db()
    assert (acme.name, acme.kind, acme.query) == ("Acme Co", "competitor", "acme OR «آکمه»")
    event = AuditEvent.objects.get(action="listening.topic.update")
    assert event.data["kind"] == ["brand", "competitor"] and event.data["name"] == ["Acme", "Acme Co"]

    before = acme.updated_at
    assert client.post(f"/w/acme/listening/topics/{acme.pk}/toggle/").status_code == 302
    acme.refresh_from_db()
    assert acme.enabled is False and acme.updated_at > before
    assert AuditEvent.objects.filter(action="listening.topic.disable").count() == 1
    assert 'class="off"' in client.get("/w/acme/listening/topics/").content.decode()

    assert client.post(f"/w/acme/listening/topics/{acme.pk}/delete/").status_code == 302
    assert not Topic.objects.exists()
    assert AuditEvent.objects.get(action="listening.topic.delete").data["name"] == "Acme Co"


def test_service_validation(owner: User, workspace: Workspace) -> None:
    actor = owner_of(workspace, owner)
    services.topic_create(actor=actor, name="Acme", kind="brand", query="acme")
    with pytest.raises(DomainError) as taken:
        services.topic_create(actor=actor, name=" acme ", kind="brand", query="acme")
    assert taken.value.fields == {"name": "taken"}
    with pytest.raises(DomainError) as kind:
        services.topic_create(actor=actor, name="B", kind="person", query="b")
    assert kind.value.fields == {"kind": "unknown"}
    with pytest.raises(services.TopicQueryError) as bad:
        services.topic_create(actor=actor, name="C", kind="brand", query="NOT apple")
    assert bad.value.syntax.column == 1 and bad.value.fields == {"query": "syntax"}
    assert bad.value.message.startswith("Column 1: expected a word")


def test_who_may_change_topics(workspace: Workspace, make_member: Any) -> None:
    acme = topic(workspace, "Acme", "acme")
    editor = make_member(Role.EDITOR)  # listening.view only
    client = client_for(editor)
    assert client.get("/w/acme/listening/topics/").status_code == 200
    page = client.get(f"/w/acme/listening/topics/{acme.pk}/")
    assert page.status_code == 200 and 'id="save-topic"' not in page.content.decode()
    tested = client.post(
        f"/w/acme/listening/topics/{acme.pk}/", {"name": "x", "kind": "brand", "query": "acme", "action": "test"}
    )
    assert tested.status_code == 200  # the tester needs only listening.view
    saved = client.post(
        f"/w/acme/listening/topics/{acme.pk}/", {"name": "x", "kind": "brand", "query": "acme", "action": "save"}
    )
    assert saved.status_code == 403
    assert client.get("/w/acme/listening/topics/new/").status_code == 403
    assert client.post(f"/w/acme/listening/topics/{acme.pk}/delete/").status_code == 403
    assert client.post(f"/w/acme/listening/topics/{acme.pk}/toggle/").status_code == 403
    with pytest.raises(NotAllowed):
        services.topic_delete(actor=owner_of(workspace, editor), topic_id=acme.pk)
    acme.refresh_from_db()
    assert acme.name == "Acme" and acme.enabled


def test_another_workspaces_topic_is_not_found(owner: User, workspace: Workspace) -> None:
    stranger = User.objects.create_user("s@example.com", "correct horse battery staple")
    other = workspace_create(owner=stranger, name="Other", slug="other")
    theirs = topic(other, "Theirs", "theirs")
    client = client_for(owner)
    assert client.get(f"/w/acme/listening/topics/{theirs.pk}/").status_code == 404
    assert client.post(f"/w/acme/listening/topics/{theirs.pk}/delete/").status_code == 404
    assert client.get(f"/w/other/listening/topics/{theirs.pk}/").status_code == 404
    Topic.objects.get(pk=theirs.pk)


def test_persian_topic_page(owner: User, workspace: Workspace) -> None:
    acme = topic(workspace, "آکمه", "آکمه OR acme")
    text = client_for(owner, language="fa").get(f"/w/acme/listening/topics/{acme.pk}/").content.decode()
    assert '<html lang="fa" dir="rtl">' in text
    assert '<code dir="auto">آکمه OR acme</code>' in text
    bad = client_for(owner, language="fa").post(
        f"/w/acme/listening/topics/{acme.pk}/", {"name": "آکمه", "kind": "brand", "query": "آکمه AND", "action": "save"}
    )
    assert bad.status_code == 400
    assert re.search(r'id="query-error">\s*<p>[^<]*۹', bad.content.decode())  # the column in Persian digits


# ------------------------------------------------------------------ API


def test_topics_api(owner: User, workspace: Workspace) -> None:
    api = ApiClient(make_token(owner, workspace, ["write"]))
    created = api.post("/workspaces/acme/listening/topics", {"name": "Acme", "kind": "brand", "query": "acme -jobs"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["canonical"] == "acme AND NOT jobs" and body["enabled"] is True
    topic_id = body["id"]
    bad = api.post("/workspaces/acme/listening/topics", {"name": "B", "query": "b AND"})
    error = assert_error(bad, 400, "query_syntax")
    assert error["fields"] == {"query": "syntax"} and error["message"].startswith("Column 6:")
    listed = api.get("/workspaces/acme/listening/topics").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == topic_id
    changed = api.patch(f"/workspaces/acme/listening/topics/{topic_id}", {"enabled": False})
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert api.get(f"/workspaces/acme/listening/topics/{topic_id}").json()["name"] == "Acme"
    assert api.delete(f"/workspaces/acme/listening/topics/{topic_id}").status_code == 204
    assert_error(api.get(f"/workspaces/acme/listening/topics/{topic_id}"), 404, "not_found")


def test_query_check_api(owner: User, workspace: Workspace) -> None:
    api = ApiClient(make_token(owner, workspace, ["read"]))  # it changes nothing: read scope is enough
    ok = api.post("/workspaces/acme/listening/query-check", {"query": "acme -jobs", "texts": ["acme", "acme jobs"]})
    assert ok.json() == {
        "ok": True,
        "canonical": "acme AND NOT jobs",
        "error": None,
        "results": [{"text": "acme", "matched": True}, {"text": "acme jobs", "matched": False}],
    }
    bad = api.post("/workspaces/acme/listening/query-check", {"query": "acme AND"}).json()
    assert bad["ok"] is False
    assert bad["error"] | {"message": ""} == {
        "position": 8,
        "column": 9,
        "expected": 'a term or "(" after AND',
        "found": "end of query",
        "message": "",
    }


def test_topics_api_permissions_and_scoping(owner: User, workspace: Workspace, make_member: Any) -> None:
    analyst = make_member(Role.ANALYST)
    api = ApiClient(make_token(analyst, workspace, ["write"]))
    assert api.get("/workspaces/acme/listening/topics").status_code == 200
    assert_error(api.post("/workspaces/acme/listening/topics", {"name": "A", "query": "a"}), 403, "forbidden")
    stranger = User.objects.create_user("s@example.com", "correct horse battery staple")
    other = workspace_create(owner=stranger, name="Other", slug="other")
    theirs = topic(other, "Theirs", "theirs")
    mine = ApiClient(make_token(owner, workspace, ["write"]))
    assert_error(mine.get(f"/workspaces/acme/listening/topics/{theirs.pk}"), 404)
    assert_error(mine.delete(f"/workspaces/acme/listening/topics/{theirs.pk}"), 404)
    assert_error(mine.get("/workspaces/other/listening/topics"), 404)


def test_topics_are_in_the_openapi_document() -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert set(paths["/api/v1/workspaces/{ws}/listening/topics"]) == {"get", "post"}
    assert set(paths["/api/v1/workspaces/{ws}/listening/topics/{topic_id}"]) == {"get", "patch", "delete"}
    assert set(paths["/api/v1/workspaces/{ws}/listening/query-check"]) == {"post"}
    assert set(paths["/api/v1/workspaces/{ws}/listening/mentions"]) == {"get"}
    assert set(paths["/api/v1/workspaces/{ws}/listening/insight"]) == {"get"}

"""Language, direction and calendar follow the viewer's choices."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import jdatetime
from django.test import Client
from django.utils import timezone

from sokhan.core.models import User, Workspace

PERSIAN_MONTHS = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
)  # fmt: skip


def _persian(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def _html_tag(html: str) -> str:
    match = re.search(r"<html[^>]*>", html)
    assert match
    return match.group(0)


def test_switching_to_persian_gives_rtl_and_jalali_date(owner_client: Client, workspace: Workspace) -> None:
    workspace.language, workspace.calendar = "en", "gregorian"
    workspace.save()
    owner_client.post("/account/", {"full_name": "Owner", "language": "", "timezone": "", "calendar": ""})
    before = owner_client.get(f"/w/{workspace.slug}/").content.decode()
    assert _html_tag(before) == '<html lang="en" dir="ltr">'
    assert not any(month in before for month in PERSIAN_MONTHS)

    response = owner_client.post(
        "/account/", {"full_name": "Owner", "language": "fa", "timezone": "Asia/Tehran", "calendar": ""}
    )
    assert response.status_code == 302
    html = owner_client.get(f"/w/{workspace.slug}/").content.decode()
    assert _html_tag(html) == '<html lang="fa" dir="rtl">'
    today = jdatetime.date.fromgregorian(date=timezone.now().astimezone(ZoneInfo("Asia/Tehran")).date())
    today_block = re.search(r'<p class="today">(.*?)</p>', html, re.S)
    assert today_block
    text = today_block.group(1)
    assert any(month in text for month in PERSIAN_MONTHS), text
    assert _persian(today.year) in text
    assert PERSIAN_MONTHS[today.month - 1] in text
    assert not re.search(r"[0-9]", re.sub(r"<[^>]+>", "", text)), text  # Persian digits only
    assert "اعضا" in html  # the navigation is translated


def test_calendar_choice_overrides_language_default(owner_client: Client, owner: User, workspace: Workspace) -> None:
    owner_client.post("/account/", {"full_name": "Owner", "language": "fa", "timezone": "", "calendar": "gregorian"})
    html = owner_client.get(f"/w/{workspace.slug}/").content.decode()
    text = re.search(r'<p class="today">(.*?)</p>', html, re.S)
    assert text and not any(month in text.group(1) for month in PERSIAN_MONTHS)
    owner.refresh_from_db()
    assert (owner.language, owner.calendar, owner.timezone) == ("fa", "gregorian", "")


def test_workspace_default_follows_workspace_language(owner_client: Client, owner: User, workspace: Workspace) -> None:
    owner.language = ""
    owner.save()
    workspace.language = "fa"
    workspace.save()
    html = owner_client.get(f"/w/{workspace.slug}/").content.decode()
    assert 'dir="rtl"' in _html_tag(html)


def test_anonymous_visitor_can_switch_the_login_page_to_persian(db: None) -> None:
    client = Client()
    assert 'dir="ltr"' in _html_tag(client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode())
    response = client.post("/language/", {"language": "fa", "next": "/login/"})
    assert response.status_code == 302
    html = client.get("/login/").content.decode()
    assert _html_tag(html) == '<html lang="fa" dir="rtl">'
    assert "ورود" in html

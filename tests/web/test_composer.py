"""The composer: channel variants, the live check (X's weighted count of Persian text, brand
rules, previews), saving without JavaScript, autosave of drafts, scheduling in the viewer's
calendar, media from the library, and who may do what."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image
from tests.web.helpers import sign_in

from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.calendars import to_jalali
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.core.text import to_persian_digits
from sokhan.media.services import asset_upload
from sokhan.networks.types import Credentials
from sokhan.publishing import queue, services
from sokhan.publishing import states as S
from sokhan.publishing.models import BrandRuleSet, Post, PostTarget

pytestmark = pytest.mark.django_db

PERSIAN = "سلام دنیا https://example.com/a 🎉 #قهوه"


def make_channel(workspace: Workspace, network: str, name: str, handle: str = "", remote_id: str = "1") -> Channel:
    """A connected, checked channel (its server is never called by these pages)."""
    channel = Channel(
        workspace=workspace,
        network=network,
        display_name=name,
        base_url="http://127.0.0.1:9",
        remote_id=remote_id,
        handle=handle,
        last_check_ok=True,
        last_check_at=timezone.now(),
    )
    channel.credentials = Credentials(access_token="test-token")
    channel.save()
    return channel


@pytest.fixture
def x(workspace: Workspace) -> Channel:
    return make_channel(workspace, "x", "Acme on X", "acme_x")


@pytest.fixture
def mastodon(workspace: Workspace) -> Channel:
    return make_channel(workspace, "mastodon", "Acme Toots", "acme", remote_id="2")


def form(channels: list[Channel], text: str = PERSIAN, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"channels": [c.pk for c in channels], "main_text": text}
    for channel in channels:
        data[f"c{channel.pk}-text"] = text
    data.update(extra)
    return data


def check(client: Client, data: dict[str, Any]) -> str:
    response = client.post("/w/acme/posts/check/", data, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.content.decode()[:2000]
    return response.content.decode()


def block(html: str, channel: Channel) -> str:
    """The check block of one channel in a page or a check response."""
    match = re.search(rf'<div class="channel-check" id="check-c{channel.pk}".*?</section>', html, re.S)
    assert match, f"no check block for channel {channel.pk}"
    return match.group(0)


def test_composer_offers_connected_channels_with_the_fields_each_network_uses(
    owner_client: Client, workspace: Workspace, x: Channel, mastodon: Channel
) -> None:
    gone = make_channel(workspace, "telegram", "Old channel", remote_id="3")
    gone.status = ChannelStatus.DISCONNECTED
    gone.save()
    html = owner_client.get("/w/acme/posts/new/").content.decode()
    assert "X: Acme on X (acme_x)" in html and "Mastodon: Acme Toots (acme)" in html
    assert "Old channel" not in html
    # X has threads and first comments; Mastodon threads only; neither has a title.
    assert f'name="c{x.pk}-first_comment"' in html and f'name="c{x.pk}-thread"' in html
    assert f'name="c{mastodon.pk}-thread"' in html and f'name="c{mastodon.pk}-first_comment"' not in html
    assert f'name="c{x.pk}-title"' not in html
    assert 'hx-post="/w/acme/posts/check/"' in html and "composer.js" in html


def test_check_counts_persian_text_the_way_x_does_and_previews_it_rtl(
    owner_client: Client, x: Channel, mastodon: Channel
) -> None:
    html = check(owner_client, form([x, mastodon]))
    on_x = block(html, x)
    # 9 Persian letters and spaces + 1 space, a link weighs 23, space, the emoji 2, space, #قهوه 5.
    assert "<strong>42 / 280</strong>" in on_x
    assert 'hx-swap-oob="true"' in on_x
    assert '<div class="preview-text" dir="auto">' in on_x
    assert '<mark class="entity hashtag">#قهوه</mark>' in on_x
    assert '<mark class="entity url">https://example.com/a</mark>' in on_x
    assert "#قهوه" in on_x.split('<dl class="entities">')[1]
    # Mastodon counts characters as written (a link is its own length).
    assert "<strong>39 / 500</strong>" in block(html, mastodon)


def test_check_marks_text_over_the_limit_with_the_network_reason(owner_client: Client, x: Channel) -> None:
    long_text = "ب" * 300
    on_x = block(check(owner_client, form([x], long_text)), x)
    assert "<strong>300 / 280</strong>" in on_x and 'class="count over"' in on_x
    assert "remove 20" in on_x
    assert '<span class="over"' in on_x and "ب" * 20 + "</span>" in on_x


def test_check_reports_brand_rules(owner_client: Client, x: Channel) -> None:
    BrandRuleSet.objects.create(
        workspace=x.workspace, rules={"banned_words": ["ارزان"], "required_disclosure": ["#تبلیغ"]}
    )
    on_x = block(check(owner_client, form([x], "قهوهٔ ارزان‌ترین شهر", sponsored="on")), x)
    assert "Brand rule:" in on_x
    assert "“ارزان” is a banned word" in on_x
    assert "This is a sponsored post: add the disclosure “#تبلیغ”." in on_x
    # The disclosure in the first comment satisfies the rule; the banned word still blocks.
    data = form([x], "قهوهٔ ارزان‌ترین شهر", sponsored="on", **{f"c{x.pk}-first_comment": "#تبلیغ"})
    on_x = block(check(owner_client, data), x)
    assert "add the disclosure" not in on_x and "is a banned word" in on_x


def test_blocking_brand_rules_stop_scheduling_but_not_a_draft(owner_client: Client, x: Channel) -> None:
    BrandRuleSet.objects.create(workspace=x.workspace, rules={"banned_words": ["ارزان"]})
    data = form([x], "قهوهٔ ارزان", action="publish")
    response = owner_client.post("/w/acme/posts/new/", data)
    assert response.status_code == 400
    assert "Brand rules stop this post" in response.content.decode()
    assert not Post.objects.exists()
    response = owner_client.post("/w/acme/posts/new/", {**data, "action": "save"})
    assert response.status_code == 302
    assert PostTarget.objects.get().state == S.DRAFT


def test_save_without_javascript_keeps_the_text_and_shows_the_error_at_the_channel(
    owner_client: Client, x: Channel, mastodon: Channel
) -> None:
    data = form([x, mastodon], "سلام")
    data[f"c{x.pk}-text"] = "خ" * 281
    response = owner_client.post("/w/acme/posts/new/", {**data, "action": "save"})
    assert response.status_code == 400
    html = response.content.decode()
    fieldset = re.search(rf'<fieldset class="variant" id="variant-c{x.pk}".*?</fieldset>', html, re.S)
    assert fieldset and "remove 1" in fieldset.group(0) and 'role="alert"' in fieldset.group(0)
    assert "خ" * 281 in html  # nothing typed is lost
    assert not Post.objects.exists()


def test_save_draft_with_per_channel_variants(owner_client: Client, x: Channel, mastodon: Channel) -> None:
    data = form([x, mastodon], "متن اصلی", title="Launch", labels="news، launch", notes="یادداشت")
    data[f"c{x.pk}-text"] = "نسخهٔ ایکس"
    data[f"c{x.pk}-thread"] = "دوم\n---\nسوم"
    data[f"c{mastodon.pk}-text"] = ""  # empty: the main text
    response = owner_client.post("/w/acme/posts/new/", {**data, "action": "save"})
    assert response.status_code == 302
    post = Post.objects.get()
    assert response["Location"] == f"/w/acme/posts/{post.pk}/"
    assert (post.title, post.labels, post.notes) == ("Launch", ["news", "launch"], "یادداشت")
    on_x = PostTarget.objects.get(channel=x)
    assert (on_x.text, on_x.thread, on_x.state) == ("نسخهٔ ایکس", ["دوم", "سوم"], S.DRAFT)
    assert PostTarget.objects.get(channel=mastodon).text == "متن اصلی"


def test_edit_prefills_the_saved_post_and_updates_it(owner_client: Client, x: Channel, mastodon: Channel) -> None:
    owner_client.post("/w/acme/posts/new/", {**form([x, mastodon], "یک"), "action": "save"})
    post = Post.objects.get()
    html = owner_client.get(f"/w/acme/posts/{post.pk}/edit/").content.decode()
    assert f'name="post_id" value="{post.pk}"' in html and "یک</textarea>" in html
    assert f'action="/w/acme/posts/{post.pk}/edit/"' in html
    response = owner_client.post(f"/w/acme/posts/{post.pk}/edit/", {**form([x], "دو"), "post_id": post.pk})
    assert response.status_code == 302
    assert list(PostTarget.objects.filter(post=post).values_list("channel_id", "text")) == [(x.pk, "دو")]


def test_autosave_creates_the_draft_once_then_updates_it(owner_client: Client, x: Channel) -> None:
    # Choosing a channel before typing anything saves nothing yet.
    assert owner_client.post("/w/acme/posts/autosave/", form([x], "")).json() == {
        "saved": False,
        "empty": True,
        "message": "",
    }
    assert not Post.objects.exists()
    first = owner_client.post("/w/acme/posts/autosave/", form([x], "پیش‌نویس")).json()
    assert first["saved"] is True and first["message"].startswith("Saved at ")
    post = Post.objects.get()
    assert first["post_id"] == post.pk and first["edit_url"] == f"/w/acme/posts/{post.pk}/edit/"
    second = owner_client.post("/w/acme/posts/autosave/", {**form([x], "پیش‌نویس دوم"), "post_id": post.pk}).json()
    assert second["saved"] is True and second["post_id"] == post.pk
    assert Post.objects.count() == 1
    assert PostTarget.objects.get().text == "پیش‌نویس دوم"
    # Nothing changed: nothing is written.
    owner_client.post("/w/acme/posts/autosave/", {**form([x], "پیش‌نویس دوم"), "post_id": post.pk})
    actions = list(AuditEvent.objects.filter(target=f"post:{post.pk}").values_list("action", flat=True))
    assert sorted(actions) == ["post.create", "post.update"]


def test_autosave_never_schedules_and_reports_what_it_cannot_save(
    owner_client: Client, owner: User, x: Channel
) -> None:
    User.objects.filter(pk=owner.pk).update(calendar="jalali")
    soon = to_jalali(date.today() + timedelta(days=2))
    data = form([x], "متن", action="publish", schedule_date=f"{soon.year}/{soon.month}/{soon.day}")
    data["schedule_time"] = "10:00"
    assert owner_client.post("/w/acme/posts/autosave/", data).json()["saved"] is True
    assert PostTarget.objects.get().state == S.DRAFT
    # A half-typed date does not stop the draft from being saved.
    data = {**form([x], "متن دوم"), "post_id": Post.objects.get().pk, "schedule_date": "1404/0"}
    assert owner_client.post("/w/acme/posts/autosave/", data).json()["saved"] is True
    assert PostTarget.objects.get().text == "متن دوم"
    refused = owner_client.post("/w/acme/posts/autosave/", form([x], "ت" * 300)).json()
    assert refused["saved"] is False and "Not saved" in refused["message"] and "remove 20" in refused["message"]
    assert Post.objects.count() == 1


def test_a_post_saved_by_autosave_is_the_one_the_buttons_act_on(owner_client: Client, x: Channel) -> None:
    post_id = owner_client.post("/w/acme/posts/autosave/", form([x], "اول")).json()["post_id"]
    # The page was opened as "new"; the form now carries the saved post's id.
    response = owner_client.post("/w/acme/posts/new/", {**form([x], "اول"), "post_id": post_id, "action": "submit"})
    assert response.status_code == 302
    assert Post.objects.count() == 1 and PostTarget.objects.get().state == S.IN_REVIEW


def test_schedule_reads_the_viewers_jalali_calendar_and_persian_digits(
    owner_client: Client, owner: User, x: Channel
) -> None:
    User.objects.filter(pk=owner.pk).update(calendar="jalali")
    day = date.today() + timedelta(days=5)
    jalali = to_jalali(day)
    data = form([x], "زمان‌بندی", action="schedule")
    data["schedule_date"] = to_persian_digits(f"{jalali.year}/{jalali.month:02d}/{jalali.day:02d}")
    data["schedule_time"] = "۰۹:۳۰"
    response = owner_client.post("/w/acme/posts/new/", data)
    assert response.status_code == 302, re.findall(r"errorlist.*?</ul>", response.content.decode(), re.S)
    target = PostTarget.objects.get()
    assert target.state == S.SCHEDULED
    assert target.scheduled_at == datetime.combine(day, time(9, 30), tzinfo=ZoneInfo("Asia/Tehran"))


def test_schedule_needs_a_time_and_a_valid_date(owner_client: Client, owner: User, x: Channel) -> None:
    User.objects.filter(pk=owner.pk).update(calendar="jalali")
    response = owner_client.post("/w/acme/posts/new/", form([x], "بدون زمان", action="schedule"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose the date and time to publish at." in html
    post = Post.objects.get()
    assert PostTarget.objects.get().state == S.DRAFT  # saved as a draft, not lost
    # The page now edits the saved post, so the next save or autosave does not make a second one.
    assert f'name="post_id" value="{post.pk}"' in html and f'action="/w/acme/posts/{post.pk}/edit/"' in html
    data = form([x], "تاریخ بد", action="schedule", schedule_date="1404/13/40", schedule_time="09:00")
    response = owner_client.post("/w/acme/posts/new/", data)
    assert response.status_code == 400 and "month 13 is out of range" in response.content.decode()


def test_publish_now_and_add_to_queue(owner_client: Client, owner: User, x: Channel, mastodon: Channel) -> None:
    response = owner_client.post("/w/acme/posts/new/", form([x], "الان", action="publish"))
    assert response.status_code == 302
    target = PostTarget.objects.get()
    assert target.state == S.SCHEDULED and target.scheduled_at is not None
    actor = Membership.objects.get(user=owner)
    queue.slots_replace(actor=actor, channel_id=mastodon.pk, slots=[queue.SlotInput(weekday=0, time="09:00")])
    response = owner_client.post("/w/acme/posts/new/", form([mastodon], "صف", action="queue"))
    assert response.status_code == 302
    queued = PostTarget.objects.get(channel=mastodon)
    assert queued.state == S.SCHEDULED
    assert queued.scheduled_at is not None and queued.scheduled_at.astimezone(ZoneInfo("Asia/Tehran")).weekday() == 0


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_media_from_the_library_is_stored_on_the_target(
    owner_client: Client, owner: User, workspace: Workspace, mastodon: Channel
) -> None:
    actor = Membership.objects.get(user=owner)
    asset = asset_upload(actor=actor, chunks=[_png(40, 30)], name="cup.png", alt_text="یک فنجان").asset
    html = owner_client.get("/w/acme/posts/new/").content.decode()
    assert f'name="c{mastodon.pk}-assets" value="{asset.pk}"' in html
    data = {**form([mastodon], "عکس"), f"c{mastodon.pk}-assets": [asset.pk]}
    on_mastodon = block(check(owner_client, data), mastodon)
    assert f'src="/w/acme/media/{asset.pk}/file/"' in on_mastodon
    owner_client.post("/w/acme/posts/new/", {**data, "action": "save"})
    (item,) = PostTarget.objects.get().media
    assert item["asset_id"] == asset.pk and item["mime_type"] == "image/png"
    assert (item["width"], item["height"], item["alt_text"]) == (40, 30, "یک فنجان")
    assert item["path"].endswith(".png")
    post = Post.objects.get()
    html = owner_client.get(f"/w/acme/posts/{post.pk}/edit/").content.decode()
    assert f'value="{asset.pk}" checked' in html


def test_who_may_compose(workspace: Workspace, make_member: Any, x: Channel) -> None:
    viewer = Client()
    sign_in(viewer, make_member(Role.VIEWER).email)
    assert viewer.get("/w/acme/posts/new/").status_code == 403
    assert viewer.post("/w/acme/posts/check/", form([x])).status_code == 403
    assert viewer.post("/w/acme/posts/autosave/", form([x])).status_code == 403
    contributor = Client()
    sign_in(contributor, make_member(Role.CONTRIBUTOR).email)
    html = contributor.get("/w/acme/posts/new/").content.decode()
    assert "Save draft" in html and 'value="schedule"' not in html
    assert contributor.post("/w/acme/posts/new/", form([x], "x", action="publish")).status_code == 403
    assert not Post.objects.exists()
    assert contributor.post("/w/acme/posts/new/", form([x], "x", action="save")).status_code == 302


def test_another_workspaces_post_is_not_found(owner_client: Client, owner: User, x: Channel) -> None:
    other_owner = User.objects.create_user("other@example.com", "correct horse battery staple")
    other = workspace_create(owner=other_owner, name="Other", slug="other")
    their_channel = make_channel(other, "x", "Theirs", remote_id="9")
    actor = Membership.objects.get(user=other_owner)
    theirs = services.post_create(actor=actor, targets=[services.TargetInput(channel_id=their_channel.pk, text="آنها")])
    assert owner_client.get(f"/w/acme/posts/{theirs.pk}/edit/").status_code == 404
    assert owner_client.post(f"/w/acme/posts/{theirs.pk}/edit/", form([x], "x")).status_code == 404
    response = owner_client.post("/w/acme/posts/autosave/", {**form([x], "x"), "post_id": theirs.pk})
    assert response.status_code == 404
    # Their channel id in our workspace's form is refused, not used.
    response = owner_client.post("/w/acme/posts/new/", {**form([x], "x"), "channels": [their_channel.pk]})
    assert response.status_code == 400 and not Post.objects.filter(workspace__slug="acme").exists()
    assert PostTarget.objects.get(post=theirs).text == "آنها"


def test_a_scheduled_post_is_not_edited_in_place(owner_client: Client, x: Channel) -> None:
    owner_client.post("/w/acme/posts/new/", form([x], "بعدا", action="publish"))
    post = Post.objects.get()
    response = owner_client.get(f"/w/acme/posts/{post.pk}/edit/")
    assert response.status_code == 302 and response["Location"] == f"/w/acme/posts/{post.pk}/"
    refused = owner_client.post("/w/acme/posts/autosave/", {**form([x], "تغییر"), "post_id": post.pk}).json()
    assert refused["saved"] is False
    assert PostTarget.objects.get().text == "بعدا"


def test_preview_folds_long_text_where_the_network_does_and_shows_a_title(
    owner_client: Client, workspace: Workspace
) -> None:
    linkedin = make_channel(workspace, "linkedin", "Acme Company", remote_id="7")
    youtube = make_channel(workspace, "youtube", "Acme Videos", remote_id="8")
    html = owner_client.get("/w/acme/posts/new/").content.decode()
    assert f'name="c{youtube.pk}-title"' in html and f'name="c{linkedin.pk}-title"' not in html
    text = "کلمه " * 60  # 299 characters once trimmed: LinkedIn shows about 210, then "… more"
    data = {**form([linkedin, youtube], text), f"c{youtube.pk}-title": "عنوان ویدیو"}
    response = check(owner_client, data)
    on_linkedin = block(response, linkedin)
    assert '<details class="preview-fold"><summary>… more</summary>' in on_linkedin
    assert "<strong>299 / 3000</strong>" in on_linkedin
    on_youtube = block(response, youtube)
    assert "preview-fold" not in on_youtube
    assert '<p class="preview-title" dir="auto">عنوان ویدیو</p>' in on_youtube


def test_a_persian_viewer_gets_the_composer_right_to_left_with_persian_digits(
    owner: User, workspace: Workspace, x: Channel
) -> None:
    client = Client()
    sign_in(client, owner.email, language="fa")
    html = client.get("/w/acme/posts/new/").content.decode()
    assert '<html lang="fa" dir="rtl">' in html
    on_x = block(check(client, form([x], "سلام دنیا")), x)
    assert "<strong>۹ / ۲۸۰</strong>" in on_x

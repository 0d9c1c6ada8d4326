"""CSV bulk import: every bad row reported with its number, all-or-nothing or valid rows only,
one transaction, no double import, media fetched into the library, the page and the API."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from tests.api.conftest import ApiClient, make_token
from tests.automation.conftest import LoopbackServer
from tests.web.helpers import sign_in

from sokhan.automation.imports import ImportOptions, RowsInvalid, import_confirm, import_validate
from sokhan.automation.models import ImportBatch
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.media.models import Asset
from sokhan.publishing.models import Post, PostTarget

pytestmark = pytest.mark.django_db

HEADER = "date,time,channels,text,link,media_urls,labels\n"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def owner_of(workspace: Workspace) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(workspace=workspace, role=Role.OWNER)


def check(workspace: Workspace, data: bytes | str, **options: Any) -> ImportBatch:
    raw = data.encode() if isinstance(data, str) else data
    return import_validate(
        actor=owner_of(workspace),
        data=raw,
        file_name="posts.csv",
        options=ImportOptions(file_format=options.pop("file_format", "sokhan"), **options),
    )


def errors_of(batch: ImportBatch) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for error in batch.errors:
        found.setdefault(error["row"], []).append((error["column"], error["message"]))
    return found


# ------------------------------------------------------------------ each kind of bad row


def test_wrong_header_is_reported_on_row_one(workspace: Workspace, mastodon: Channel) -> None:
    batch = check(workspace, "when,body\n2030-01-01 09:00,hello\n")
    errors = errors_of(batch)
    assert list(errors) == [1]
    messages = [message for _column, message in errors[1]]
    assert "Unknown column “when”." in messages
    assert any(message.startswith("Missing column(s): date, channels, text") for message in messages)
    assert batch.rows_valid == 0


def test_bad_dates_are_reported_per_row(workspace: Workspace, mastodon: Channel) -> None:
    batch = check(
        workspace,
        HEADER
        + "2030-02-31,09:00,Mastodon main,a,,,\n"  # no such day
        + "2030-03-01,25:00,Mastodon main,b,,,\n"  # no such hour
        + "2020-03-01,09:00,Mastodon main,c,,,\n"  # in the past
        + "1409/09/10,09:00,Mastodon main,سلام,,,\n",  # Jalali, fine
    )
    errors = errors_of(batch)
    assert set(errors) == {2, 3, 4}
    assert errors[2][0][0] == "date" and errors[4][0][0] == "date"
    assert "in the past" in errors[4][0][1]
    assert [row["row"] for row in batch.rows] == [5]


def test_text_too_long_for_x_but_fine_for_mastodon(workspace: Workspace, mastodon: Channel, x_channel: Channel) -> None:
    long_text = "ب" * 300  # over X's 280, within Mastodon's 500
    batch = check(
        workspace,
        HEADER + f"2030-01-01,09:00,Acme on X,{long_text},,,\n" + f"2030-01-02,09:00,Mastodon main,{long_text},,,\n",
    )
    errors = errors_of(batch)
    assert list(errors) == [2]
    column, message = errors[2][0]
    assert column == "text" and "X" in message
    assert [row["row"] for row in batch.rows] == [3]


def test_unknown_channel_empty_message_and_bad_link(workspace: Workspace, mastodon: Channel) -> None:
    batch = check(
        workspace,
        HEADER
        + "2030-01-01,09:00,Nowhere,hello,,,\n"
        + "2030-01-02,09:00,Mastodon main,,,,\n"
        + "2030-01-03,09:00,@acme,hello,ftp://example.com/x,,\n"
        + f"2030-01-04,09:00,{mastodon.pk},fine,https://example.com/a,,news\n",
    )
    errors = errors_of(batch)
    assert errors[2] == [("channels", "Unknown channel “Nowhere”.")]
    assert errors[3] == [("text", "The text is empty.")]
    assert errors[4][0][0] == "link"
    assert [row["row"] for row in batch.rows] == [5]
    assert batch.rows[0]["labels"] == ["news"]


def test_broken_encoding_names_the_line(workspace: Workspace, mastodon: Channel) -> None:
    data = (
        HEADER + "2030-01-01,09:00,Mastodon main,ok,,,\n"
    ).encode() + "2030-01-02,09:00,Mastodon main,سلام,,,\n".encode("cp1256")
    batch = check(workspace, data)
    errors = errors_of(batch)
    assert list(errors) == [3]
    assert "not UTF-8" in errors[3][0][1]
    assert batch.rows_valid == 0


def test_hootsuite_rows_go_to_the_chosen_channels(workspace: Workspace, mastodon: Channel, x_channel: Channel) -> None:
    data = "31/12/2030 09:00,Happy new year,https://example.com\n13/13/2030 09:00,bad date,\n01/01/2031 10:00,,\n"
    batch = check(workspace, data, file_format="hootsuite", channel_ids=[mastodon.pk, x_channel.pk])
    errors = errors_of(batch)
    assert set(errors) == {2, 3} and errors[2][0][0] == "date" and errors[3][0][0] == "message"
    (row,) = batch.rows
    assert row["row"] == 1 and {v["channel_id"] for v in row["variants"]} == {mastodon.pk, x_channel.pk}
    # 09:00 in the workspace's zone (Tehran, UTC+03:30)
    assert row["scheduled_at"].startswith("2030-12-31T05:30")


# ------------------------------------------------------------------ media


def test_media_urls_are_fetched_into_the_library(
    workspace: Workspace, mastodon: Channel, loopback: LoopbackServer
) -> None:
    image = loopback.serve("/pic.png", png(), content_type="image/png")
    missing = loopback.base + "/gone.png"
    batch = check(
        workspace,
        HEADER + f"2030-01-01,09:00,Mastodon main,with picture,,{image},\n"
        f"2030-01-02,09:00,Mastodon main,broken picture,,{missing},\n",
    )
    errors = errors_of(batch)
    assert list(errors) == [3] and errors[3][0][0] == "media_urls" and "404" in errors[3][0][1]
    asset = Asset.objects.get(workspace=workspace)
    assert asset.mime_type == "image/png" and asset.width == 320
    batch = import_confirm(actor=owner_of(workspace), batch_id=batch.pk, mode="valid", as_drafts=True)
    (target,) = PostTarget.objects.filter(post_id=batch.post_ids[0])
    assert target.media[0]["asset_id"] == asset.pk and target.text == "with picture"


# ------------------------------------------------------------------ importing


def test_all_or_nothing_refuses_files_with_errors(workspace: Workspace, mastodon: Channel) -> None:
    batch = check(workspace, HEADER + "2030-01-01,09:00,Mastodon main,ok,,,\n2030-01-02,09:00,Nowhere,x,,,\n")
    with pytest.raises(RowsInvalid) as caught:
        import_confirm(actor=owner_of(workspace), batch_id=batch.pk, mode="all", as_drafts=False)
    assert caught.value.fields == {"rows.3.channels": "Unknown channel “Nowhere”."}
    assert Post.objects.count() == 0


def test_valid_rows_are_scheduled_at_their_time_once(workspace: Workspace, mastodon: Channel) -> None:
    batch = check(workspace, HEADER + "2030-01-01,09:00,Mastodon main,ok,,,news\n2030-01-02,09:00,Nowhere,x,,,\n")
    actor = owner_of(workspace)
    batch = import_confirm(actor=actor, batch_id=batch.pk, mode="valid", as_drafts=False)
    assert batch.state == "imported" and len(batch.post_ids) == 1
    target = PostTarget.objects.get(post_id=batch.post_ids[0])
    assert target.state == "scheduled" and target.scheduled_at is not None
    assert target.scheduled_at.isoformat().startswith("2030-01-01T05:30")
    assert Post.objects.get().labels == ["news"]
    again = import_confirm(actor=actor, batch_id=batch.pk, mode="valid", as_drafts=False)
    assert again.post_ids == batch.post_ids and Post.objects.count() == 1
    actions = list(AuditEvent.objects.filter(action__startswith="import.").values_list("action", flat=True))
    assert sorted(actions) == ["import.run", "import.validate"]


def test_a_row_failing_at_import_time_rolls_back_every_row(
    workspace: Workspace, mastodon: Channel, x_channel: Channel
) -> None:
    batch = check(workspace, HEADER + "2030-01-01,09:00,Mastodon main,first,,,\n2030-01-02,09:00,Acme on X,second,,,\n")
    assert batch.rows_valid == 2
    Channel.objects.filter(pk=x_channel.pk).update(status=ChannelStatus.DISCONNECTED)
    with pytest.raises(RowsInvalid) as caught:
        import_confirm(actor=owner_of(workspace), batch_id=batch.pk, mode="all", as_drafts=False)
    assert "Row 3" in caught.value.message
    assert Post.objects.count() == 0 and PostTarget.objects.count() == 0
    batch.refresh_from_db()
    assert batch.state == "previewed"


# ------------------------------------------------------------------ the page


def test_page_preview_confirm_and_double_submit(owner_client: Client, workspace: Workspace, mastodon: Channel) -> None:
    upload = SimpleUploadedFile(
        "plan.csv", (HEADER + "2030-01-01,09:00,Mastodon main,سلام,,,\n2030-01-02,09:00,Nowhere,x,,,\n").encode()
    )
    response = owner_client.post(
        "/w/acme/import/", {"file": upload, "file_format": "sokhan", "date_order": "dmy", "timezone": ""}
    )
    assert response.status_code == 302, response.content.decode()
    page = owner_client.get(response["Location"])
    html = page.content.decode()
    assert 'data-row="3"' in html and "Unknown channel “Nowhere”." in html and "سلام" in html
    batch = ImportBatch.objects.get()
    refused = owner_client.post(response["Location"], {"token": str(batch.token), "mode": "all"})
    assert refused.status_code == 422 and Post.objects.count() == 0
    done = owner_client.post(response["Location"], {"token": str(batch.token), "mode": "valid"})
    assert done.status_code == 302
    assert "Imported 1 post(s)." in owner_client.get(done["Location"]).content.decode()
    twice = owner_client.post(response["Location"], {"token": str(batch.token), "mode": "valid"})
    assert twice.status_code == 302 and Post.objects.count() == 1
    report = owner_client.get(f"/w/acme/import/{batch.pk}/errors.csv")
    text = report.content.decode("utf-8-sig")
    assert (
        report.status_code == 200
        and text.splitlines()[0] == "row,date,time,channels,text,link,media_urls,labels,errors"
    )
    assert text.splitlines()[1].startswith("3,2030-01-02")


def test_contributor_imports_drafts(workspace: Workspace, mastodon: Channel, make_member: Any) -> None:
    user = make_member(Role.CONTRIBUTOR)
    client = Client()
    sign_in(client, user.email)
    upload = SimpleUploadedFile("c.csv", (HEADER + "2030-01-01,09:00,Mastodon main,draft me,,,\n").encode())
    response = client.post("/w/acme/import/", {"file": upload, "file_format": "sokhan", "date_order": "dmy"})
    batch = ImportBatch.objects.get()
    client.post(response["Location"], {"token": str(batch.token), "mode": "all"})
    assert PostTarget.objects.get().state == "draft"


def test_unknown_time_zone_is_a_form_error(owner_client: Client, mastodon: Channel) -> None:
    upload = SimpleUploadedFile("t.csv", (HEADER + "2030-01-01,09:00,Mastodon main,hi,,,\n").encode())
    response = owner_client.post(
        "/w/acme/import/", {"file": upload, "file_format": "sokhan", "date_order": "dmy", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 400 and "Unknown time zone Mars/Olympus." in response.content.decode()


def test_hootsuite_upload_needs_channels(owner_client: Client, mastodon: Channel) -> None:
    upload = SimpleUploadedFile("h.csv", b"31/12/2030 09:00,hello,\n")
    response = owner_client.post("/w/acme/import/", {"file": upload, "file_format": "hootsuite", "date_order": "dmy"})
    assert response.status_code == 400 and "Choose the channels the rows go to." in response.content.decode()


# ------------------------------------------------------------------ the API


def _api_post(api: ApiClient, data: bytes, headers: dict[str, str] | None = None, **fields: Any) -> Any:
    return api.client.post(
        "/api/v1/workspaces/acme/imports",
        {"file": SimpleUploadedFile("a.csv", data), **fields},
        headers={"Authorization": f"Bearer {api.token}", **(headers or {})},
    )


def test_api_reports_rows_and_imports(owner: User, workspace: Workspace, mastodon: Channel) -> None:
    api = ApiClient(make_token(owner, workspace, ["write"]))
    bad = (HEADER + "2030-01-01,09:00,Mastodon main,ok,,,\n2030-01-02,09:00,Mastodon main,,,,\n").encode()
    response = _api_post(api, bad, mode="all")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_rows" and error["fields"] == {"rows.3.text": "The text is empty."}
    assert Post.objects.count() == 0
    response = _api_post(api, bad, {"Idempotency-Key": "k1"}, mode="valid")
    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body["post_ids"]) == 1 and body["errors"] == [
        {"row": 3, "column": "text", "message": "The text is empty."}
    ]
    again = _api_post(api, bad, {"Idempotency-Key": "k1"}, mode="valid")
    assert again.status_code == 200 and again.json()["post_ids"] == body["post_ids"]
    assert Post.objects.count() == 1
    hoot = _api_post(
        api, b"31/12/2030 09:00,hello,\n", file_format="hootsuite", channel_ids=str(mastodon.pk), drafts="true"
    )
    assert hoot.status_code == 201 and PostTarget.objects.filter(state="draft").count() == 1

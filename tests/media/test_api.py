"""The media API: multipart upload, dedupe, the error format, alt text, fit, renditions, delete."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from tests.media.conftest import image_bytes

from sokhan.core.models import User
from sokhan.core.services import workspace_create
from sokhan.media.models import Asset

BASE = "/api/v1/workspaces/acme/media"


def _file(data: bytes, name: str = "a.png", claimed: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=claimed)


def test_upload_list_get_and_dedupe(api_client: Client) -> None:
    png = image_bytes((300, 200), "PNG")
    response = api_client.post(BASE, {"file": _file(png), "alt_text": "لوگوی قهوه"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mime_type"] == "image/png"  # sniffed, not the claimed image/jpeg
    assert (body["width"], body["height"]) == (300, 200) and body["alt_text"] == "لوگوی قهوه"
    again = api_client.post(BASE, {"file": _file(png, "copy.png")})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    listing = api_client.get(BASE).json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == body["id"]
    assert api_client.get(f"{BASE}/{body['id']}").json()["sha256"] == body["sha256"]
    download = api_client.get(f"{BASE}/{body['id']}/file")
    assert download.status_code == 200 and b"".join(download.streaming_content) == png  # type: ignore[attr-defined]


def test_errors_use_the_one_format(api_client: Client) -> None:
    bad = api_client.post(BASE, {"file": _file(b"hello, not an image", "x.jpg")})
    assert bad.status_code == 415
    assert bad.json()["error"]["code"] == "unsupported_media_type"
    assert bad.json()["error"]["fields"] == {"file": "unsupported type"}
    missing = api_client.post(BASE, {})
    assert missing.status_code == 422 and "file" in missing.json()["error"]["fields"]
    assert api_client.get(f"{BASE}/999999").json()["error"]["code"] == "not_found"


def test_alt_text_fit_rendition_and_delete(api_client: Client) -> None:
    png = image_bytes((800, 800), "PNG", mode="RGBA", colour=(0, 0, 0, 0))
    asset_id = api_client.post(BASE, {"file": _file(png)}).json()["id"]
    patched = api_client.patch(f"{BASE}/{asset_id}", {"alt_text": "يك تصوير"}, content_type="application/json")
    assert patched.status_code == 200 and patched.json()["alt_text"] == "یک تصویر"
    fits = {row["network"]: row for row in api_client.get(f"{BASE}/{asset_id}/fit").json()}
    assert fits["instagram"]["possible"] and not fits["instagram"]["fits_as_is"]
    assert any("JPG" in change for change in fits["instagram"]["changes"])
    made = api_client.post(f"{BASE}/{asset_id}/renditions", {"network": "instagram"}, content_type="application/json")
    assert made.status_code == 200, made.content
    assert made.json()["mime_type"] == "image/jpeg" and made.json()["original"] is False
    unknown = api_client.post(f"{BASE}/{asset_id}/renditions", {"network": "nope"}, content_type="application/json")
    assert unknown.status_code == 400 and unknown.json()["error"]["fields"] == {"network": "unknown"}
    assert api_client.delete(f"{BASE}/{asset_id}").status_code == 204
    assert not Asset.objects.exists()


def test_cannot_fit_is_a_422_naming_the_reason(api_client: Client) -> None:
    asset_id = api_client.post(BASE, {"file": _file(image_bytes((100, 80), "JPEG"))}).json()["id"]
    made = api_client.post(f"{BASE}/{asset_id}/renditions", {"network": "instagram"}, content_type="application/json")
    assert made.status_code == 422
    assert made.json()["error"]["code"] == "cannot_fit" and "100×80" in made.json()["error"]["message"]


def test_foreign_workspace_is_not_found(api_client: Client, owner: User) -> None:
    asset_id = api_client.post(BASE, {"file": _file(image_bytes((30, 30)))}).json()["id"]
    stranger = User.objects.create_user("stranger@example.com", "x" * 20)
    workspace_create(owner=stranger, name="Other", slug="other")
    from sokhan.core.models import Membership
    from sokhan.core.services import token_create

    _t, raw = token_create(actor=Membership.objects.get(user=stranger), name="s", scopes=["write"])
    other = Client(headers={"Authorization": f"Bearer {raw}"})
    assert other.get(f"{BASE}/{asset_id}").status_code == 404
    assert other.post(BASE, {"file": _file(b"junk")}).status_code == 404
    assert other.get(f"/api/v1/workspaces/other/media/{asset_id}").status_code == 404

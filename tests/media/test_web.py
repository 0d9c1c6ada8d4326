"""The library pages: upload through the form (and HTMX), the asset page's network fit, delete."""

from __future__ import annotations

from collections.abc import Callable

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from tests.media.conftest import image_bytes
from tests.web.helpers import sign_in

from sokhan.core.models import User
from sokhan.core.services import workspace_create
from sokhan.media.models import Asset


def test_upload_with_htmx_returns_the_list(owner_client: Client) -> None:
    page = owner_client.get("/w/acme/media/")
    assert page.status_code == 200 and 'type="file"' in page.content.decode()
    upload = SimpleUploadedFile("cup.png", image_bytes((400, 300), "PNG"), content_type="image/png")
    response = owner_client.post(
        "/w/acme/media/", {"file": upload, "alt_text": "فنجان"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "cup.png" in html and "<html" not in html
    asset = Asset.objects.get()
    assert asset.alt_text == "فنجان"
    assert owner_client.get(f"/w/acme/media/{asset.pk}/file/").status_code == 200


def test_bad_file_shows_the_error(owner_client: Client) -> None:
    upload = SimpleUploadedFile("doc.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    response = owner_client.post("/w/acme/media/", {"file": upload})
    assert response.status_code == 400
    assert "not a supported image or video" in response.content.decode()


def test_asset_page_shows_network_fit_and_edits_alt_text(owner_client: Client, upload: Callable[..., Asset]) -> None:
    asset = upload(image_bytes((800, 800), "PNG", mode="RGBA"), "logo.png")
    html = owner_client.get(f"/w/acme/media/{asset.pk}/").content.decode()
    assert "Instagram" in html and "Needs a rendition" in html and "Fits as-is" in html
    response = owner_client.post(f"/w/acme/media/{asset.pk}/", {"alt_text": "نشان"})
    assert response.status_code == 302
    asset.refresh_from_db()
    assert asset.alt_text == "نشان"
    assert owner_client.post(f"/w/acme/media/{asset.pk}/delete/").status_code == 302
    assert not Asset.objects.exists()


def test_viewer_sees_but_cannot_upload(make_member: Callable[..., User], upload: Callable[..., Asset]) -> None:
    upload(image_bytes((64, 64), "PNG"), "a.png")
    make_member("viewer")
    client = Client()
    sign_in(client, "viewer@example.com")
    page = client.get("/w/acme/media/")
    assert page.status_code == 200 and 'type="file"' not in page.content.decode()
    upload_file = SimpleUploadedFile("b.png", image_bytes((8, 8)), content_type="image/png")
    assert client.post("/w/acme/media/", {"file": upload_file}).status_code == 403


def test_other_workspaces_get_404(upload: Callable[..., Asset]) -> None:
    asset = upload(image_bytes((64, 64), "PNG"), "a.png")
    stranger = User.objects.create_user("stranger@example.com", "correct horse battery staple")
    workspace_create(owner=stranger, name="Other", slug="other")
    client = Client()
    sign_in(client, stranger.email)
    for url in (f"/w/acme/media/{asset.pk}/", f"/w/acme/media/{asset.pk}/file/", "/w/acme/media/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/w/acme/media/{asset.pk}/delete/").status_code == 404
    assert client.get(f"/w/other/media/{asset.pk}/").status_code == 404

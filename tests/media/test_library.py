"""Upload, dedupe, alt text, delete and workspace scoping of the library's services."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.media.conftest import image_bytes

from sokhan.core.errors import NotFound
from sokhan.core.models import AuditEvent, Membership, User
from sokhan.core.services import workspace_create
from sokhan.media.models import Asset
from sokhan.media.services import asset_delete, asset_get, asset_set_alt_text, asset_upload

Upload = Callable[..., Asset]


def test_same_bytes_are_stored_once_per_workspace(owner_membership: Membership, owner: User) -> None:
    data = image_bytes((64, 64), "PNG")
    first = asset_upload(actor=owner_membership, chunks=[data], name="a.png")
    second = asset_upload(actor=owner_membership, chunks=[data[:10], data[10:]], name="copy.png")
    assert first.created and not second.created and first.asset.pk == second.asset.pk
    assert Asset.objects.count() == 1
    other = workspace_create(owner=owner, name="Other", slug="other")
    other_membership = Membership.objects.get(workspace=other, user=owner)
    third = asset_upload(actor=other_membership, chunks=[data], name="a.png")
    assert third.created and third.asset.workspace == other
    assert str(third.asset.path).startswith(str(third.asset.path.parents[2]))
    assert third.asset.file.startswith(f"{other.pk}/")


def test_files_live_under_the_workspace_directory(upload: Upload, owner_membership: Membership) -> None:
    asset = upload(image_bytes((64, 64), "PNG"), "a.png")
    assert asset.file.split("/")[0] == str(owner_membership.workspace.pk)
    assert asset.path.read_bytes()[:4] == b"\x89PNG"


def test_alt_text_and_delete_are_audited(upload: Upload, owner_membership: Membership) -> None:
    asset = upload(image_bytes((64, 64), "PNG"), "a.png")
    updated = asset_set_alt_text(actor=owner_membership, asset_id=asset.pk, alt_text="  عكس يك فنجان قهوه  ")
    assert updated.alt_text == "عکس یک فنجان قهوه"
    path = asset.path
    asset_delete(actor=owner_membership, asset_id=asset.pk)
    assert not path.exists() and not Asset.objects.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"media.upload", "media.alt_text", "media.delete"} <= actions


def test_other_workspaces_cannot_reach_an_asset(upload: Upload, owner: User) -> None:
    asset = upload(image_bytes((64, 64), "PNG"), "a.png")
    other = workspace_create(owner=owner, name="Other", slug="other")
    with pytest.raises(NotFound):
        asset_get(other, asset.pk)
    with pytest.raises(NotFound):
        asset_delete(actor=Membership.objects.get(workspace=other, user=owner), asset_id=asset.pk)
    assert Asset.objects.filter(pk=asset.pk).exists()


def test_a_viewer_may_not_upload(make_member: Callable[..., User], workspace: object) -> None:
    viewer = make_member("viewer")
    membership = Membership.objects.select_related("workspace").get(user=viewer)
    with pytest.raises(PermissionError):
        asset_upload(actor=membership, chunks=[image_bytes((8, 8))], name="a.png")

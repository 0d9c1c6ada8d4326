"""Fixtures: real image files made with Pillow, a member, signed-in clients and API tokens."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from PIL import Image
from tests.web.helpers import sign_in

from sokhan.core.models import Membership, User, Workspace
from sokhan.core.services import token_create
from sokhan.media.models import Asset
from sokhan.media.services import asset_upload


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    cache.clear()


def image_bytes(
    size: tuple[int, int],
    fmt: str = "PNG",
    mode: str = "RGB",
    colour: Any = (200, 30, 30),
    orientation: int | None = None,
    noise: bool = False,
    **options: Any,
) -> bytes:
    image = Image.new(mode, size, colour)
    if noise:  # incompressible content, so JPEG sizes stay large
        image = Image.frombytes("RGB", size, __import__("os").urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.fixture
def owner_membership(owner: User, workspace: Workspace) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(user=owner, workspace=workspace)


@pytest.fixture
def upload(owner_membership: Membership) -> Callable[..., Asset]:
    def make(data: bytes, name: str = "file.bin", alt_text: str = "") -> Asset:
        return asset_upload(actor=owner_membership, chunks=[data], name=name, alt_text=alt_text).asset

    return make


@pytest.fixture
def owner_client(owner: User, workspace: Workspace) -> Client:
    client = Client()
    sign_in(client, owner.email)
    return client


@pytest.fixture
def api_client(owner_membership: Membership) -> Client:
    _token, raw = token_create(actor=owner_membership, name="media", scopes=["write"])
    return Client(headers={"Authorization": f"Bearer {raw}"})

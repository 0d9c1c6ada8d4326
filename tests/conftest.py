"""Shared fixtures. Tests run against the database named by DATABASE_URL (SQLite when unset).

Settings give every test run its own temporary SOKHAN_DATA_DIR (see config/settings.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create

PASSWORD = "correct horse battery staple"


@pytest.fixture
def data_dir() -> Path:
    return Path(os.environ["SOKHAN_DATA_DIR"])


@pytest.fixture
def owner(db: None) -> User:
    return User.objects.create_user("owner@example.com", PASSWORD, full_name="Owner")


@pytest.fixture
def workspace(owner: User) -> Workspace:
    return workspace_create(owner=owner, name="Acme Coffee", slug="acme")


@pytest.fixture
def make_member(workspace: Workspace):  # type: ignore[no-untyped-def]
    def make(role: Role | str, email: str | None = None, ws: Workspace | None = None) -> User:
        role = Role(role)
        user = User.objects.create_user(email or f"{role.value}@example.com", PASSWORD)
        Membership.objects.create(workspace=ws or workspace, user=user, role=role)
        return user

    return make

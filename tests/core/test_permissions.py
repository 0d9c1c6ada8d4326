"""The permission matrix: each role can do what its description promises, and nothing more."""

import pytest

from sokhan.core.permissions import MATRIX, Perm, Role, assignable_roles, role_can


def test_owner_can_everything() -> None:
    assert all(role_can(Role.OWNER, p) for p in Perm)


def test_admin_cannot_delete_workspace_but_manages_members() -> None:
    assert not role_can(Role.ADMIN, Perm.WORKSPACE_DELETE)
    assert role_can(Role.ADMIN, Perm.MEMBERS_MANAGE)
    assert role_can(Role.ADMIN, Perm.WORKSPACE_SETTINGS)


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        (Role.EDITOR, [Perm.POSTS_PUBLISH, Perm.INBOX_REPLY], [Perm.MEMBERS_MANAGE, Perm.WORKSPACE_SETTINGS]),
        (Role.CONTRIBUTOR, [Perm.POSTS_DRAFT], [Perm.POSTS_PUBLISH, Perm.POSTS_APPROVE, Perm.INBOX_REPLY]),
        (Role.APPROVER, [Perm.POSTS_APPROVE, Perm.POSTS_VIEW], [Perm.POSTS_EDIT, Perm.POSTS_PUBLISH]),
        (Role.ANALYST, [Perm.ANALYTICS_VIEW], [Perm.POSTS_VIEW, Perm.POSTS_DRAFT, Perm.MEMBERS_VIEW]),
        (Role.VIEWER, [Perm.POSTS_VIEW], [Perm.POSTS_DRAFT, Perm.TOKENS_USE, Perm.AUDIT_VIEW]),
        (Role.MANAGER, [Perm.POSTS_APPROVE, Perm.CHANNELS_MANAGE], [Perm.MEMBERS_MANAGE]),
    ],
)
def test_role_matrix(role: Role, allowed: list[Perm], denied: list[Perm]) -> None:
    for perm in allowed:
        assert role_can(role, perm), (role, perm)
    for perm in denied:
        assert not role_can(role, perm), (role, perm)


def test_every_role_sees_its_workspace() -> None:
    assert set(MATRIX) == set(Role)
    assert all(Perm.WORKSPACE_VIEW in perms for perms in MATRIX.values())


def test_unknown_role_can_nothing() -> None:
    assert not role_can("superhero", Perm.WORKSPACE_VIEW)
    assert not role_can(None, Perm.WORKSPACE_VIEW)


def test_only_owner_grants_owner() -> None:
    assert Role.OWNER in assignable_roles(Role.OWNER)
    assert Role.OWNER not in assignable_roles(Role.ADMIN)
    assert assignable_roles(Role.EDITOR) == []

"""First start: the owner setup is single-use, also when two people submit it at the same moment."""

import threading

import pytest
from django.db import connection

from sokhan.core.errors import Conflict
from sokhan.core.models import Membership, Organization, User, Workspace
from sokhan.core.setup import owner_setup, setup_link, setup_needed, setup_token, setup_token_valid

FORM = {
    "password": "a long and unusual passphrase",
    "full_name": "Nasrin",
    "organization_name": "Agency",
    "workspace_name": "Brand",
    "timezone_name": "Asia/Tehran",
    "calendar": "jalali",
    "language": "fa",
}


def test_setup_creates_owner_org_and_workspace(db: None) -> None:
    assert setup_needed() and setup_token_valid(setup_token())
    assert setup_link().endswith("/")
    user, workspace = owner_setup(email="nasrin@example.com", **FORM)
    assert Membership.objects.get(user=user, workspace=workspace).role == "owner"
    assert Organization.objects.get().name == "Agency"
    assert not setup_needed()
    assert not setup_token_valid(setup_token())
    with pytest.raises(Conflict):
        owner_setup(email="late@example.com", **FORM)


def test_setup_rejects_tampered_token(db: None) -> None:
    assert not setup_token_valid(setup_token() + "x")
    assert not setup_token_valid("owner-setup")


def test_failed_setup_leaves_nothing_behind(db: None) -> None:
    with pytest.raises(Exception, match="time zone"):
        owner_setup(email="n@example.com", **{**FORM, "timezone_name": "Nowhere/City"})
    assert not User.objects.exists() and not Workspace.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_setups_create_exactly_one_owner() -> None:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(email: str) -> None:
        barrier.wait()
        try:
            owner_setup(email=email, **FORM)
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(f"u{i}@example.com",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "created"]
    assert User.objects.count() == 1 and Workspace.objects.count() == 1

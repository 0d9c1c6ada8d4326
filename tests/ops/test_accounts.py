"""sokhan createuser / createworkspace."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable

import pytest
from django.contrib.auth import authenticate
from django.core.management.base import CommandError

from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Role

GOOD = "quiet lantern orchard 42"

Runner = Callable[..., tuple[str, str]]
pytestmark = pytest.mark.django_db


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_createuser_from_stdin_can_sign_in(monkeypatch: pytest.MonkeyPatch, cmd: Runner) -> None:
    stdin(monkeypatch, GOOD + "\n")
    out, _ = cmd("createuser", "--email", " Reza@Example.COM ", "--full-name", "Reza", "--password-stdin")
    assert "Created user reza@example.com" in out
    user = User.objects.get()
    assert user.full_name == "Reza"
    assert authenticate(email="reza@example.com", password=GOOD) == user


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("1234567890123", "entirely numeric"),
        ("mina.karimi@example.com", "too similar"),
    ],
)
def test_createuser_rejects_weak_password(
    monkeypatch: pytest.MonkeyPatch, password: str, complaint: str, cmd: Runner
) -> None:
    stdin(monkeypatch, password + "\n")
    with pytest.raises(CommandError, match=complaint):
        cmd("createuser", "--email", "mina.karimi@example.com", "--password-stdin")
    assert not User.objects.exists()


def test_createuser_rejects_bad_and_duplicate_email(monkeypatch: pytest.MonkeyPatch, cmd: Runner) -> None:
    stdin(monkeypatch, GOOD + "\n")
    with pytest.raises(CommandError, match=r"--email: 'not-an-email' is not a valid email"):
        cmd("createuser", "--email", "not-an-email", "--password-stdin")
    User.objects.create_user("taken@example.com", GOOD)
    stdin(monkeypatch, GOOD + "\n")
    with pytest.raises(CommandError, match="already exists"):
        cmd("createuser", "--email", "TAKEN@example.com", "--password-stdin")
    assert User.objects.count() == 1


def test_createuser_empty_stdin_and_no_terminal(monkeypatch: pytest.MonkeyPatch, cmd: Runner) -> None:
    stdin(monkeypatch, "\n")
    with pytest.raises(CommandError, match="stdin held no password"):
        cmd("createuser", "--email", "a@example.com", "--password-stdin")
    stdin(monkeypatch, GOOD + "\n")  # a pipe, not a terminal, and no --password-stdin
    with pytest.raises(CommandError, match="--password-stdin"):
        cmd("createuser", "--email", "a@example.com")
    assert not User.objects.exists()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_createuser_prompts_twice_and_retries_on_mismatch(monkeypatch: pytest.MonkeyPatch, cmd: Runner) -> None:
    answers = iter([GOOD, "something else entirely", GOOD, GOOD])
    monkeypatch.setattr(sys, "stdin", _Tty())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    _, err = cmd("createuser", "--email", "b@example.com")
    assert "differ" in err
    assert authenticate(email="b@example.com", password=GOOD) is not None


def test_createuser_gives_up_after_three_bad_prompts(monkeypatch: pytest.MonkeyPatch, cmd: Runner) -> None:
    answers = iter(["short"] * 3)
    monkeypatch.setattr(sys, "stdin", _Tty())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="three attempts"):
        cmd("createuser", "--email", "c@example.com")
    assert not User.objects.exists()


def test_createworkspace_makes_owner(cmd: Runner) -> None:
    owner = User.objects.create_user("owner@example.com", GOOD)
    out, _ = cmd(
        "createworkspace",
        "--name",
        "Kafe Nader",
        "--owner",
        "Owner@Example.com",
        "--slug",
        "kafe",
        "--timezone",
        "Europe/Berlin",
        "--calendar",
        "gregorian",
        "--language",
        "en",
    )
    assert "/kafe/" in out
    ws = Workspace.objects.get(slug="kafe")
    assert (ws.name, ws.timezone, ws.calendar, ws.language) == (
        "Kafe Nader",
        "Europe/Berlin",
        "gregorian",
        "en",
    )
    assert Membership.objects.get(workspace=ws).user == owner
    assert Membership.objects.get(workspace=ws).role == Role.OWNER


def test_createworkspace_defaults_to_persian_jalali_tehran(cmd: Runner) -> None:
    User.objects.create_user("owner@example.com", GOOD)
    cmd("createworkspace", "--name", "Acme Coffee", "--owner", "owner@example.com")
    ws = Workspace.objects.get()
    assert (ws.slug, ws.timezone, ws.calendar, ws.language) == ("acme-coffee", "Asia/Tehran", "jalali", "fa")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--owner", "nobody@example.com"], "--owner: no user has the email"),
        (["--timezone", "Mars/Olympus"], "--timezone: Unknown time zone: Mars/Olympus"),
        (["--slug", "Not A Slug"], "--slug: The address may hold only"),
        (["--name", "   "], "--name: A workspace needs a name"),
        (["--calendar", "mayan"], "invalid choice: 'mayan'"),
    ],
)
def test_createworkspace_errors_name_the_option(extra: list[str], message: str, cmd: Runner) -> None:
    User.objects.create_user("owner@example.com", GOOD)
    args = {"--name": "Acme", "--owner": "owner@example.com"}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        args[flag] = value
    flat = [part for pair in args.items() for part in pair]
    with pytest.raises(CommandError, match=message):
        cmd("createworkspace", *flat)
    assert not Workspace.objects.exists()


def test_createworkspace_refuses_taken_slug(cmd: Runner) -> None:
    User.objects.create_user("owner@example.com", GOOD)
    cmd("createworkspace", "--name", "Acme", "--owner", "owner@example.com", "--slug", "acme")
    with pytest.raises(CommandError, match="--slug: The address acme is taken"):
        cmd("createworkspace", "--name", "Other", "--owner", "owner@example.com", "--slug", "acme")
    assert Workspace.objects.count() == 1

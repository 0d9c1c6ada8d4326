"""``sokhan createuser``: add a person who can sign in."""

from __future__ import annotations

import getpass
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sokhan.ops.accounts import normalise_email, password_problems, user_create
from sokhan.ops.errors import OpsError


class Command(BaseCommand):
    help = "Create a user. The password is read from stdin (--password-stdin) or prompted for twice."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--email", required=True, help="Sign-in email address.")
        parser.add_argument("--full-name", default="", help="Name shown to colleagues.")
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read the password from the first line of stdin."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            email = normalise_email(options["email"])
            password = self._password(email, options["full_name"], options["password_stdin"])
            user = user_create(email=email, password=password, full_name=options["full_name"])
        except OpsError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Created user {user.email} (id {user.pk}).")

    def _password(self, email: str, full_name: str, from_stdin: bool) -> str:
        if from_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise OpsError("--password-stdin: stdin held no password (the first line was empty).")
            return password
        if not sys.stdin.isatty():
            raise OpsError("No terminal to prompt for a password on; pipe it in with --password-stdin.")
        for _attempt in range(3):
            first = getpass.getpass("Password: ")
            problems = password_problems(first, email=email, full_name=full_name)
            if problems:
                self.stderr.write("Password rejected: " + " ".join(problems))
                continue
            if getpass.getpass("Password (again): ") != first:
                self.stderr.write("The two passwords differ; try again.")
                continue
            return first
        raise OpsError("No acceptable password after three attempts; no user was created.")

"""The ``sokhan`` command: Django's command line, with hyphenated command names (``rotate-key``)."""

from __future__ import annotations

import os
import sys


def command_argv(argv: list[str]) -> list[str]:
    """Map ``rotate-key`` to the module name ``rotate_key`` (also after ``help``)."""
    argv = list(argv)
    position = 1 if argv[:1] == ["help"] else 0
    if len(argv) > position and not argv[position].startswith("-") and "-" in argv[position]:
        argv[position] = argv[position].replace("-", "_")
    return argv


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sokhan.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["sokhan", *command_argv(argv if argv is not None else sys.argv[1:])])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

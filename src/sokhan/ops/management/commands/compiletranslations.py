from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sokhan.ops.translations import compile_catalogs


class Command(BaseCommand):
    help = "Compile the translation catalogs (.po to .mo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        written = compile_catalogs()
        if not options["quiet"]:
            for path in written:
                self.stdout.write(f"compiled {path}")

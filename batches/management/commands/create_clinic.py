from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from batches.services import clinic_create


class Command(BaseCommand):
    help = "Register a clinic by its code."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="Short upper-case code, e.g. KEIO.")
        parser.add_argument("--name", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            clinic = clinic_create(code=options["code"], name=options["name"])
        except ValidationError as error:
            raise CommandError(
                "; ".join(f"{f}: {' '.join(m)}" for f, m in error.message_dict.items())
            ) from error
        self.stdout.write(f"Created clinic {clinic.code} ({clinic.name}).")

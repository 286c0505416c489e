from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from batches.models import Clinic
from compliance.services import user_create
from core.roles import Role


class Command(BaseCommand):
    help = "Create a user in one role (technician, qc, qa, coordinator, admin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--full-name", required=True, help="Printed name used in signatures.")
        parser.add_argument("--password", required=True)
        parser.add_argument("--clinic", help="Clinic code (coordinators only).")

    def handle(self, *args: Any, **options: Any) -> None:
        clinic = None
        if options["clinic"]:
            clinic = Clinic.objects.filter(code=options["clinic"]).first()
            if clinic is None:
                raise CommandError(f"No clinic with code {options['clinic']!r}.")
        try:
            user = user_create(
                username=options["username"],
                role=Role(options["role"]),
                full_name=options["full_name"],
                password=options["password"],
                clinic=clinic,
            )
        except ValidationError as error:
            raise CommandError(_messages(error)) from error
        self.stdout.write(f"Created {options['role']} {user.username} ({user.full_name}).")


def _messages(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return " ".join(error.messages)

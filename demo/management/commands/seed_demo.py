from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.seed import DEMO_PASSWORD, demo_logins, seed_demo


class Command(BaseCommand):
    help = "Load demo clinics, users, locations and batches in every state (idempotent; not in production)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates accounts with a known password: never in production.")
        created = seed_demo()
        self.stdout.write("Demo data loaded." if created else "Demo data already present: nothing changed.")
        if not options["quiet_logins"]:
            self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
            for username, role, name in demo_logins():
                self.stdout.write(f"  {username:<6} {role:<12} {name}")

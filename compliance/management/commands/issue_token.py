import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from batches.models import Clinic
from compliance.models import User
from compliance.tokens import token_issue

MAX_EXPIRES_DAYS = 36_500  # beyond this "never" is the honest answer, and dates overflow far later


class Command(BaseCommand):
    help = "Issue an API bearer token for a clinic system or a user; prints the token on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--clinic", help="Clinic code: a token for that clinic's system.")
        owner.add_argument("--user", help="Username: a token acting as that user.")
        parser.add_argument("--expires-days", type=int, help="Days until the token expires (default: never).")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["expires_days"]
        if days is not None and not 1 <= days <= MAX_EXPIRES_DAYS:
            raise CommandError(f"--expires-days must be between 1 and {MAX_EXPIRES_DAYS} (100 years).")
        expires_at = timezone.now() + dt.timedelta(days=days) if days else None
        if options["clinic"]:
            clinic = Clinic.objects.filter(code=options["clinic"]).first()
            if clinic is None:
                raise CommandError(f"No clinic with code {options['clinic']!r}.")
            token, key = token_issue(clinic=clinic, expires_at=expires_at)
            owner = f"clinic {clinic.code}"
        else:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
            if not user.is_active:
                raise CommandError(f"User {user.username} is inactive.")
            token, key = token_issue(user=user, expires_at=expires_at)
            owner = f"user {user.username}"
        until = f"until {token.expires_at:%Y-%m-%d %H:%M %Z}" if token.expires_at else "without expiry"
        self.stdout.write(
            f"Token {token.prefix}... for {owner}, valid {until}. Store it now: it is not shown again."
        )
        self.stdout.write(key)

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.audit import chain_head_restore, verify_chain


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain. Exit 0 when intact; else name the first broken entry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--restore-head",
            action="store_true",
            help="If the chain head row is missing and every entry holds, re-create it from the last entry.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        report = chain_head_restore() if options["restore_head"] else verify_chain()
        elapsed = time.monotonic() - started
        if not report.intact:
            raise CommandError(
                f"Audit chain BROKEN at {report.problem}. {report.checked} entries before it are intact."
            )
        self.stdout.write(f"Audit chain intact: {report.checked} entries verified in {elapsed:.1f} s.")

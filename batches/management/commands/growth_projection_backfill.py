import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from batches.services import growth_projection_backfill


class Command(BaseCommand):
    help = "Store the growth projection (ready day and its 80% interval) of every batch, set-based."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, action="append", help="Only this batch id (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        written = growth_projection_backfill(batch_ids=options["batch"])
        self.stdout.write(
            f"Stored the growth projection of {written} batches in {time.monotonic() - started:.1f} s."
        )

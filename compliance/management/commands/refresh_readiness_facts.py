"""Recompute the stored readiness facts (``BatchFacts``) of batches whose stored facts are stale."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, connections

from compliance.readiness.bulk import refresh_stored_facts

# Keyset pages of batch ids: stale stored facts, and with --all batches with none stored yet.
_STALE = """
SELECT b.id FROM batches_batch b LEFT JOIN batches_batchfacts f ON f.batch_id = b.id
WHERE b.id > %s AND ({missing} f.version < b.facts_version)
ORDER BY b.id LIMIT %s
"""


def _refresh(ids: list[int]) -> int:
    return refresh_stored_facts(ids)


class Command(BaseCommand):
    help = (
        "Recompute the stored readiness facts of batches whose stored facts are stale; with --all, also of "
        "batches with none stored (the warm-up after a bulk load). Reads self-heal anyway: this only spares "
        "the first reader the work."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="Also batches without stored facts.")
        parser.add_argument("--chunk", type=int, default=500, help="Batches per read and per upsert.")
        parser.add_argument("--jobs", type=int, default=1, help="Worker processes (each its own connection).")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        sql = _STALE.format(missing="f.batch_id IS NULL OR" if options["all"] else "")
        chunks, last = [], 0
        with connection.cursor() as cursor:
            while True:
                cursor.execute(sql, [last, options["chunk"]])
                ids = [row[0] for row in cursor.fetchall()]
                if not ids:
                    break
                chunks.append(ids)
                last = ids[-1]
        if options["jobs"] > 1 and len(chunks) > 1:
            connections.close_all()  # each forked worker opens its own
            with multiprocessing.get_context("fork").Pool(options["jobs"]) as pool:
                stored = sum(pool.imap_unordered(_refresh, chunks))
        else:
            stored = sum(_refresh(ids) for ids in chunks)
        found = sum(len(ids) for ids in chunks)
        elapsed = time.monotonic() - started
        self.stdout.write(f"Readiness facts stored for {stored} of {found} batches in {elapsed:.1f} s.")

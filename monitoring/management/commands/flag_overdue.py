"""Run every sweep once, synchronously, and say what changed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from batches.models import Flag
from monitoring.sweeps import sweep_all


class Command(BaseCommand):
    help = "Run all sweeps once (no Celery needed) and print the flags opened, kept and resolved."

    def handle(self, *args: Any, **options: Any) -> None:
        full = sweep_all()
        self.stdout.write(f"{'flag':<20} {'opened':>7} {'escalated':>9} {'kept':>7} {'resolved':>8}")
        for r in full.flags:
            self.stdout.write(
                f"{r.kind:<20} {len(r.opened):>7} {len(r.escalated):>9} {r.kept:>7} {r.resolved:>8}"
            )
        opened = [i for r in full.flags for i in r.opened]
        for flag in Flag.objects.filter(id__in=opened).select_related("batch").order_by("kind", "batch__din"):
            self.stdout.write(f"  opened {flag.kind} on {flag.batch.din} ({flag.severity}): {flag.detail}")
        expired = ", ".join(full.expiry.batches_expired) or "none"
        self.stdout.write(f"doses made unavailable: {full.expiry.doses_expired}; batches expired: {expired}")

"""The stored growth projection of a batch: what the sweeps, lists and clinic systems read."""

from __future__ import annotations

from django.db import models

from batches.models.core import Batch


class GrowthProjection(models.Model):
    """The latest ready-day projection of a batch and its 80% interval (days and dates).

    Derived, never typed: rewritten with every culture step in the step's
    transaction (``batches.services.growth``) and by ``growth_projection_backfill``.
    Days count from seeding; dates are the seeding date plus the day rounded up.
    """

    batch = models.OneToOneField(Batch, primary_key=True, on_delete=models.CASCADE, related_name="projection")
    ready_day = models.FloatField(null=True, blank=True)
    low_day = models.FloatField(null=True, blank=True)
    high_day = models.FloatField(null=True, blank=True)
    doubling_time_days = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=40, blank=True)
    reached = models.BooleanField(default=False)
    projected_ready_on = models.DateField(null=True, blank=True)
    ready_low_on = models.DateField(null=True, blank=True)
    ready_high_on = models.DateField(null=True, blank=True)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.batch_id}: ready {self.projected_ready_on} [{self.ready_low_on}, {self.ready_high_on}]"

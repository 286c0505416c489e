"""What the background work leaves behind for operators: one row per sweep run."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SweepRun(models.Model):
    """One run of a scheduled sweep: when it started, when (and whether) it finished, and where.

    ``/readyz`` and the QA banner read the latest finished run to tell a silent
    background failure (no worker, no beat, a broker outage) from a quiet day.
    A run killed mid-way keeps ``finished_at`` empty; the redelivered task starts
    a new row.
    """

    class Outcome(models.TextChoices):
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    name = models.CharField(_("sweep"), max_length=40)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.RUNNING)
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        verbose_name = _("sweep run")
        verbose_name_plural = _("sweep runs")
        indexes = [models.Index(fields=["name", "-finished_at"], name="sweeprun_latest")]

    def __str__(self) -> str:
        return f"{self.name} {self.started_at:%Y-%m-%d %H:%M:%S} {self.outcome}"

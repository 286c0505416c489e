"""Reads of the clinic's side: its therapies with their batches, doses and infusions.

What a coordinator follows (progress, readiness, the infusion of each dose) in a
fixed number of queries however many therapies the clinic has. Kept apart from
``compliance.selectors`` because the readiness package reads those.
"""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, QuerySet

from batches.models import Batch, Dose, Therapy
from compliance.models import AdministrationAttempt, Infusion, InfusionObservation

ACTIVE_INFUSIONS = Infusion.objects.filter(status__in=Infusion.ACTIVE).order_by("scheduled_for")


def clinic_therapies(*, clinic_id: int) -> QuerySet[Therapy]:
    """The clinic's therapies, newest first, each with its batches (newest first), doses and active infusions.

    Four queries whatever the number of rows: therapies (with patient and
    protocol), batches (with their stored readiness facts), doses, infusions.
    Each batch carries ``therapy`` already (no query per row for readiness).
    """
    batches = Batch.objects.select_related("stored_facts", "collection").order_by("-created_at")
    doses = Dose.objects.order_by("number").prefetch_related(
        Prefetch("infusions", queryset=ACTIVE_INFUSIONS, to_attr="active_infusions")
    )
    return (
        Therapy.objects.filter(patient__clinic_id=clinic_id)
        .select_related("patient", "protocol")
        .prefetch_related(
            Prefetch("batches", queryset=batches.prefetch_related(Prefetch("doses", queryset=doses)))
        )
        .order_by("-created_at", "-id")
    )


def clinic_batches(therapies: list[Therapy]) -> list[Batch]:
    """The batches of prefetched ``therapies`` (the prefetch points each at its loaded therapy)."""
    return [batch for therapy in therapies for batch in therapy.batches.all()]


def upcoming_infusions(*, clinic_id: int | None) -> QuerySet[Infusion]:
    """Scheduled infusions soonest first (of one clinic when given), with dose, batch and patient (one query)."""
    infusions = Infusion.objects.filter(status=Infusion.Status.SCHEDULED).select_related(
        "dose__batch__therapy__patient", "dose__batch__therapy__protocol"
    )
    if clinic_id is not None:
        infusions = infusions.filter(dose__batch__therapy__patient__clinic_id=clinic_id)
    return infusions.order_by("scheduled_for")


def infusion_page(*, pk: uuid.UUID | str, clinic_id: int | None) -> Infusion | None:
    """One infusion with what its page shows (dose, batch, patient, people), or None when not visible."""
    infusions = Infusion.objects.select_related(
        "dose__batch__therapy__patient__clinic",
        "dose__batch__therapy__protocol",
        "created_by",
        "administered_by",
        "rescheduled_from",
    ).prefetch_related(
        Prefetch(
            "observations",
            queryset=InfusionObservation.objects.select_related("recorded_by").order_by("observed_at", "id"),
        ),
        Prefetch(
            "attempts",
            queryset=AdministrationAttempt.objects.select_related("attempted_by").order_by(
                "-attempted_at", "-id"
            ),
        ),
    )
    if clinic_id is not None:
        infusions = infusions.filter(dose__batch__therapy__patient__clinic_id=clinic_id)
    return infusions.filter(pk=pk).first()


def dose_page(*, dose_id: str, clinic_id: int | None) -> Dose | None:
    """The dose ``<DIN>-<n>`` with its batch, therapy and patient (of one clinic when given), or None."""
    din, _, number = dose_id.rpartition("-")
    if not number.isdigit() or not din:
        return None
    doses = Dose.objects.select_related(
        "batch__therapy__patient", "batch__therapy__protocol", "batch__stored_facts"
    ).filter(batch__din=din, number=int(number))
    if clinic_id is not None:
        doses = doses.filter(batch__therapy__patient__clinic_id=clinic_id)
    return doses.first()


__all__ = ["clinic_batches", "clinic_therapies", "dose_page", "infusion_page", "upcoming_infusions"]

"""What clinic systems are told by webhook, and when: the payloads, built where the facts are.

The services that make a change call these inside their own transaction
(``webhooks.outbox.emit`` writes the outbox row there): release and rejection
(``services.release``, ``services.release_review``), quarantine
(``services.deviations``), infusions scheduled and cancelled
(``services.scheduling``), and ``monitoring`` for doses expiring.

Every payload is about ONE batch of ONE clinic, and only that clinic's
endpoints receive it: the DIN, the COI, the new state, the readiness summary
(the one readiness function, read afresh) and a link to the resource.
Patient fields are never included: the clinic knows its patient by the COI.

``batch.projection_changed``: the projection is stored by a ``batches``
service, and ``batches`` may not import ``webhooks`` or ``compliance``. It
sends ``batches.signals.projection_changed`` inside its transaction; the
receiver is here rather than in ``webhooks`` because the payload carries the
readiness summary, which is ``compliance``'s, and is built like every other
batch event. ``webhooks`` stays a transport that knows no domain. The event
goes out when the ready date or either end of the interval moved by a day or
more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils import timezone

from batches.models import Batch, Dose
from batches.signals import ProjectionDates
from compliance.models import Infusion
from compliance.readiness import rules
from compliance.readiness.facts import batch_facts, batch_state_at
from webhooks.models import EventType, WebhookEndpoint
from webhooks.outbox import emit

E = EventType


def _batch(batch_id: int) -> Batch:
    return Batch.objects.select_related("therapy__patient", "therapy__protocol").get(pk=batch_id)


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def batch_data(batch: Batch, at: dt.datetime) -> dict[str, Any]:
    """DIN, COI, state, readiness summary and link of ``batch`` (fresh from the database)."""
    facts = batch_facts(batch)
    answer = rules.readiness(batch_state_at(batch.status, facts, at), at)
    return {
        "din": batch.din,
        "coi": batch.therapy.coi,
        "status": batch.status,
        "readiness": {
            "ready": answer.ready,
            "blockers": [{"code": b.code, "detail": b.english} for b in answer.blockers],
            "projected_ready_on": _iso(facts.projected_ready_on),
            "doses": [
                {"dose_id": d.dose_id, "ready": d.ready, "expires_at": _iso(d.expires_at)}
                for d in answer.doses
            ],
        },
        "link": f"{settings.LIMS_PUBLIC_URL}/api/v1/batches/{batch.din}/",
    }


def batch_event(*, batch: Batch, type: str, now: dt.datetime | None = None, **extra: Any) -> None:
    """Announce a state change of ``batch`` (released, rejected, quarantined): one per transition."""
    now = now or timezone.now()
    fresh = _batch(batch.pk)
    emit(
        clinic_id=fresh.therapy.patient.clinic_id,
        type=type,
        key=f"{type}:{fresh.din}:{fresh.status_changed_at.isoformat()}",
        data=lambda: {**batch_data(fresh, now), **extra},
        now=now,
    )


def infusion_event(*, infusion: Infusion, type: str, now: dt.datetime | None = None) -> None:
    """Announce an infusion scheduled or cancelled, with its batch's readiness after the change."""
    now = now or timezone.now()
    dose = Dose.objects.get(pk=infusion.dose_id)
    batch = _batch(dose.batch_id)

    def data() -> dict[str, Any]:
        return {
            **batch_data(batch, now),
            "infusion": {
                "id": str(infusion.pk),
                "dose_id": f"{batch.din}-{dose.number}",
                "status": infusion.status,
                "scheduled_for": _iso(infusion.scheduled_for),
                "route": infusion.route,
                "cancel_reason": infusion.cancel_reason,
            },
        }

    emit(
        clinic_id=batch.therapy.patient.clinic_id, type=type, key=f"{type}:{infusion.pk}", data=data, now=now
    )


def doses_expiring(*, batch_ids: Iterable[int], flag_ids: Iterable[int], now: dt.datetime) -> None:
    """Announce the doses of each batch that expire soon with no infusion scheduled (a new flag each).

    Two queries find the batches whose clinic has an endpoint wanting the event;
    only those are read further, so a sweep that opens a thousand of these flags
    for clinics without webhooks stays a fixed number of queries.
    """
    pairs = list(zip(batch_ids, flag_ids, strict=True))
    clinic_of = dict(
        Batch.objects.filter(pk__in=[b for b, _ in pairs]).values_list("pk", "therapy__patient__clinic_id")
    )
    wanted = set(
        WebhookEndpoint.objects.filter(
            clinic_id__in=set(clinic_of.values()), active=True, events__contains=[E.DOSE_EXPIRING]
        ).values_list("clinic_id", flat=True)
    )
    for batch_id, flag_id in pairs:
        if clinic_of.get(batch_id) not in wanted:
            continue
        batch = _batch(batch_id)
        doses = Dose.objects.filter(batch=batch, status=Dose.Status.AVAILABLE, expires_at__gt=now).exclude(
            infusions__status=Infusion.Status.SCHEDULED
        )

        def data(batch: Batch = batch, doses: Any = doses) -> dict[str, Any]:
            expiring = [
                {"dose_id": f"{batch.din}-{d.number}", "expires_at": _iso(d.expires_at)}
                for d in doses.order_by("number")
            ]
            return {**batch_data(batch, now), "expiring_doses": expiring}

        emit(
            clinic_id=batch.therapy.patient.clinic_id,
            type=E.DOSE_EXPIRING,
            key=f"{E.DOSE_EXPIRING}:{batch.din}:flag:{flag_id}",
            data=data,
            now=now,
        )


def _moved(previous: ProjectionDates | None, current: ProjectionDates) -> bool:
    """True when the ready date or an end of its interval moved by a day or more (or appeared)."""
    if previous is None:
        return any(current)
    for old, new in zip(previous, current, strict=True):
        if (old is None) != (new is None):
            return True
        if old is not None and new is not None and abs((new - old).days) >= 1:
            return True
    return False


def _dates(value: ProjectionDates | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "projected_ready_on": _iso(value.ready_on),
        "projected_ready_between": [_iso(value.low), _iso(value.high)],
    }


def on_projection_changed(
    sender: Any,
    *,
    batch: Batch,
    previous: ProjectionDates | None,
    current: ProjectionDates,
    revision: Any = None,
    **kwargs: Any,
) -> None:
    """Receiver of ``batches.signals.projection_changed``: announce a move of a day or more."""
    if not _moved(previous, current):
        return
    now = timezone.now()
    fresh = _batch(batch.pk)
    stamp = revision if revision is not None else "/".join(str(d) for d in current)
    emit(
        clinic_id=fresh.therapy.patient.clinic_id,
        type=E.BATCH_PROJECTION_CHANGED,
        key=f"{E.BATCH_PROJECTION_CHANGED}:{fresh.din}:{stamp}",
        data=lambda: {
            **batch_data(fresh, now),
            "projection": _dates(current),
            "previous_projection": _dates(previous),
        },
        now=now,
    )

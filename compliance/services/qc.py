"""QC results: within specification is computed; out of specification opens a deviation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from batches.domain import BatchStatus
from batches.models import Batch
from compliance.domain import qc as rules
from compliance.models import Deviation, QcResult, User
from compliance.services.deviations import deviation_open
from core.audit import audit_context
from core.clock import in_future
from core.errors import Blocker, DomainError
from core.i18n import N_, term
from core.roles import Role, require_role

TESTABLE = {
    BatchStatus.IN_CULTURE,
    BatchStatus.HARVESTED,
    BatchStatus.PENDING_RELEASE,
    BatchStatus.QUARANTINED,
}


def qc_result_record(
    *,
    batch: Batch,
    test: str,
    actor: User,
    value: Decimal | float | None = None,
    result: str = "",
    tested_at: dt.datetime | None = None,
    method: str = "",
    kit_lot: str = "",
) -> QcResult:
    """Record a QC result against the batch protocol's specification.

    A second result for a test is a retest: allowed only when the previous
    result was out of specification and its deviation has an investigation.
    Both results stay; the latest counts. Out of specification opens a
    deviation (critical for sterility, mycoplasma, endotoxin; else major).
    """
    require_role(actor, Role.QC, action=N_("record QC results"))
    value = Decimal(str(value)) if value is not None else None
    tested_at = tested_at or timezone.now()
    with transaction.atomic(), audit_context(actor=actor, reason=f"QC result: {test}"):
        locked = (
            Batch.objects.select_for_update(no_key=True, of=("self",))
            .select_related("therapy__protocol", "therapy__patient")
            .get(pk=batch.pk)
        )
        spec = rules.find_spec(locked.therapy.protocol.qc_specifications, test)
        previous = QcResult.objects.filter(batch=locked, test=test).order_by("-tested_at", "-id").first()
        blockers = rules.check_input(test, value, result, spec)
        blockers += _state_blockers(locked, spec, previous, tested_at)
        if blockers:
            raise DomainError(blockers)
        assert spec is not None
        evaluation = rules.evaluate(spec, value, result, _dose_facts(locked))
        qc = QcResult.objects.create(
            batch=locked, test=test, value=value, result=result, unit=spec.get("unit", ""),
            within_spec=evaluation.within_spec, specification=evaluation.specification, method=method,
            kit_lot=kit_lot, tested_at=tested_at, tested_by=actor, retest_of=previous,
        )  # fmt: skip
        if not evaluation.within_spec:
            severity = (
                Deviation.Severity.CRITICAL if test in rules.CRITICAL_TESTS else Deviation.Severity.MAJOR
            )
            deviation_open(batch=locked, severity=severity, actor=actor, qc_result=qc,
                           description=f"Out of specification: {test} = {evaluation.detail}.")  # fmt: skip
    return qc


def _state_blockers(
    batch: Batch, spec: dict[str, Any] | None, previous: QcResult | None, tested_at: dt.datetime
) -> list[Blocker]:
    blockers = []
    if BatchStatus(batch.status) not in TESTABLE:
        blockers.append(
            Blocker(
                "wrong_state",
                N_("QC results are not recorded on a batch that is %(status)s."),
                {"status": term(BatchStatus(batch.status).words)},
            )
        )
    if in_future(tested_at, timezone.now()):
        blockers.append(Blocker("future_time", N_("The test time lies in the future.")))
    if spec is not None and rules.needs_formulation(spec) and not _formulation(batch):
        blockers.append(
            Blocker(
                "needs_formulation",
                N_("The %(test)s limit depends on the dose: formulate first."),
                {"test": spec["test"]},
            )
        )
    if previous is not None:
        if previous.within_spec:
            blockers.append(
                Blocker(
                    "already_recorded",
                    N_("A %(test)s result within specification is already recorded."),
                    {"test": previous.test},
                )
            )
        elif not _investigated(previous):
            blockers.append(
                Blocker(
                    "investigation_required",
                    N_("A retest needs the investigation of the failed result recorded first."),
                )
            )
    return blockers


def _investigated(result: QcResult) -> bool:
    deviation = Deviation.objects.filter(qc_result=result).first()
    return deviation is not None and bool(deviation.investigation)


def _formulation(batch: Batch) -> Any:
    return batch.steps.filter(kind="formulation", amended_by__isnull=True).order_by("-performed_at").first()


def _dose_facts(batch: Batch) -> rules.DoseFacts:
    step, protocol = _formulation(batch), batch.therapy.protocol
    return rules.DoseFacts(
        doses=step.doses if step else None,
        cells_per_dose=step.cells_per_dose if step else None,
        volume_ml_per_dose=step.volume_ml_per_dose if step else None,
        weight_kg=batch.therapy.patient.weight_kg,
        min_cells_per_dose=protocol.min_cells_per_dose,
        max_cells_per_dose=protocol.max_cells_per_dose,
        max_cells_per_kg=protocol.max_cells_per_kg,
    )

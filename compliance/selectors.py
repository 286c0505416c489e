"""Reads of compliance state shared by services, pages and endpoints.

QC status, blocking deviations, the release checklist with its evidence and
signatures, the release blockers, and the lists the pages show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from batches.domain import BatchStatus
from batches.models import Batch, CultureStep
from compliance.domain.blockers import deviation_open, qc_failed, qc_pending
from compliance.models import (
    AdministrationAttempt,
    ChecklistItem,
    ChecklistTemplate,
    Deviation,
    QcResult,
    ReleaseDecision,
    Signature,
)
from compliance.records import changed_sections, record_content, release_content
from compliance.services.signatures import signature_is_valid
from core.errors import Blocker
from core.i18n import N_, nested, render, render_english, term

BLOCKING_SEVERITIES = (Deviation.Severity.MAJOR, Deviation.Severity.CRITICAL)


@dataclass(frozen=True)
class QcStatus:
    latest: dict[str, QcResult]  # test -> its latest result (a retest replaces the result it retests)
    pending: tuple[str, ...]
    failed: tuple[str, ...]

    @property
    def complete_and_within_spec(self) -> bool:
        return not self.pending and not self.failed


def qc_status(batch: Batch) -> QcStatus:
    """Required tests without a result, and latest results out of specification (one query)."""
    required = [spec["test"] for spec in batch.therapy.protocol.qc_specifications]
    latest: dict[str, QcResult] = {}
    for result in QcResult.objects.filter(batch=batch).order_by("tested_at", "id"):
        latest[result.test] = result
    pending = tuple(test for test in required if test not in latest)
    failed = tuple(test for test in required if test in latest and not latest[test].within_spec)
    return QcStatus(latest, pending, failed)


def blocking_deviations(batch: Batch) -> list[Deviation]:
    """Open major or critical deviations, and open minor ones without a signed impact assessment."""
    open_ = Deviation.objects.filter(batch=batch, status=Deviation.Status.OPEN)
    return [d for d in open_ if d.severity in BLOCKING_SEVERITIES or d.assessment_signature_id is None]


def checklist_template(batch: Batch) -> ChecklistTemplate:
    """The checklist version in force when the batch was created (a batch keeps it for good)."""
    return (
        ChecklistTemplate.objects.filter(effective_from__lte=batch.created_at)
        .order_by("-effective_from", "-version")
        .prefetch_related("items")
        .first()
    ) or ChecklistTemplate.objects.order_by("effective_from").prefetch_related("items").first()  # type: ignore[return-value]


@dataclass(frozen=True)
class ReleaseCheck:
    """Whether the release in force still holds, and if not, which record sections changed since."""

    valid: bool | None  # None: never released
    changed: tuple[str, ...] = ()


def release_signature_check(batch: Batch) -> ReleaseCheck:
    """The release in force against the record as it stands now (one query, then the record).

    The release in force is the latest decision when that is a release; a later
    rejection (first decision or re-review) leaves none, so nothing is left to re-sign.
    """
    decision = (
        ReleaseDecision.objects.filter(batch=batch)
        .select_related("signature")
        .order_by("-decided_at")
        .first()
    )
    if decision is None or decision.decision != ReleaseDecision.Decision.RELEASE:
        return ReleaseCheck(None)
    current = release_content(batch, decision.decision)
    if signature_is_valid(decision.signature, current):
        return ReleaseCheck(True)
    return ReleaseCheck(False, changed_sections(decision.signature.content, current))


def release_signature_valid(batch: Batch) -> bool | None:
    """None if never released; else whether the release signature still matches the record."""
    return release_signature_check(batch).valid


# --- Web UI ---------------------------------------------------------------------


def deviation_list(batch: Batch) -> list[Deviation]:
    """The batch's deviations, open first then newest, with the people and signatures shown (one query)."""
    return list(
        Deviation.objects.filter(batch=batch)
        .select_related("opened_by", "investigated_by", "assessment_signature", "closure_signature")
        .order_by("-status", "-opened_at")
    )


def administration_attempt_list(batch: Batch) -> list[AdministrationAttempt]:
    """Refused bedside scans of the batch's infusions, newest first, with who scanned and the dose (one query)."""
    return list(
        AdministrationAttempt.objects.filter(infusion__dose__batch=batch)
        .select_related("attempted_by", "infusion__dose__batch")
        .order_by("-attempted_at", "-id")
    )


def release_decision_latest(batch: Batch) -> ReleaseDecision | None:
    """The batch's most recent release or rejection, with its signature and signer (one query)."""
    return (
        ReleaseDecision.objects.filter(batch=batch)
        .select_related("signature__signer")
        .order_by("-decided_at")
        .first()
    )


def release_decision_history(batch: Batch) -> list[ReleaseDecision]:
    """Every release or rejection of the batch, newest first, with signature and signer (one query)."""
    return list(
        ReleaseDecision.objects.filter(batch=batch)
        .select_related("signature__signer")
        .order_by("-decided_at", "-id")
    )


def decision_signature_valid(batch: Batch, decision: ReleaseDecision) -> bool:
    """Whether this decision's signature still matches the record as it stands now."""
    return signature_is_valid(decision.signature, release_content(batch, decision.decision))


# --- The release checklist and the release blockers ------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """What the system checked itself for a checklist item: ok or not, and why (code-free words).

    ``template`` and ``params`` as for a ``Blocker``; ``detail`` renders them in the
    active language, ``english`` untranslated.
    """

    ok: bool
    template: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def detail(self) -> str:
        return render(self.template, self.params)

    @property
    def english(self) -> str:
        return render_english(self.template, self.params)

    def as_param(self) -> dict[str, Any]:
        return nested(self.template, self.params)


@dataclass
class ItemStatus:
    item: ChecklistItem
    evidence: Evidence | None
    signatures: list[tuple[Signature, bool]] = field(default_factory=list)  # (signature, still valid)
    complete: bool = False


@dataclass
class ChecklistStatus:
    template: ChecklistTemplate
    items: list[ItemStatus]

    @property
    def complete(self) -> bool:
        return all(item.complete for item in self.items)


def _scope(item: ChecklistItem) -> tuple[str, ...]:
    return tuple(item.scope.split(","))


def _record_id(batch: Batch, item: ChecklistItem) -> str:
    return f"{batch.din}:{item.code}"


# --- Evidence: the checks the system can make itself -------------------------------


def _batch_record(batch: Batch) -> Evidence:
    kinds = set(batch.steps.filter(amended_by__isnull=True).values_list("kind", flat=True))
    missing = [k for k in ("receipt", "seeding", "cell_count", "harvest", "formulation") if k not in kinds]
    if missing:
        return Evidence(False, N_("Missing steps: %(steps)s."), {"steps": ", ".join(missing)})
    return Evidence(True, N_("Every step is logged."))


def _custody(batch: Batch) -> Evidence:
    if not batch.custody_transfers.exists():
        return Evidence(False, N_("No custody transfer is recorded."))
    open_findings = list(batch.findings.filter(assessed_at__isnull=True).values_list("kind", flat=True))
    if open_findings:
        return Evidence(
            False, N_("Findings not assessed by QA: %(kinds)s."), {"kinds": ", ".join(open_findings)}
        )
    return Evidence(True, N_("Custody chain recorded; no open findings."))


def _qc(batch: Batch) -> Evidence:
    status = qc_status(batch)
    problems = [nested(N_("%(test)s missing"), {"test": t}) for t in status.pending] + [
        nested(N_("%(test)s out of specification"), {"test": t}) for t in status.failed
    ]
    if not problems:
        return Evidence(True, N_("Every required test is within specification."))
    # Only punctuation joins the translated parts, so the joining template needs no translation.
    template = "; ".join(f"%(p{i})s" for i in range(len(problems))) + "."
    return Evidence(False, template, {f"p{i}": problem for i, problem in enumerate(problems)})


def _deviations(batch: Batch) -> Evidence:
    blocking = blocking_deviations(batch)
    if blocking:
        return Evidence(
            False,
            N_("%(count)s deviation(s) open without closure or signed assessment."),
            {"count": len(blocking)},
        )
    return Evidence(True, N_("No open deviation blocks release."))


def _culture(batch: Batch) -> Evidence:
    steps = {
        s.kind: s
        for s in CultureStep.objects.filter(
            batch=batch, amended_by__isnull=True, kind__in=["seeding", "harvest"]
        )
    }
    if "seeding" not in steps or "harvest" not in steps:
        return Evidence(False, N_("The culture has not been seeded and harvested."))
    days = (steps["harvest"].performed_at - steps["seeding"].performed_at).days
    limit = batch.therapy.protocol.max_culture_days
    return Evidence(
        days <= limit,
        N_("Cultured %(days)s days (protocol maximum %(limit)s)."),
        {"days": days, "limit": limit},
    )


EVIDENCE = {
    "batch_record": _batch_record,
    "custody": _custody,
    "qc": _qc,
    "deviations": _deviations,
    "culture": _culture,
}


# --- Status and signing ------------------------------------------------------------------


def checklist_status(batch: Batch) -> ChecklistStatus:
    """Every item with its evidence, its signatures (and whether each still holds) and completeness."""
    template = checklist_template(batch)
    signatures = list(
        Signature.objects.filter(
            record_type="checklist_item", record_id__startswith=f"{batch.din}:", duplicate_of__isnull=True
        )
        .select_related("signer")
        .order_by("signed_at")
    )
    contents: dict[tuple[str, ...], Any] = {}
    items = []
    for item in template.items.all():
        scope = _scope(item)
        if scope not in contents:
            contents[scope] = record_content(batch, scope)
        evidence = EVIDENCE[item.evidence](batch) if item.evidence else None
        own = [
            (s, signature_is_valid(s, contents[scope]))
            for s in signatures
            if s.record_id == _record_id(batch, item)
        ]
        items.append(ItemStatus(item, evidence, own, _complete(item, evidence, own)))
    return ChecklistStatus(template, items)


def _complete(
    item: ChecklistItem, evidence: Evidence | None, signatures: list[tuple[Signature, bool]]
) -> bool:
    if evidence is not None and not evidence.ok:
        return False
    reviewers = {s.signer_id for s, valid in signatures if valid and s.meaning == "reviewed"}
    if not reviewers:
        return False
    if not item.requires_second_person:
        return True
    verifiers = {s.signer_id for s, valid in signatures if valid and s.meaning == "verified"}
    return any(reviewer != verifier for reviewer in reviewers for verifier in verifiers)


def release_blockers(batch: Batch) -> list[Blocker]:
    """Every reason the batch cannot be released now."""
    blockers = []
    if batch.status != BatchStatus.PENDING_RELEASE:
        blockers.append(
            Blocker(
                "wrong_state",
                N_("Only a batch pending release can be released; this one is %(status)s."),
                {"status": term(BatchStatus(batch.status).words)},
            )
        )
    checklist = checklist_status(batch)
    for entry in checklist.items:
        if not entry.complete:
            why = (
                entry.evidence.as_param()
                if entry.evidence and not entry.evidence.ok
                else term(N_("signatures missing or no longer valid"))
            )
            blockers.append(
                Blocker(
                    "checklist_incomplete",
                    N_("Checklist item '%(item)s': %(why)s"),
                    {"item": entry.item.code, "why": why},
                )
            )
    qc = qc_status(batch)
    blockers += [qc_pending(test) for test in qc.pending]
    blockers += [qc_failed(test) for test in qc.failed]
    blockers += [deviation_open(d.severity, d.description) for d in blocking_deviations(batch)]
    open_findings = batch.findings.filter(assessed_at__isnull=True).count()
    if open_findings:
        blockers.append(
            Blocker(
                "finding_open",
                N_("%(count)s custody or identity finding(s) not assessed by QA."),
                {"count": open_findings},
            )
        )
    return blockers


__all__ = [
    "ChecklistStatus",
    "Evidence",
    "ItemStatus",
    "QcStatus",
    "ReleaseCheck",
    "administration_attempt_list",
    "blocking_deviations",
    "checklist_status",
    "checklist_template",
    "decision_signature_valid",
    "deviation_list",
    "qc_status",
    "release_blockers",
    "release_decision_history",
    "release_decision_latest",
    "release_signature_check",
    "release_signature_valid",
]

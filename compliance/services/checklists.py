"""The release checklist of a batch: evidence, signatures and completeness."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from batches.models import Batch, CultureStep
from compliance.models import ChecklistItem, ChecklistTemplate, Signature, User
from compliance.records import record_content
from compliance.selectors import blocking_deviations, checklist_template, qc_status
from compliance.services.signatures import (
    already_signed,
    signature_create,
    signature_is_valid,
    signer_authenticate,
)
from core.audit import audit_context
from core.errors import Blocker, DomainError, NotPermitted
from core.roles import Role, has_role


@dataclass(frozen=True)
class Evidence:
    ok: bool
    detail: str


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
    return Evidence(
        not missing, f"Missing steps: {', '.join(missing)}." if missing else "Every step is logged."
    )


def _custody(batch: Batch) -> Evidence:
    if not batch.custody_transfers.exists():
        return Evidence(False, "No custody transfer is recorded.")
    open_findings = list(batch.findings.filter(assessed_at__isnull=True).values_list("kind", flat=True))
    if open_findings:
        return Evidence(False, f"Findings not assessed by QA: {', '.join(open_findings)}.")
    return Evidence(True, "Custody chain recorded; no open findings.")


def _qc(batch: Batch) -> Evidence:
    status = qc_status(batch)
    problems = [f"{t} missing" for t in status.pending] + [f"{t} out of specification" for t in status.failed]
    return Evidence(
        not problems,
        "; ".join(problems) + "." if problems else "Every required test is within specification.",
    )


def _deviations(batch: Batch) -> Evidence:
    blocking = blocking_deviations(batch)
    if blocking:
        return Evidence(False, f"{len(blocking)} deviation(s) open without closure or signed assessment.")
    return Evidence(True, "No open deviation blocks release.")


def _culture(batch: Batch) -> Evidence:
    steps = {
        s.kind: s
        for s in CultureStep.objects.filter(
            batch=batch, amended_by__isnull=True, kind__in=["seeding", "harvest"]
        )
    }
    if "seeding" not in steps or "harvest" not in steps:
        return Evidence(False, "The culture has not been seeded and harvested.")
    days = (steps["harvest"].performed_at - steps["seeding"].performed_at).days
    limit = batch.therapy.protocol.max_culture_days
    return Evidence(days <= limit, f"Cultured {days} days (protocol maximum {limit}).")


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


def checklist_item_sign(
    *, batch: Batch, item_code: str, actor: User, password: str, meaning: str
) -> Signature:
    """Sign one checklist item as ``reviewed`` (its role) or ``verified`` (a second person).

    Refused while the item's evidence fails, for a signer without the role,
    for a verifier who reviewed the item or performed a step it covers, and
    for a signature already given and still valid.

    The rules are checked once before the password is taken (a refusal then
    costs no attempt) and decided again under the batch lock, on what is
    committed by then: of concurrent identical signings exactly one succeeds,
    the others get ``already_signed``.
    """
    _signable_entry(batch, item_code, actor, meaning)
    signer_authenticate(user=actor, password=password)
    with transaction.atomic(), audit_context(actor=actor, reason=f"checklist item {item_code} {meaning}"):
        locked = Batch.objects.select_for_update(no_key=True).get(pk=batch.pk)
        entry = _signable_entry(locked, item_code, actor, meaning)
        return signature_create(
            signer=actor, meaning=meaning, record_type="checklist_item", record_id=_record_id(locked, entry.item),
            content=record_content(locked, _scope(entry.item)),
        )  # fmt: skip


def _signable_entry(batch: Batch, item_code: str, actor: User, meaning: str) -> ItemStatus:
    status = checklist_status(batch)
    entry = next((i for i in status.items if i.item.code == item_code), None)
    if entry is None:
        raise DomainError([Blocker("unknown_item", f"No checklist item '{item_code}' in {status.template}.")])
    _check_signer(batch, entry, actor, meaning)
    return entry


def _check_signer(batch: Batch, entry: ItemStatus, actor: User, meaning: str) -> None:
    item = entry.item
    if meaning not in ("reviewed", "verified"):
        raise DomainError(
            [Blocker("invalid_meaning", "A checklist signature means 'reviewed' or 'verified'.")]
        )
    allowed = (Role(item.role),) if meaning == "reviewed" else (Role(item.role), Role.QA)
    if not has_role(actor, *allowed):
        raise NotPermitted(
            f"Item '{item.code}' is {meaning} by {' or '.join(r.value for r in allowed)} staff.", code="role"
        )
    blockers = []
    if entry.evidence is not None and not entry.evidence.ok:
        blockers.append(Blocker("evidence_failing", entry.evidence.detail))
    valid = [(s, ok) for s, ok in entry.signatures if ok]
    if any(s.signer_id == actor.pk and s.meaning == meaning for s, _ in valid):
        blockers.append(already_signed(meaning))
    if meaning == "verified":
        if not item.requires_second_person:
            blockers.append(Blocker("no_verification", "This item needs no second-person verification."))
        if not any(s.meaning == "reviewed" for s, _ in valid):
            blockers.append(Blocker("not_reviewed", "The item must be reviewed before it is verified."))
        if any(s.meaning == "reviewed" and s.signer_id == actor.pk for s, _ in valid):
            raise NotPermitted(
                "Segregation of duties: you reviewed this item, so you cannot verify it.", code="segregation"
            )
        if "steps" in _scope(item) and CultureStep.objects.filter(batch=batch, performed_by=actor).exists():
            raise NotPermitted(
                "Segregation of duties: you performed steps of this batch, so you cannot verify them.",
                code="segregation",
            )
    if blockers:
        raise DomainError(blockers)

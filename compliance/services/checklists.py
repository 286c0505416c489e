"""The release checklist of a batch: evidence, signatures and completeness."""

from __future__ import annotations

from django.db import transaction

from batches.models import Batch, CultureStep
from compliance.models import Signature, User
from compliance.records import record_content
from compliance.selectors import ItemStatus, _record_id, _scope, checklist_status
from compliance.services.signatures import (
    already_signed,
    signature_create,
    signer_authenticate,
)
from core.audit import audit_context
from core.errors import Blocker, DomainError, NotPermitted
from core.i18n import N_, term
from core.roles import Role, has_role


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
        raise DomainError(
            [
                Blocker(
                    "unknown_item",
                    N_("No checklist item '%(item)s' in %(template)s."),
                    {"item": item_code, "template": str(status.template)},
                )
            ]
        )
    _check_signer(batch, entry, actor, meaning)
    return entry


def _check_signer(batch: Batch, entry: ItemStatus, actor: User, meaning: str) -> None:
    item = entry.item
    if meaning not in ("reviewed", "verified"):
        raise DomainError(
            [Blocker("invalid_meaning", N_("A checklist signature means 'reviewed' or 'verified'."))]
        )
    allowed = (Role(item.role),) if meaning == "reviewed" else (Role(item.role), Role.QA)
    if not has_role(actor, *allowed):
        template = (
            N_("Item '%(item)s' is reviewed by %(roles)s staff.")
            if meaning == "reviewed"
            else N_("Item '%(item)s' is verified by %(roles)s staff.")
        )
        raise NotPermitted(
            template,
            code="role",
            params={
                "item": item.code,
                "roles": [term(r.value.upper() if r == Role.QA else r.value) for r in allowed],
            },
        )
    blockers = []
    if entry.evidence is not None and not entry.evidence.ok:
        blockers.append(Blocker("evidence_failing", entry.evidence.template, entry.evidence.params))
    valid = [(s, ok) for s, ok in entry.signatures if ok]
    if any(s.signer_id == actor.pk and s.meaning == meaning for s, _ in valid):
        blockers.append(already_signed(meaning))
    if meaning == "verified":
        if not item.requires_second_person:
            blockers.append(Blocker("no_verification", N_("This item needs no second-person verification.")))
        if not any(s.meaning == "reviewed" for s, _ in valid):
            blockers.append(Blocker("not_reviewed", N_("The item must be reviewed before it is verified.")))
        if any(s.meaning == "reviewed" and s.signer_id == actor.pk for s, _ in valid):
            raise NotPermitted(
                N_("Segregation of duties: you reviewed this item, so you cannot verify it."),
                code="segregation",
            )
        if "steps" in _scope(item) and CultureStep.objects.filter(batch=batch, performed_by=actor).exists():
            raise NotPermitted(
                N_("Segregation of duties: you performed steps of this batch, so you cannot verify them."),
                code="segregation",
            )
    if blockers:
        raise DomainError(blockers)

"""The release checklist of a batch: evidence, signatures and completeness."""

from __future__ import annotations

from collections.abc import Sequence

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
from core.i18n import N_, nested, term
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


def checklist_items_sign(
    *, batch: Batch, selections: Sequence[tuple[str, str]], actor: User, password: str
) -> list[Signature]:
    """Sign several checklist items in one act: one password entry, one signature record per item.

    21 CFR 11.200(a)(1)(i) lets a signer give a series of signings within one
    continuous session with the password entered once; each item still gets its
    own ``Signature`` (its manifestation: printed name, time, meaning, content).
    ``selections`` are ``(item_code, meaning)`` pairs.

    All or nothing. Every selection is checked before the password is taken (a
    refusal then costs no attempt and names every reason), the password is
    checked once (wrong password or signing lockout: ``SignatureRefused``,
    nothing signed), then under the batch lock every selection is decided again
    on what is committed by then and all signatures are written in one
    transaction, or none.
    """
    pairs = list(dict.fromkeys((code, meaning) for code, meaning in selections))
    if not pairs:
        raise DomainError([Blocker("nothing_selected", N_("Select at least one item to sign."))])
    _signable_entries(batch, pairs, actor)
    signer_authenticate(user=actor, password=password)
    codes = ", ".join(f"{code} {meaning}" for code, meaning in pairs)
    with transaction.atomic(), audit_context(actor=actor, reason=f"checklist items signed: {codes}"):
        locked = Batch.objects.select_for_update(no_key=True).get(pk=batch.pk)
        entries = _signable_entries(locked, pairs, actor)
        contents: dict[tuple[str, ...], object] = {}
        signatures = []
        for (_code, meaning), entry in zip(pairs, entries, strict=True):
            scope = _scope(entry.item)
            if scope not in contents:
                contents[scope] = record_content(locked, scope)
            signatures.append(
                signature_create(
                    signer=actor,
                    meaning=meaning,
                    record_type="checklist_item",
                    record_id=_record_id(locked, entry.item),
                    content=contents[scope],
                )
            )
        return signatures


def _signable_entries(batch: Batch, pairs: list[tuple[str, str]], actor: User) -> list[ItemStatus]:
    """The entries of ``pairs`` when every one may be signed now; else every reason (DomainError)."""
    status = checklist_status(batch)
    by_code = {entry.item.code: entry for entry in status.items}
    entries, blockers = [], []
    for code, meaning in pairs:
        entry = by_code.get(code)
        refusal = (
            signing_refusal(batch, entry, actor, meaning)
            if entry is not None
            else Blocker("unknown_item", N_("No checklist item '%(code)s'."), {"code": code})
        )
        if refusal is not None:
            blockers.append(
                Blocker(
                    refusal.code,
                    N_("Item %(item)s: %(reason)s"),
                    {"item": code, "reason": nested(refusal.detail, refusal.params)},
                )
            )
        entries.append(entry)
    if blockers:
        raise DomainError(blockers)
    return entries  # type: ignore[return-value]


def signing_refusal(batch: Batch, entry: ItemStatus, actor: User, meaning: str) -> Blocker | None:
    """Why ``actor`` may not sign ``entry`` as ``meaning`` now (the first reason), or None.

    The same rules as the signing services, without the password: the checklist
    page uses it to offer a checkbox only where a signature would be accepted,
    and to show the reason where it would not.
    """
    try:
        _check_signer(batch, entry, actor, meaning)
    except DomainError as error:
        return error.blockers[0]
    except NotPermitted as error:
        return Blocker(error.code, error.detail, error.params)
    return None


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

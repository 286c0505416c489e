"""Scans in storage: a unit label or a position label, matched to what the action expects."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from core import scan
from core.audit import audit_context
from core.errors import Blocker, DomainError
from core.i18n import N_
from storage.models import DoseUnit, Position, RefusedScan


def unit_code(read: scan.Scan) -> str:
    return f"{read.din}-{read.dose_number}-{read.unit_suffix}"


def unit_scan_verify(*, unit: DoseUnit, scanned: str, action: str, actor: Any) -> scan.Scan:
    """The unit label read with its check character, or a refusal (kept as a ``RefusedScan``)."""
    try:
        read = scan.parse_unit(scanned, require_check=True)
    except scan.ScanError as error:
        _refuse(action, unit.code, scanned, error.message, actor)
    if unit_code(read) != unit.code:
        _refuse(
            action,
            unit.code,
            scanned,
            f"Scanned unit {unit_code(read)} is not unit {unit.code}: wrong item.",
            actor,
        )
    return read


def unit_from_scan(
    *, scanned: str, action: str, actor: Any, dose_id: str | None = None
) -> tuple[DoseUnit, scan.Scan]:
    """The unit a label names (of dose ``dose_id`` when given), or a refusal."""
    try:
        read = scan.parse_unit(scanned, require_check=True)
    except scan.ScanError as error:
        _refuse(action, dose_id or "", scanned, error.message, actor)
    code = unit_code(read)
    if dose_id is not None and code.rsplit("-", 1)[0] != dose_id:
        _refuse(
            action,
            dose_id,
            scanned,
            f"Scanned unit {code} is not a unit of dose {dose_id}: wrong item.",
            actor,
        )
    unit = DoseUnit.objects.filter(code=code).first()
    if unit is None:
        raise DomainError(
            [Blocker("unknown_unit", N_("No frozen unit %(code)s is recorded."), {"code": code})]
        )
    return unit, read


def position_from_scan(
    *, scanned: str, action: str, actor: Any, expected: Position | None = None
) -> Position:
    """The position a label names (the one expected, when given), or a refusal."""
    text = scanned.strip().upper() if isinstance(scanned, str) else ""
    if not text or len(text) > 40 or not (text.isascii() and text.isprintable()):
        raise DomainError(
            [Blocker("unknown_position", N_("'%(code)s' is not a position label."), {"code": text[:40]})]
        )
    if expected is not None and text != expected.code:
        _refuse(
            action,
            expected.code,
            text,
            f"Scanned position {text} is not {expected.code}: wrong position.",
            actor,
        )
    position = Position.objects.select_related("storage_unit", "box").filter(code=text).first()
    if position is None:
        raise DomainError(
            [Blocker("unknown_position", N_("No position %(code)s is recorded."), {"code": text})]
        )
    return position


def _refuse(action: str, expected: str, scanned: object, detail: str, actor: Any) -> None:
    shown = scanned if isinstance(scanned, str) else repr(scanned)
    # Its own transaction, committed before the refusal is raised: the attempt stays recorded.
    with transaction.atomic(), audit_context(actor=actor, reason=f"identity check failed at {action}"):
        RefusedScan.objects.create(
            action=action, expected=expected[:40], scanned=shown[:40], detail=detail, attempted_at=timezone.now(),
            attempted_by=actor if getattr(actor, "pk", None) else None,
        )  # fmt: skip
    raise DomainError([Blocker("identity_mismatch", N_("%(detail)s"), {"detail": detail})])

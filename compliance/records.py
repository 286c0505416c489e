"""The canonical content of a batch record, by section: what signatures are bound to.

Only facts that a later change must invalidate are included; statuses that
release itself changes (batch and dose status, expiry) are not.
"""

from __future__ import annotations

import json
from typing import Any

from batches.models import Batch, CultureStep, CustodyTransfer, Dose, Finding
from compliance.domain.signatures import canonical
from compliance.models import Deviation, QcResult

SECTIONS = ("steps", "custody", "findings", "qc", "deviations", "doses")
_STEP_FIELDS = (
    "id", "kind", "performed_at", "performed_by_id", "scanned_identifier", "equipment", "medium_lot",
    "serum_collection_id", "seeded_cells", "viable_cells", "viability_pct", "confluence_pct", "temperature_c",
    "seal_intact", "doses", "cells_per_dose", "volume_ml_per_dose", "amends_id",
)  # fmt: skip


def _steps(batch: Batch) -> list[dict[str, Any]]:
    return list(CultureStep.objects.filter(batch=batch).order_by("id").values(*_STEP_FIELDS))


def _custody(batch: Batch) -> list[dict[str, Any]]:
    return list(
        batch.custody_transfers.order_by("sequence").values(
            "sequence", "from_location_id", "to_location_id", "temperature_c", "seal_intact", "performed_at"
        )
    )


def _findings(batch: Batch) -> list[dict[str, Any]]:
    return list(batch.findings.order_by("id").values("id", "kind", "detail", "assessed_at", "assessment"))


def _qc(batch: Batch) -> list[dict[str, Any]]:
    return list(
        batch.qc_results.order_by("id").values("id", "test", "value", "result", "within_spec", "retest_of_id")
    )


def _deviations(batch: Batch) -> list[dict[str, Any]]:
    return list(
        batch.deviations.order_by("opened_at", "id").values(
            "id",
            "severity",
            "status",
            "description",
            "investigation",
            "impact_assessment",
            "capa",
            "closed_at",
        )
    )


def _doses(batch: Batch) -> list[dict[str, Any]]:
    return list(batch.doses.order_by("number").values("number", "cells", "volume_ml"))


_READERS = {
    "steps": _steps,
    "custody": _custody,
    "findings": _findings,
    "qc": _qc,
    "deviations": _deviations,
    "doses": _doses,
}


def record_content(batch: Batch, sections: tuple[str, ...] = SECTIONS) -> dict[str, Any]:
    """The batch's record restricted to ``sections`` (one query per section)."""
    return {"din": batch.din, **{name: _READERS[name](batch) for name in sections}}


# The same sections for many batches: each reader's query with ``batch_id IN`` and the
# batch first in the order, so every batch's rows come in the order its own reader gives.
_MANY: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
    "steps": (CultureStep, _STEP_FIELDS, ("id",)),
    "custody": (
        CustodyTransfer,
        ("sequence", "from_location_id", "to_location_id", "temperature_c", "seal_intact", "performed_at"),
        ("sequence",),
    ),
    "findings": (Finding, ("id", "kind", "detail", "assessed_at", "assessment"), ("id",)),
    "qc": (QcResult, ("id", "test", "value", "result", "within_spec", "retest_of_id"), ("id",)),
    "deviations": (
        Deviation,
        (
            "id",
            "severity",
            "status",
            "description",
            "investigation",
            "impact_assessment",
            "capa",
            "closed_at",
        ),
        ("opened_at", "id"),
    ),
    "doses": (Dose, ("number", "cells", "volume_ml"), ("number",)),
}


def record_contents(batches: list[Batch]) -> dict[int, dict[str, Any]]:
    """``record_content`` of many batches: one query per section whatever their number."""
    records: dict[int, dict[str, Any]] = {b.pk: {"din": b.din, **{n: [] for n in SECTIONS}} for b in batches}
    for name, (model, fields, order) in _MANY.items():
        rows = model.objects.filter(batch_id__in=list(records)).order_by("batch_id", *order)
        for row in rows.values("batch_id", *fields):
            records[row.pop("batch_id")][name].append(row)
    return records


def release_content(batch: Batch, decision: str) -> dict[str, Any]:
    """What a QA release or rejection signature is bound to: the decision and the whole record."""
    return {"decision": decision, "record": record_content(batch)}


def changed_sections(signed: Any, current: dict[str, Any]) -> tuple[str, ...]:
    """The sections of ``current`` (a ``release_content``) that differ from the ``signed`` content.

    ``signed`` is a signature's stored content (already canonical JSON), so the
    current content goes through the same canonical form before comparing.
    """
    before = signed.get("record", {}) if isinstance(signed, dict) else {}
    after = json.loads(canonical(current))["record"]
    return tuple(name for name in SECTIONS if before.get(name) != after.get(name))

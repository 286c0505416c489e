"""The canonical content of a batch record, by section: what signatures are bound to.

Only facts that a later change must invalidate are included; statuses that
release itself changes (batch and dose status, expiry) are not.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Q

from batches.models import Batch, CultureStep, CustodyTransfer, Dose, Finding
from compliance.domain.signatures import canonical
from compliance.models import Deviation, QcResult

SECTIONS = ("steps", "custody", "findings", "qc", "deviations", "doses")
_STEP_FIELDS = (
    "id", "kind", "performed_at", "performed_by_id", "scanned_identifier", "equipment", "medium_lot",
    "serum_collection_id", "seeded_cells", "viable_cells", "viability_pct", "confluence_pct", "temperature_c",
    "seal_intact", "doses", "cells_per_dose", "volume_ml_per_dose", "amends_id",
)  # fmt: skip


# Each section: the model, the fields that are signed, and their order. One table for the
# per-batch and the many-batch readers, so both produce the same signed content.
_SECTION_READS: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
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


# Moves of frozen units (storage: store, move, removal, shipment) are custody too, but they are
# distribution, not manufacture: a release must survive them, so they are not signed content.
_SECTION_EXCLUDE = {"custody": Q(unit_custody__isnull=False)}


def _section(batch: Batch, name: str) -> list[dict[str, Any]]:
    model, fields, order = _SECTION_READS[name]
    rows = model.objects.filter(batch=batch).exclude(_SECTION_EXCLUDE.get(name, Q()))
    return list(rows.order_by(*order).values(*fields))


def record_content(batch: Batch, sections: tuple[str, ...] = SECTIONS) -> dict[str, Any]:
    """The batch's record restricted to ``sections`` (one query per section)."""
    return {"din": batch.din, **{name: _section(batch, name) for name in sections}}


def record_contents(batches: list[Batch]) -> dict[int, dict[str, Any]]:
    """``record_content`` of many batches: one query per section whatever their number."""
    records: dict[int, dict[str, Any]] = {b.pk: {"din": b.din, **{n: [] for n in SECTIONS}} for b in batches}
    for name, (model, fields, order) in _SECTION_READS.items():
        rows = model.objects.filter(batch_id__in=list(records)).exclude(_SECTION_EXCLUDE.get(name, Q()))
        rows = rows.order_by("batch_id", *order)
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

"""The reference GCTP-style release checklist, installed after migrate.

Each item names the role that signs, whether a second person verifies, the
system check that supplies its evidence (if any) and the sections of the
batch record a signature on it covers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from core.audit import audit_context

REFERENCE_TEMPLATE: dict[str, Any] = {
    "code": "GCTP-RELEASE",
    "version": 1,
    "name": "GCTP batch release checklist",
    "effective_from": dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    "items": [
        ("batch_record_complete", "Batch record complete: receipt, seeding, culture, harvest and formulation logged.",
         "technician", True, "batch_record", "steps,doses"),
        ("custody_identity", "Chain of custody unbroken and every identity check passed or assessed.",
         "qa", False, "custody", "custody,findings"),
        ("qc_within_spec", "QC complete and every result within specification.", "qc", True, "qc", "qc"),
        ("deviations_closed", "Deviations closed, or minor ones assessed for impact.", "qa", False, "deviations",
         "deviations"),
        ("materials_in_date", "Materials, reagents and equipment used were within date and released.",
         "technician", True, "", "steps"),
        ("labels_verified", "Dose labels printed and verified against the batch record.", "technician", True, "",
         "doses"),
        ("culture_within_limits", "Culture within the protocol's limits (duration, growth).", "qa", False, "culture",
         "steps"),
    ],
}  # fmt: skip


def ensure_reference_checklist() -> None:
    """Create the reference template version if missing. Never changes an existing one."""
    from compliance.models import ChecklistItem, ChecklistTemplate

    spec = REFERENCE_TEMPLATE
    if ChecklistTemplate.objects.filter(code=spec["code"], version=spec["version"]).exists():
        return
    with transaction.atomic(), audit_context(reason="reference checklist installed"):
        template = ChecklistTemplate.objects.create(
            code=spec["code"],
            version=spec["version"],
            name=spec["name"],
            effective_from=spec["effective_from"],
        )
        ChecklistItem.objects.bulk_create(
            ChecklistItem(template=template, position=n, code=code, text=text, role=role,
                          requires_second_person=second, evidence=evidence, scope=scope)
            for n, (code, text, role, second, evidence, scope) in enumerate(spec["items"], start=1)
        )  # fmt: skip


def ensure_reference_checklist_after_migrate(sender: Any, **kwargs: Any) -> None:
    ensure_reference_checklist()

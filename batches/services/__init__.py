"""Every write of the batches app. Atomic, rule-checked, audited.

* ``lifecycle``: clinics, patients, therapies, collections, status changes.
* ``identity``: scan verification (chain of identity).
* ``custody``: custody transfers (chain of custody).
* ``culture``: culture steps and their amendments.
* ``growth``: the stored growth projection (refreshed with every step; backfill).
"""

from batches.services.culture import step_amend, step_record
from batches.services.custody import custody_transfer
from batches.services.growth import (
    ProjectionChange,
    growth_projection_backfill,
    growth_projection_refresh,
    projection_changed,
)
from batches.services.identity import scan_verify
from batches.services.lifecycle import (
    batch_transition,
    clinic_create,
    collection_create,
    patient_create,
    therapy_create,
)

__all__ = [
    "ProjectionChange",
    "batch_transition",
    "clinic_create",
    "collection_create",
    "custody_transfer",
    "growth_projection_backfill",
    "growth_projection_refresh",
    "patient_create",
    "projection_changed",
    "scan_verify",
    "step_amend",
    "step_record",
    "therapy_create",
]

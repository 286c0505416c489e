"""The batches app's models: identity and lifecycle (core), lab records (culture)."""

from batches.models.core import (
    Batch,
    BatchFacts,
    Clinic,
    Collection,
    Dose,
    IdentifierSequence,
    Location,
    Patient,
    ProcessingProtocol,
    Therapy,
)
from batches.models.culture import CultureStep, CustodyTransfer, Finding

__all__ = [
    "Batch",
    "BatchFacts",
    "Clinic",
    "Collection",
    "CultureStep",
    "CustodyTransfer",
    "Dose",
    "Finding",
    "IdentifierSequence",
    "Location",
    "Patient",
    "ProcessingProtocol",
    "Therapy",
]
from batches.models.flags import Flag, Notification

__all__ += ["Flag", "Notification"]
from batches.models.growth import GrowthProjection  # noqa: E402

__all__ += ["GrowthProjection"]

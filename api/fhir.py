"""A dose as an HL7 FHIR R5 BiologicallyDerivedProduct (ISBT 128 mapping).

productCategory and productStatus are R5 Codings from the FHIR code systems
of their bindings; the DIN is the ``biologicalSourceEvent`` with the ISBT 128
identifier system, the dose number the ``division``.
"""

from __future__ import annotations

from typing import Any

from batches.models import Dose
from storage.selectors import dose_storage_temperature

DIN_SYSTEM = "https://www.isbt128.org/uri/DonationIdentificationNumber"
CATEGORY_SYSTEM = "http://hl7.org/fhir/product-category"
STATUS_SYSTEM = "http://hl7.org/fhir/biologicallyderived-product-status"
CATEGORIES = {"organ", "tissue", "fluid", "cells", "biologicalAgent"}
STATUSES = {"available", "unavailable"}


def product_status(dose: Dose, ready: bool) -> str:
    """Available only while the one readiness function says the dose could be infused."""
    return "available" if ready else "unavailable"


def biologically_derived_product(dose: Dose, *, ready: bool) -> dict[str, Any]:
    """The FHIR resource for ``dose`` (its batch, therapy and protocol loaded)."""
    batch = dose.batch
    protocol = batch.therapy.protocol
    status = product_status(dose, ready)
    resource: dict[str, Any] = {
        "resourceType": "BiologicallyDerivedProduct",
        "id": dose.dose_id,
        "productCategory": {"system": CATEGORY_SYSTEM, "code": "cells", "display": "Cells"},
        "productCode": {
            "text": f"Autologous bone-marrow MSC, {protocol.get_route_display().lower()} ({protocol.code})"
        },
        "identifier": [{"system": DIN_SYSTEM, "value": batch.din}],
        "biologicalSourceEvent": {"system": DIN_SYSTEM, "value": batch.din},
        "division": str(dose.number),
        "productStatus": {"system": STATUS_SYSTEM, "code": status, "display": status.capitalize()},
        "collection": {"collectedDateTime": batch.collection.collected_at.isoformat()},
        "property": [
            {
                "type": {"text": "Viable cells in dose"},
                "valueQuantity": {"value": dose.cells, "unit": "cells"},
            },
            {
                "type": {"text": "Volume"},
                "valueQuantity": {
                    "value": float(dose.volume_ml),
                    "unit": "mL",
                    "system": "http://unitsofmeasure.org",
                    "code": "mL",
                },
            },
        ],
    }
    if dose.expires_at is not None:
        resource["expirationDate"] = dose.expires_at.isoformat()
    resource["property"] += storage_temperature(dose)
    return resource


def _celsius(value: Any) -> dict[str, Any]:
    return {"value": float(value), "unit": "°C", "system": "http://unitsofmeasure.org", "code": "Cel"}


def storage_temperature(dose: Dose) -> list[dict[str, Any]]:
    """R5 has no storage element: the storage range and the last reading of a frozen dose are properties."""
    kept = dose_storage_temperature(dose.pk)
    if kept is None:
        return []
    found = [{"type": {"text": f"Storage temperature ({kept.storage_unit})"},
              "valueRange": {"low": _celsius(kept.temp_min_c), "high": _celsius(kept.temp_max_c)}}]  # fmt: skip
    if kept.last_reading_c is not None:
        found.append({"type": {"text": f"Last storage temperature reading ({kept.last_reading_at.isoformat()})"},  # type: ignore[union-attr]
                      "valueQuantity": _celsius(kept.last_reading_c)})  # fmt: skip
    return found

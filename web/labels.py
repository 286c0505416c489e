"""Readable, translatable names for the codes the system stores (``viable_cell_count`` -> "Viable cell count").

Codes stay stable in the database and the API; people read these names. A code
missing here is shown humanised ("hla_dr" -> "Hla dr") and still looked up in the
catalogue, so a translator can add it without a code change. The ``label``
template filter (``web.templatetags.lims_format``) uses this table.
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

CODE_LABELS = {
    # batch status
    "awaiting_receipt": _("Awaiting receipt"),
    "received": _("Received"),
    "in_culture": _("In culture"),
    "harvested": _("Harvested"),
    "pending_release": _("Pending release"),
    "released": _("Released"),
    "quarantined": _("Quarantined"),
    "rejected": _("Rejected"),
    "infused": _("Infused"),
    "expired": _("Expired"),
    "discarded": _("Discarded"),
    # dose and infusion status
    "available": _("Available"),
    "unavailable": _("Unavailable"),
    "scheduled": _("Scheduled"),
    "cancelled": _("Cancelled"),
    "administered": _("Administered"),
    # QC tests
    "viability": _("Viability"),
    "viable_cell_count": _("Viable cell count"),
    "cd73": _("CD73"),
    "cd90": _("CD90"),
    "cd105": _("CD105"),
    "cd34": _("CD34"),
    "cd45": _("CD45"),
    "cd14": _("CD14"),
    "cd19": _("CD19"),
    "hla_dr": _("HLA-DR"),
    "sterility": _("Sterility"),
    "mycoplasma": _("Mycoplasma"),
    "endotoxin": _("Endotoxin"),
    "no_growth": _("No growth"),
    "negative": _("Negative"),
    "positive": _("Positive"),
    # culture steps
    "receipt": _("Receipt"),
    "seeding": _("Seeding"),
    "feeding": _("Feeding (media change)"),
    "passage": _("Passage"),
    "cell_count": _("Cell count"),
    "harvest": _("Harvest"),
    "formulation": _("Formulation"),
    # collections and routes
    "bone_marrow": _("Bone marrow"),
    "adipose": _("Adipose tissue"),
    "peripheral_blood": _("Peripheral blood (serum)"),
    "iv": _("Intravenous"),
    "intrathecal": _("Intrathecal"),
    # post-infusion observations
    "adverse_event": _("Adverse event"),
    "follow_up": _("Follow-up"),
    "mild": _("Mild"),
    "moderate": _("Moderate"),
    "severe": _("Severe"),
    # roles
    "technician": _("Technician"),
    "qc": _("QC"),
    "qa": _("QA"),
    "coordinator": _("Coordinator"),
    "admin": _("Administrator"),
}


def label(code: object) -> str:
    """The readable name of ``code`` in the active language; humanised when the table lacks it."""
    text = str(code or "")
    known = CODE_LABELS.get(text)
    if known is not None:
        return str(known)
    return gettext(text.replace("_", " ").capitalize()) if text else ""

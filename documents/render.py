"""The documents of a batch as bytes: batch record, certificate of analysis, label sheet, ZPL.

Each function reads through ``documents.selectors`` and renders one template;
``generated_by`` is the printed name of whoever asked (shown on every page).
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from batches.models import Batch
from documents import labels as label_rules
from documents import selectors
from documents.pdf import furniture, render_pdf


def identity_line(batch: Batch) -> str:
    """The batch identity every page header repeats: DIN with K, COI, patient code."""
    ident = selectors.identity(batch)
    return _("DIN %(din)s %(k)s · COI %(coi)s · patient %(patient)s") % {
        "din": ident["din"], "k": ident["check_character"], "coi": ident["coi"], "patient": ident["patient_code"],
    }  # fmt: skip


BATCH_RECORD = "documents/batch_record.html"


def batch_record_context(batch: Batch, *, generated_by: str) -> dict[str, Any]:
    """What the batch record template gets: the record and the page furniture (the bench times it too)."""
    context = selectors.batch_record(batch)
    context["page"] = furniture(
        title=_("Batch record"), identity_line=identity_line(batch), generated_by=generated_by
    )
    return context


def batch_record_pdf(batch: Batch, *, generated_by: str) -> bytes:
    return render_pdf(BATCH_RECORD, batch_record_context(batch, generated_by=generated_by))


def certificate_pdf(batch: Batch, *, generated_by: str) -> bytes:
    context = selectors.certificate_of_analysis(batch)
    context["page"] = furniture(
        title=_("Certificate of analysis"), identity_line=identity_line(batch), generated_by=generated_by
    )
    return render_pdf("documents/certificate.html", context)


def labels_pdf(batch: Batch, *, size: str, generated_by: str) -> bytes:
    context = label_rules.label_context(label_rules.batch_labels(batch), size)
    context["page"] = furniture(
        title=_("Labels %(size)s inch") % {"size": size},
        identity_line=identity_line(batch),
        generated_by=generated_by,
    )
    return render_pdf("documents/labels.html", context)


def labels_zpl(batch: Batch, *, size: str) -> str:
    with translation.override("en"):  # the printer's resident font has Latin glyphs only
        return label_rules.labels_zpl(label_rules.batch_labels(batch), size)

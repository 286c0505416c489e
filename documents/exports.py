"""CSV exports: the batch list (with the list's filters) and one batch's timeline.

A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage
return) would be read as a formula by a spreadsheet (CSV injection, OWASP):
such a cell is prefixed with an apostrophe. Scanned ISBT 128 data starts
with ``=``, so this is not hypothetical.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from batches.models import Batch
from core import isbt128
from documents import selectors

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """``value`` as CSV text that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv(header: list[str], rows: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def batch_list_csv(batches: Iterable[Batch]) -> str:
    """One row per batch; ``batches`` carry ``growth`` (``batches.selectors.with_growth``)."""
    header = [_("DIN"), _("Check character"), _("COI"), _("Patient code"), _("Clinic"), _("Protocol"),
              _("Status"), _("Culture day"), _("Projected ready"), _("Created")]  # fmt: skip
    rows = (
        [b.din, isbt128.check_character(b.din), b.therapy.coi, b.therapy.patient.code, b.therapy.patient.clinic.code,
         f"{b.therapy.protocol.code} v{b.therapy.protocol.version}", b.status,
         _none(b.growth.culture_day), _none(b.growth.projected_ready_on), selectors.local_time(b.created_at)]
        for b in batches
    )  # fmt: skip
    return _csv(header, rows)


def timeline_csv(batch: Batch) -> str:
    """The record's chronology: one row per step, custody transfer and finding, amendments spelled out."""
    header = [_("When"), _("Kind"), _("What"), _("Performed by"), _("Values"), _("Identity check"),
              _("Superseded"), _("Amendments")]  # fmt: skip
    rows = (
        [e.when, e.kind, e.title, e.performer, "; ".join(f"{k}: {v}" for k, v in e.values), e.identity,
         e.superseded_by,
         " | ".join(f"{a.label}: {a.old} -> {a.new} ({a.reason}; {a.by}, {a.at})" for a in e.amendments)]
        for e in selectors.chronology(batch)
    )  # fmt: skip
    return _csv(header, rows)


def _none(value: Any) -> str:
    return "" if value is None else str(value)

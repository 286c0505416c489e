"""What the batch record and the certificate of analysis say, read once and shaped for the templates.

The reads are the ones the pages and the API use (``batches.selectors``,
``compliance.selectors``); this module adds what paper needs: one time-ordered
list of every step, custody transfer and identity check with its performer,
and a visible amendment mark (old value, new value, reason, who, when) on
every value changed after its original entry (EU GMP Annex 11 section 8.2).
Query counts do not grow with the number of steps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from batches import selectors as lab
from batches.models import Batch, CultureStep
from compliance.models import QcResult, Signature
from compliance.selectors import (
    checklist_status,
    decision_signature_valid,
    deviation_list,
    release_decision_history,
)
from compliance.services.signatures import signature_is_valid
from core import isbt128
from documents.charts import batch_chart_svg
from documents.labels import qc_test_name
from storage.selectors import storage_history

# The values of a step, in the order the record prints them.
STEP_VALUES: tuple[tuple[str, Any], ...] = (
    ("temperature_c", gettext_lazy("temperature (°C)")),
    ("seal_intact", gettext_lazy("seal intact")),
    ("medium_lot", gettext_lazy("medium lot")),
    ("serum_collection", gettext_lazy("autologous serum")),
    ("passage_number", gettext_lazy("passage")),
    ("seeded_cells", gettext_lazy("cells seeded")),
    ("viable_cells", gettext_lazy("viable cells")),
    ("viability_pct", gettext_lazy("viability (%)")),
    ("confluence_pct", gettext_lazy("confluence (%)")),
    ("doses", gettext_lazy("doses")),
    ("cells_per_dose", gettext_lazy("cells per dose")),
    ("volume_ml_per_dose", gettext_lazy("volume per dose (mL)")),
    ("equipment", gettext_lazy("equipment")),
    ("notes", gettext_lazy("notes")),
)


def shown(value: Any) -> str:
    """A stored value as the record prints it: counts with separators, booleans in words."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, dt.datetime):
        return local_time(value)
    if hasattr(value, "din"):  # a serum collection
        return f"{value.din}{isbt128.check_character(value.din)}"
    return str(value)


def local_time(value: dt.datetime | None) -> str:
    """Date and time in the facility's zone, with the zone: ``2026-12-02 14:05 JST``."""
    if value is None:
        return "–"
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


def person(user: Any) -> str:
    return "" if user is None else (user.full_name or user.get_username())


@dataclass
class Amendment:
    """A value changed after its original entry: what it was, what it became, why, who, when."""

    label: str
    old: str
    new: str
    reason: str
    by: str
    at: str


@dataclass
class Entry:
    """One line of the record's chronology."""

    at: dt.datetime
    kind: str  # step | custody | finding
    title: str
    performer: str
    values: list[tuple[str, str]] = field(default_factory=list)
    identity: str = ""  # the identifier scanned, when the entry is an identity check
    identity_ok: bool = True
    amendments: list[Amendment] = field(default_factory=list)
    superseded_by: str = ""  # an amended step: when and by whom it was corrected
    recorded_at: dt.datetime | None = None

    @property
    def when(self) -> str:
        return local_time(self.at)

    @property
    def values_text(self) -> str:
        """The values on one line: one text box lays out far faster than a box per value."""
        return "; ".join(f"{label}: {value}" for label, value in self.values)


def _step_values(step: CultureStep) -> list[tuple[str, str]]:
    return [(str(label), shown(getattr(step, name))) for name, label in STEP_VALUES
            if getattr(step, name) not in (None, "")]  # fmt: skip


def _amendments(step: CultureStep) -> list[Amendment]:
    original = step.amends
    if original is None:
        return []
    changed = [(name, label) for name, label in STEP_VALUES if getattr(original, name) != getattr(step, name)]
    if original.performed_at != step.performed_at:
        changed.insert(0, ("performed_at", gettext_lazy("performed at")))
    return [
        Amendment(str(label), shown(getattr(original, name)), shown(getattr(step, name)),
                  step.amendment_reason, person(step.performed_by), local_time(step.recorded_at))
        for name, label in changed
    ] or [Amendment(_("(no value changed)"), "", "", step.amendment_reason, person(step.performed_by),
                    local_time(step.recorded_at))]  # fmt: skip


def _step_entry(step: CultureStep, amended_by: dict[int, CultureStep]) -> Entry:
    entry = Entry(step.performed_at, "step", _(step.get_kind_display()), person(step.performed_by),
                  _step_values(step), identity=step.scanned_identifier, amendments=_amendments(step),
                  recorded_at=step.recorded_at)  # fmt: skip
    correction = amended_by.get(step.pk)
    if correction is not None:
        entry.superseded_by = _("corrected on %(at)s by %(who)s") % {
            "at": local_time(correction.recorded_at), "who": person(correction.performed_by)
        }  # fmt: skip
    return entry


def _custody_entry(transfer: Any) -> Entry:
    values = [
        (_("from"), transfer.from_location.code if transfer.from_location else "–"),
        (_("to"), transfer.to_location.code),
        (_("temperature (°C)"), shown(transfer.temperature_c)),
        (_("seal intact"), shown(transfer.seal_intact)),
    ]
    return Entry(transfer.performed_at, "custody", _("Custody transfer #%(n)s") % {"n": transfer.sequence},
                 person(transfer.performed_by), values, identity=transfer.scanned_identifier,
                 recorded_at=transfer.recorded_at)  # fmt: skip


def _finding_entry(finding: Any) -> Entry:
    values = [(_("detail"), finding.detail)]
    if finding.assessed_at:
        values.append((_("QA assessment"), f"{finding.assessment} ({person(finding.assessed_by)}, "
                                          f"{local_time(finding.assessed_at)})"))  # fmt: skip
    else:
        values.append((_("QA assessment"), _("not yet assessed")))
    identity = finding.kind == "identity_mismatch"
    return Entry(finding.occurred_at, "finding", _(finding.get_kind_display()), person(finding.recorded_by),
                 values, identity=finding.scanned_identifier if identity else "", identity_ok=not identity)  # fmt: skip


def chronology(batch: Batch) -> list[Entry]:
    """Every step (corrected ones too, marked), custody transfer and finding, in time order."""
    timeline = lab.batch_timeline(batch)
    steps = [e.record for e in timeline if e.kind == "step"]
    amended_by = {s.amends_id: s for s in steps if s.amends_id}
    build = {
        "step": lambda r: _step_entry(r, amended_by),
        "custody": _custody_entry,
        "finding": _finding_entry,
    }
    return [build[e.kind](e.record) for e in timeline]


@dataclass
class SignatureRow:
    """A signature's manifestation (21 CFR 11.50): printed name, date and time with zone, meaning, validity."""

    printed_name: str
    signed_at: str
    meaning: str
    valid: bool | None  # None: the system cannot tell (no bound content to compare)
    what: str = ""


def signature_row(signature: Signature, valid: bool | None, what: str = "") -> SignatureRow:
    return SignatureRow(signature.printed_name, local_time(signature.signed_at),
                        _(signature.get_meaning_display()), valid, what)  # fmt: skip


def _spec_text(spec: dict[str, Any]) -> str:
    kind, unit = spec.get("kind"), spec.get("unit", "")
    if kind == "min":
        return f"≥ {spec['limit']} {unit}".strip()
    if kind == "max":
        return f"≤ {spec['limit']} {unit}".strip()
    if kind == "equals":
        return _(str(spec["expected"]).replace("_", " "))
    if kind == "endotoxin":
        return f"≤ {spec.get('limit', 'K/M')} EU/mL (K/M)"
    if kind == "dose_range":
        low, high = spec.get("min_per_dose"), spec.get("max_per_dose")
        if low and high:
            return _("%(low)s–%(high)s cells per dose") % {"low": f"{int(low):,}", "high": f"{int(high):,}"}
        return _("within the dose range")
    return "–"


@dataclass
class QcRow:
    test: str
    result: str
    specification: str
    within_spec: bool
    tested_at: str
    tested_by: str
    method: str
    superseded: bool
    retest_mark: Amendment | None


def qc_rows(batch: Batch) -> list[QcRow]:
    """Every QC result against its specification; a retest is marked with the result it replaces (one query)."""
    results = list(
        QcResult.objects.filter(batch=batch)
        .select_related("tested_by", "retest_of")
        .order_by("tested_at", "id")
    )
    retested = {r.retest_of_id for r in results if r.retest_of_id}
    rows = []
    for r in results:
        value = shown(r.value) if r.value is not None else _(r.result.replace("_", " "))
        mark = None
        if r.retest_of is not None:
            old = r.retest_of
            previous = shown(old.value) if old.value is not None else _(old.result.replace("_", " "))
            mark = Amendment(_("retest"), previous, value, _("retest after investigation"), person(r.tested_by),
                             local_time(r.recorded_at))  # fmt: skip
        rows.append(QcRow(qc_test_name(r.test), f"{value} {r.unit}".strip(), _spec_text(r.specification),
                          r.within_spec, local_time(r.tested_at), person(r.tested_by), r.method,
                          r.pk in retested, mark))  # fmt: skip
    return rows


def _deviation_rows(batch: Batch) -> list[dict[str, Any]]:
    rows = []
    for d in deviation_list(batch):
        signatures = []
        if d.assessment_signature:
            content = {
                "deviation": str(d.pk),
                "description": d.description,
                "impact_assessment": d.impact_assessment,
            }
            signatures.append(signature_row(d.assessment_signature, signature_is_valid(d.assessment_signature, content),
                                            _("impact assessment")))  # fmt: skip
        if d.closure_signature:
            content = {"deviation": str(d.pk), "severity": d.severity, "description": d.description,
                       "investigation": d.investigation, "root_cause": d.root_cause,
                       "impact_assessment": d.impact_assessment, "capa": d.capa}  # fmt: skip
            signatures.append(signature_row(d.closure_signature, signature_is_valid(d.closure_signature, content),
                                            _("closure")))  # fmt: skip
        rows.append({"deviation": d, "opened_at": local_time(d.opened_at), "opened_by": person(d.opened_by),
                     "investigated": local_time(d.investigated_at) if d.investigated_at else "",
                     "investigated_by": person(d.investigated_by), "closed_at": local_time(d.closed_at) if d.closed_at else "",
                     "signatures": signatures})  # fmt: skip
    return rows


def _checklist_rows(batch: Batch) -> dict[str, Any]:
    status = checklist_status(batch)
    items = [
        {"item": entry.item, "evidence": entry.evidence, "complete": entry.complete,
         "signatures": [signature_row(sig, valid) for sig, valid in entry.signatures]}
        for entry in status.items
    ]  # fmt: skip
    return {"template": status.template, "items": items, "complete": status.complete}


def release_rows(batch: Batch) -> list[dict[str, Any]]:
    """Every release or rejection, newest first, with its signature and whether it still holds."""
    return [
        {"decision": d, "signature": signature_row(d.signature, decision_signature_valid(batch, d)),
         "decided_at": local_time(d.decided_at)}
        for d in release_decision_history(batch)
    ]  # fmt: skip


def identity(batch: Batch) -> dict[str, Any]:
    """DIN, K, COI, patient and protocol: the identity every page repeats."""
    therapy = batch.therapy
    return {
        "din": batch.din,
        "check_character": isbt128.check_character(batch.din),
        "coi": therapy.coi,
        "patient_code": therapy.patient.code,
        "clinic": therapy.patient.clinic,
        "protocol": therapy.protocol,
        "status": _(batch.get_status_display()),
    }


def _doses(batch: Batch) -> list[dict[str, Any]]:
    k = isbt128.check_character(batch.din)
    return [
        {"dose_id": f"{batch.din}{k}-{d.number}", "cells": shown(d.cells), "volume_ml": shown(d.volume_ml),
         "status": _(d.get_status_display()), "expires_at": local_time(d.expires_at) if d.expires_at else "–"}
        for d in batch.doses.order_by("number")
    ]  # fmt: skip


def batch_record(batch: Batch) -> dict[str, Any]:
    """Everything the batch record prints. ``storage`` is the section hook for freeze and storage history.

    ``batch`` should come from ``batches.selectors.batch_page`` (effective
    steps and ``growth`` attached) so the chart needs no further query.
    """
    growth = getattr(batch, "growth", None) or lab.batch_growth(batch, lab.effective_steps(batch))
    steps = getattr(batch, "effective_steps", None)
    if steps is None:
        steps = lab.effective_steps(batch)
    entries = chronology(batch)
    return {
        "identity": identity(batch),
        "batch": batch,
        "growth": growth,
        "chart": batch_chart_svg(batch, steps, growth.projection),
        "entries": entries,
        "amendment_count": sum(len(e.amendments) for e in entries),
        "qc": qc_rows(batch),
        "deviations": _deviation_rows(batch),
        "checklist": _checklist_rows(batch),
        "releases": release_rows(batch),
        "doses": _doses(batch),
        "storage": storage_rows(batch),
    }


def certificate_of_analysis(batch: Batch) -> dict[str, Any]:
    """QC results against specifications, the release decision with its signature, the doses with expiry."""
    return {
        "identity": identity(batch),
        "batch": batch,
        "qc": qc_rows(batch),
        "releases": release_rows(batch),
        "doses": _doses(batch),
        "storage": storage_rows(batch),
    }


def _who(user: Any) -> str:
    return (user.full_name or user.username) if user else "–"


def storage_rows(batch: Batch) -> list[list[str]]:
    """Freeze and storage history as printed rows: the freeze, every placement, thaw and excursion.

    Read by ``storage.selectors.storage_history`` in a fixed number of queries;
    empty for a batch that was never cryopreserved.
    """
    history = storage_history(batch)
    rows: list[list[str]] = []
    cryo = history.cryopreservation
    if cryo is not None:
        rows.append([
            _("Freeze"), f"{local_time(cryo.freeze_started_at)} – {local_time(cryo.freeze_ended_at)}",
            f"{cryo.freezer} / {cryo.program}", f"{cryo.cryoprotectant} ({_('lot')} {cryo.cryoprotectant_lot})",
            _who(cryo.performed_by),
        ])  # fmt: skip
    for unit in history.units:
        for placement in unit.placements.all():
            rows.append([
                unit.label, _("Stored"), placement.position.code, local_time(placement.stored_at),
                _who(placement.stored_by),
            ])  # fmt: skip
            if placement.removed_at:
                verified = _("verified by %(name)s") % {"name": _who(placement.verified_by)}
                rows.append([
                    unit.label, _("Removed"), placement.get_removal_purpose_display() or "–",
                    local_time(placement.removed_at), f"{_who(placement.removed_by)}; {verified}",
                ])  # fmt: skip
        thaw = getattr(unit, "thaw", None)
        if thaw is not None:
            viability = f"{thaw.viability_pct} %" if thaw.viability_pct is not None else "–"
            rows.append([unit.label, _("Thawed"), thaw.method, local_time(thaw.thawed_at),
                         f"{_who(thaw.performed_by)}; {_('viability')} {viability}"])  # fmt: skip
    for excursion in history.excursions:
        ended = local_time(excursion.ended_at) if excursion.ended_at else _("ongoing")
        assessed = excursion.get_decision_display() if excursion.decision else _("not assessed")
        rows.append([
            _("Excursion"), excursion.storage_unit.code, f"{local_time(excursion.started_at)} – {ended}",
            f"{excursion.extreme_c} °C" if excursion.extreme_c is not None else "–",
            f"{assessed} ({_who(excursion.assessed_by)})" if excursion.assessed_by else assessed,
        ])  # fmt: skip
    return rows

"""ISBT 128 labels of a batch: the collection(s), the batch, QC samples and each dose.

Each label carries the eye-readable DIN as ISBT 128 prints it (``A9999 26
000001``, the two flag characters turned 90 degrees, the keyboard check
character K boxed), the product or dose identifier and the patient code, the
expiry once a dose is released, a Code 128 of the DIN data (``=`` + DIN +
flags) and a DataMatrix of the same data. The flags are ST-001 type 2 (60 +
the value of K), so every scan of the barcode checks K as well
(``core.scan``). A dose is labelled for infusion only once it is released;
before that it gets a quarantine label that says so and carries no expiry.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from batches.models import Batch, Collection, Dose
from core import isbt128

SIZES = {"2x1": (2.0, 1.0), "4x2": (4.0, 2.0)}  # inches, width x height
DEFAULT_SIZE = "4x2"
ZPL_DPI = 203  # dots per inch of the common Zebra print heads (8 dots/mm)
RELEASED_DOSE = (Dose.Status.AVAILABLE, Dose.Status.INFUSED)


class LabelKind(StrEnum):
    COLLECTION = "collection"
    BATCH = "batch"
    QC_SAMPLE = "qc_sample"
    DOSE = "dose"
    QUARANTINE = "quarantine"


@dataclass(frozen=True)
class Label:
    kind: LabelKind
    din: str
    title: str  # what the item is, in the request language
    identifier: str  # product or dose identifier, printed large
    patient_code: str
    expires_at: dt.datetime | None = None

    @property
    def check_character(self) -> str:
        return isbt128.check_character(self.din)

    @property
    def flags(self) -> str:
        """ST-001 flag type 2: 60 plus the value of the check character (60-96)."""
        return f"{60 + isbt128.ALPHABET.index(self.check_character)}"

    @property
    def barcode_data(self) -> str:
        """The ISBT 128 DIN data structure: data identifier ``=``, the DIN, the two flags."""
        return f"={self.din}{self.flags}"

    @property
    def din_parts(self) -> tuple[str, str, str]:
        """FIN, year and sequence, spaced as the eye-readable DIN prints them."""
        return self.din[:5], self.din[5:7], self.din[7:]

    @property
    def quarantine(self) -> bool:
        return self.kind == LabelKind.QUARANTINE


def size_or_default(size: str | None) -> str:
    """A label size the sheet knows, or ValueError naming the ones it does."""
    if not size:
        return DEFAULT_SIZE
    if size not in SIZES:
        raise ValueError(f"Label size '{size}' is not one of {', '.join(SIZES)}.")
    return size


def batch_labels(batch: Batch) -> list[Label]:
    """Every label of ``batch``: its collections, the batch, one per QC sample, one per dose."""
    patient = batch.therapy.patient.code
    collections = Collection.objects.filter(therapy=batch.therapy).order_by("collected_at", "id")
    labels = [
        Label(LabelKind.COLLECTION, c.din, _("Collection: %(kind)s") % {"kind": _(c.get_kind_display())},
              f"{c.din}{isbt128.check_character(c.din)}", patient)
        for c in collections
        if c.din == batch.din or c.serum_uses.filter(batch=batch).exists()
    ]  # fmt: skip
    product = f"{batch.din}{isbt128.check_character(batch.din)}"
    labels.append(Label(LabelKind.BATCH, batch.din, _("MSC culture batch"), product, patient))
    for spec in batch.therapy.protocol.qc_specifications:
        labels.append(
            Label(LabelKind.QC_SAMPLE, batch.din, _("QC sample: %(test)s") % {"test": qc_test_name(spec["test"])},
                  product, patient)
        )  # fmt: skip
    labels += [dose_label(batch, dose, patient) for dose in batch.doses.order_by("number")]
    return labels


def dose_label(batch: Batch, dose: Dose, patient: str) -> Label:
    """The infusion label of a released dose; a quarantine label until then."""
    dose_id = f"{batch.din}{isbt128.check_character(batch.din)}-{dose.number}"
    if dose.status in RELEASED_DOSE and dose.expires_at is not None:
        return Label(LabelKind.DOSE, batch.din, _("MSC dose for infusion"), dose_id, patient, dose.expires_at)
    return Label(
        LabelKind.QUARANTINE, batch.din, _("QUARANTINE: not released, not for infusion"), dose_id, patient
    )


def qc_test_name(code: str) -> str:
    """``viable_cell_count`` -> "Viable cell count" (CD markers keep their capitals), translated."""
    names = {
        "viability": _("Viability"), "viable_cell_count": _("Viable cell count"), "sterility": _("Sterility"),
        "mycoplasma": _("Mycoplasma"), "endotoxin": _("Endotoxin"), "hla_dr": "HLA-DR",
    }  # fmt: skip
    if code in names:
        return names[code]
    return code.upper() if re.fullmatch(r"cd\d+[a-z]?", code) else code.replace("_", " ").capitalize()


# --- ZPL ------------------------------------------------------------------------

_ZPL_SAFE = re.compile(r"[A-Za-z0-9 .:,/()+=\-]")


def _field(text: str) -> str:
    """A ZPL field's data with ``^FH`` hex escapes for anything but plain characters (no ``^`` or ``~``)."""
    return "".join(
        ch if _ZPL_SAFE.fullmatch(ch) else "".join(f"_{b:02X}" for b in ch.encode()) for ch in text
    )


def _dots(inches: float) -> int:
    return round(inches * ZPL_DPI)


def label_zpl(label: Label, size: str) -> str:
    """One label in ZPL II: ``^BC`` (Code 128) and ``^BX`` (DataMatrix) of the DIN data, text in font 0.

    ``^CI28`` selects UTF-8; text fields go through ``^FH`` so the data never
    carries a control character. The printer encodes the symbols itself.
    """
    width, height = SIZES[size]
    big = size == "4x2"
    unit = 2 if big else 1  # every offset and font scales with the label
    fin, year, sequence = label.din_parts
    text_x = _dots(1.55 if big else 0.62)
    lines = [
        "^XA", "^CI28", f"^PW{_dots(width)}", f"^LL{_dots(height)}", "^LH0,0",
        # DataMatrix on the left, module size in dots.
        f"^FO{8 * unit},{10 * unit}^BXN,{5 * unit if big else 4},200^FH^FD{_field(label.barcode_data)}^FS",
        # Code 128, automatic code sets (mode A), no printer-added text line.
        f"^FO{text_x},{8 * unit}^BY{unit},3,{28 * unit}^BCN,{28 * unit},N,N,N,A^FH^FD{_field(label.barcode_data)}^FS",
        f"^FO{text_x},{40 * unit}^A0N,{10 * unit},{9 * unit}^FH^FD{_field(label.barcode_data)}^FS",
        # Eye-readable DIN, flags turned 90 degrees, K boxed.
        f"^FO{text_x},{52 * unit}^A0N,{18 * unit},{16 * unit}^FH^FD{fin} {year} {sequence}^FS",
        f"^FO{text_x + 128 * unit},{52 * unit}^A0R,{9 * unit},{8 * unit}^FH^FD{label.flags}^FS",
        f"^FO{text_x + 142 * unit},{51 * unit}^GB{18 * unit},{20 * unit},{unit}^FS",
        f"^FO{text_x + 146 * unit},{53 * unit}^A0N,{17 * unit},{14 * unit}^FH^FD{label.check_character}^FS",
        f"^FO{text_x},{74 * unit}^A0N,{11 * unit},{10 * unit}^FH^FD{_field(label.identifier)}^FS",
        f"^FO{8 * unit},{96 * unit}^A0N,{12 * unit},{11 * unit}^FH^FD{_field(label.title)}^FS",
        f"^FO{8 * unit},{114 * unit}^A0N,{11 * unit},{10 * unit}^FH^FDPatient {_field(label.patient_code)}^FS",
    ]  # fmt: skip
    if label.expires_at:
        expiry = timezone.localtime(label.expires_at).strftime("%Y-%m-%d %H:%M %Z")
        lines.append(f"^FO{8 * unit},{132 * unit}^A0N,{11 * unit},{10 * unit}^FH^FDEXP {_field(expiry)}^FS")
    if label.quarantine:  # reversed (white on black) so it cannot be missed
        lines.append(f"^FO{8 * unit},{150 * unit}^GB{190 * unit},{16 * unit},{16 * unit}^FS")
        lines.append(f"^FO{12 * unit},{152 * unit}^A0N,{13 * unit},{12 * unit}^FR^FDQUARANTINE^FS")
    lines.append("^XZ")
    return "\n".join(lines)


def labels_zpl(labels: list[Label], size: str) -> str:
    """Every label, one ``^XA``...``^XZ`` format each, ready to send to the printer.

    Build ``labels`` in English for ZPL: the printer's font 0 has no Japanese glyphs.
    """
    return "\n".join(label_zpl(label, size) for label in labels) + "\n"


def label_context(labels: list[Label], size: str) -> dict[str, Any]:
    """What the label sheet template needs: the labels, their size in inches and the symbols."""
    from documents.symbols import code128_svg, datamatrix_svg

    width, height = SIZES[size]
    return {
        "labels": [
            {
                "label": label,
                "code128": code128_svg(label.barcode_data),
                "datamatrix": datamatrix_svg(label.barcode_data),
            }
            for label in labels
        ],
        "size": size,
        "width_in": width,
        "height_in": height,
    }

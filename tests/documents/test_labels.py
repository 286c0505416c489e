"""Labels: every symbol decodes to the identifier printed beside it; ZPL carries the same fields."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from batches.models import Batch
from core import isbt128, scan
from documents import labels, render
from tests.documents.reading import all_text, read_symbols

SIZES = {"2x1": 1.45, "4x2": 2.6}  # how far right of a DataMatrix its printed data may lie (inches)


@pytest.mark.django_db
@pytest.mark.parametrize("size", list(SIZES))
def test_every_symbol_on_the_sheet_decodes_to_the_data_printed_beside_it(released: Batch, size: str) -> None:
    pdf = render.labels_pdf(released, size=size, generated_by="Taro Technician")
    expected = labels.batch_labels(released)
    symbols = [s for page in read_symbols(pdf, reach_in=SIZES[size]) for s in page]

    assert sum(s.format == "Code128" for s in symbols) == len(expected)
    assert sum(s.format == "DataMatrix" for s in symbols) == len(expected)
    for symbol in symbols:
        assert symbol.text in symbol.beside.split(" "), (symbol, "not printed beside its symbol")
        read = scan.parse_din(symbol.text)  # ISBT 128 data: '=' + DIN + check flags, K verified
        assert read.check_character == isbt128.check_character(read.din)
    assert sorted(s.text for s in symbols) == sorted(
        label.barcode_data for label in expected for _ in range(2)
    )


@pytest.mark.django_db
def test_label_prints_the_eye_readable_din_with_flags_and_boxed_k(released: Batch) -> None:
    text = all_text(render.labels_pdf(released, size="4x2", generated_by="Taro Technician"))
    k = isbt128.check_character(released.din)
    flags = f"{60 + isbt128.ALPHABET.index(k)}"
    assert f"{released.din[:5]} {released.din[5:7]} {released.din[7:]}" in text
    assert f"={released.din}{flags}" in text
    assert released.therapy.patient.code in text
    assert f"{released.din}{k}-1" in text  # the dose identifier
    assert re.search(r"page 1 of \d+", text) and "Generated" in text and "by Taro Technician" in text


@pytest.mark.django_db
def test_dose_gets_only_a_quarantine_label_until_released(pending_batch: Batch, staff: object) -> None:
    kinds = [label.kind for label in labels.batch_labels(pending_batch)]
    assert labels.LabelKind.DOSE not in kinds
    assert kinds.count(labels.LabelKind.QUARANTINE) == pending_batch.doses.count()
    text = all_text(render.labels_pdf(pending_batch, size="4x2", generated_by="Taro Technician"))
    assert "QUARANTINE: not released, not for infusion" in text
    assert "EXP" not in text and "MSC dose for infusion" not in text


@pytest.mark.django_db
def test_released_dose_label_carries_its_expiry(released: Batch) -> None:
    dose = released.doses.get()
    text = all_text(render.labels_pdf(released, size="2x1", generated_by="Taro Technician"))
    assert "MSC dose for infusion" in text
    assert f"EXP {timezone.localtime(dose.expires_at):%Y-%m-%d %H:%M} JST" in text
    assert "QUARANTINE" not in text


@pytest.mark.django_db
@pytest.mark.parametrize("size", list(SIZES))
def test_zpl_carries_the_same_fields_as_the_sheet(released: Batch, size: str) -> None:
    zpl = render.labels_zpl(released, size=size)
    expected = labels.batch_labels(released)
    formats = re.findall(r"\^XA(.*?)\^XZ", zpl, flags=re.S)
    assert len(formats) == len(expected)
    width, height = labels.SIZES[size]
    for body, label in zip(formats, expected, strict=True):
        assert f"^PW{round(width * 203)}" in body and f"^LL{round(height * 203)}" in body
        assert re.search(r"\^BC[^\^]*\^FH\^FD" + re.escape(label.barcode_data) + r"\^FS", body)  # Code 128
        assert re.search(r"\^BX[^\^]*\^FH\^FD" + re.escape(label.barcode_data) + r"\^FS", body)  # DataMatrix
        fin, year, sequence = label.din_parts
        assert f"^FD{fin} {year} {sequence}^FS" in body
        assert f"^FD{label.flags}^FS" in body and f"^FD{label.check_character}^FS" in body
        assert f"^FD{label.identifier}^FS" in body
        assert f"Patient {label.patient_code}" in body.replace("_2D", "-")
        assert f"^FD{label.title}^FS" in body.replace("_3A", ":")  # what the item is, in English
        assert ("EXP " in body) == (label.kind == labels.LabelKind.DOSE)
        assert ("QUARANTINE" in body) == (label.kind == labels.LabelKind.QUARANTINE)


def test_zpl_field_data_cannot_inject_commands() -> None:
    label = labels.Label(labels.LabelKind.BATCH, "A999926000001", "x", "A999926000001M", "^XZ~JA^XA")
    zpl = labels.label_zpl(label, "2x1")
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1 and "~JA" not in zpl


def test_unknown_label_size_is_refused() -> None:
    with pytest.raises(ValueError, match="2x1, 4x2"):
        labels.size_or_default("3x3")

"""The batch record and the certificate of analysis, read back from the PDF."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation

from batches import selectors
from batches.models import Batch
from compliance.models import Signature
from compliance.services.deviations import deviation_open
from core import isbt128
from documents import render
from tests.builders import Staff
from tests.documents.reading import all_text, page_texts


def _signatures(batch: Batch) -> list[Signature]:
    deviation_ids = [str(pk) for pk in batch.deviations.values_list("pk", flat=True)]
    return list(
        Signature.objects.filter(record_id__startswith=f"{batch.din}:")
        | Signature.objects.filter(release_decision__batch=batch)
        | Signature.objects.filter(record_id__in=deviation_ids)
    )


def _record(batch: Batch, generated_by: str = "Hanako QA") -> bytes:
    return render.batch_record_pdf(selectors.batch_page(din=batch.din), generated_by=generated_by)


@pytest.mark.django_db
def test_every_page_shows_page_n_of_m_the_batch_and_who_generated_it_when(released: Batch) -> None:
    pages = page_texts(_record(released, generated_by="Hanako QA"))
    k = isbt128.check_character(released.din)
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert f"page {number} of {len(pages)}" in text
        assert f"DIN {released.din} {k}" in text and released.therapy.coi in text
        assert re.search(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST \(UTC\+0900\) by Hanako QA", text)


@pytest.mark.django_db
def test_record_names_identity_steps_qc_deviation_and_every_signature(released: Batch) -> None:
    text = all_text(_record(released))
    protocol = released.therapy.protocol
    assert released.din in text and released.therapy.patient.code in text
    assert f"{protocol.code} version {protocol.version}" in text
    for kind in ("Receipt", "Seeding", "Cell count", "Harvest", "Formulation", "Custody transfer #1"):
        assert kind in text
    assert "Taro Technician" in text  # a performer
    assert "Viability" in text and "≥ 70.0 %" in text  # a QC result against its specification
    assert (
        "Incubator door alarm for 4 minutes" in text and "Door sensor checked" in text
    )  # deviation and CAPA
    signatures = _signatures(released)
    assert len(signatures) >= 10
    for signature in signatures:
        manifestation = f"{signature.printed_name} · "
        assert manifestation in text
        assert re.search(re.escape(manifestation) + r"\d{4}-\d\d-\d\d \d\d:\d\d JST · "
                         + signature.get_meaning_display(), text), signature  # fmt: skip
    assert "NO LONGER VALID" not in text


@pytest.mark.django_db
def test_a_corrected_value_is_marked_with_old_value_reason_and_who(released: Batch) -> None:
    text = all_text(_record(released))
    assert "1 value was changed after its original entry" in text
    assert "AMENDED viable cells: was “60,000,000”, now “62,000,000”" in text
    assert "reason: Transcription error: counter read 62.0 x 10^6; changed by Saburo Corrector" in text
    assert "superseded: corrected on" in text  # the original stays, marked


@pytest.mark.django_db
def test_a_signature_a_later_change_invalidated_is_shown_as_no_longer_valid(
    released: Batch, staff: Staff
) -> None:
    deviation_open(batch=released, actor=staff.qa, severity="major", description="Found after release")
    text = all_text(_record(released))
    assert "Found after release" in text
    assert "NO LONGER VALID: the record changed after signing" in text


@pytest.mark.django_db
def test_record_in_japanese(released: Batch) -> None:
    with translation.override("ja"):
        pages = page_texts(_record(released))
    # Japanese wraps between any two characters, and text extraction puts a space at each wrap.
    text = "".join(pages).replace(" ", "")
    assert "製造記録" in text and "品質試験結果と規格" in text and "出荷判定" in text and "逸脱" in text
    assert (
        f"{len(pages)} ページ中 1 ページ" in pages[0]
        and f"{len(pages)} ページ中 {len(pages)} ページ" in pages[-1]
    )
    assert "照査" in text and "承認" in text  # signature meanings
    assert "訂正生細胞数:旧値「60,000,000」、新値「62,000,000」" in text
    assert released.din in text


@pytest.mark.django_db
def test_certificate_has_qc_against_spec_release_signature_and_doses(released: Batch) -> None:
    pdf = render.certificate_pdf(selectors.batch_page(din=released.din), generated_by="Kenji QC")
    text = all_text(pdf)
    k = isbt128.check_character(released.din)
    assert "Certificate of analysis" in text and f"DIN {released.din} {k}" in text
    for test in ("Viability", "Sterility", "Mycoplasma", "Endotoxin", "CD73", "HLA-DR"):
        assert test in text
    release = released.release_decisions.get().signature
    assert re.search(re.escape(release.printed_name) + r" · \S+ \S+ JST · Approved · valid", text)
    dose = released.doses.get()
    assert f"{released.din}{k}-1" in text
    assert dose.expires_at is not None and "Released" in text
    for number, page in enumerate(page_texts(pdf), start=1):
        assert f"page {number} of " in page and "by Kenji QC" in page


@pytest.mark.django_db
def test_record_of_a_batch_just_collected_renders(staff: Staff) -> None:
    from tests.factories import BatchFactory

    batch = BatchFactory()
    text = all_text(_record(batch))
    assert "Nothing recorded yet." in text and "No cell count yet." in text


@pytest.mark.django_db
def test_reading_the_record_costs_the_same_queries_at_a_few_and_many_steps(
    released: Batch, staff: Staff
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from batches.services import step_record
    from documents.selectors import batch_record
    from tests.factories import scan

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            batch_record(selectors.batch_page(din=released.din))
        return len(captured)

    before = queries()
    Batch.objects.filter(pk=released.pk).update(status="in_culture")  # as if still culturing: steps accepted
    for minutes in range(100, 0, -5):  # after the formulation, in time order
        step_record(batch=released, kind="feeding", actor=staff.tech, scanned_identifier=scan(released.din),
                    performed_at=timezone.now() - dt.timedelta(minutes=minutes), medium_lot="M-2")  # fmt: skip
    assert released.steps.count() >= 26
    assert queries() == before

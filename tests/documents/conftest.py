"""A seeded batch for the documents: released, with an amended step, a retest-free QC set and a deviation."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.utils.translation import trans_real

from batches.models import Batch
from batches.services import step_amend
from compliance.models import User
from compliance.services.deviations import deviation_close, deviation_investigate, deviation_open
from core.roles import Role
from tests.builders import Staff, formulated_batch, record_qc, sign_checklist
from tests.factories import PASSWORD, UserFactory

CATALOGUE = Path(__file__).resolve().parents[2] / "documents" / "locale" / "ja" / "LC_MESSAGES"


@pytest.fixture(scope="session", autouse=True)
def _japanese_catalogue() -> None:
    """Compile the documents catalogue when its .mo is missing or older than the .po (CI builds .mo files).

    Django caches catalogues per language once loaded, so the cache is dropped after compiling.
    """
    po, mo = CATALOGUE / "django.po", CATALOGUE / "django.mo"
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        return
    subprocess.run(["msgfmt", "--check", "-o", str(mo), str(po)], check=True)
    trans_real._translations = {}
    trans_real._default = None


@pytest.fixture
def staff(db: None) -> Staff:
    return Staff.create()


def corrector() -> User:
    """A third technician: the verifier must not have performed steps (segregation of duties)."""
    return User.objects.filter(username="corrector").first() or UserFactory(
        username="corrector", role=Role.TECHNICIAN, full_name="Saburo Corrector"
    )


def amend_count(batch: Batch, staff: Staff) -> None:
    """Correct the day-0.4 cell count: 60,000,000 was a typo for 62,000,000."""
    count = batch.steps.get(kind="cell_count")
    step_amend(step=count, actor=corrector(), reason="Transcription error: counter read 62.0 x 10^6",
               viable_cells=62_000_000)  # fmt: skip


def closed_minor_deviation(batch: Batch, staff: Staff) -> None:
    deviation = deviation_open(batch=batch, actor=staff.qa, severity="minor",
                               description="Incubator door alarm for 4 minutes")  # fmt: skip
    deviation_investigate(
        deviation=deviation, actor=staff.qa, investigation="Door left ajar; CO2 recovered in 3 min"
    )
    deviation_close(deviation=deviation, actor=staff.qa2, password=PASSWORD,
                    impact_assessment="No impact on product", capa="Door sensor checked")  # fmt: skip


@pytest.fixture
def pending_batch(staff: Staff) -> Batch:
    """Formulated, QC recorded, a step amended, a closed deviation; not released."""
    batch = formulated_batch(staff)
    amend_count(batch, staff)
    closed_minor_deviation(batch, staff)
    record_qc(batch, staff)
    batch.refresh_from_db()
    return batch


@pytest.fixture
def released(staff: Staff, pending_batch: Batch) -> Batch:
    from compliance.services.release import batch_release

    sign_checklist(pending_batch, staff)
    batch_release(batch=pending_batch, actor=staff.qa, password=PASSWORD, decision="release")
    pending_batch.refresh_from_db()
    return pending_batch

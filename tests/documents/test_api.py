"""Download endpoints: rights, clinic scoping, problem errors, the download log, CSV content."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import transaction
from django.db.utils import IntegrityError
from rest_framework.test import APIClient

from batches.models import Batch
from compliance.models import AuditEntry
from compliance.tokens import token_issue
from core.roles import Role
from documents.models import DocumentDownload
from tests.api.conftest import assert_problem, bearer
from tests.builders import Staff
from tests.factories import ClinicFactory, UserFactory, coordinator_of

API = "/api/v1"


def staff_client(role: Role = Role.TECHNICIAN) -> APIClient:
    return bearer(token_issue(user=UserFactory(role=role, full_name=f"{role.value} person"))[1])


def clinic_client(batch: Batch) -> APIClient:
    return bearer(token_issue(clinic=batch.therapy.patient.clinic)[1])


def other_clinic_client() -> APIClient:
    return bearer(token_issue(clinic=ClinicFactory(code="OTHER-CLINIC"))[1])


def coordinator_client(batch: Batch) -> APIClient:
    return bearer(token_issue(user=coordinator_of(batch.therapy.patient.clinic))[1])


STAFF_DOCUMENTS = ["record.pdf", "labels.pdf", "labels.zpl"]


@pytest.mark.django_db
@pytest.mark.parametrize("document", STAFF_DOCUMENTS)
def test_staff_documents_are_lab_staffs_only(released: Batch, document: str) -> None:
    url = f"{API}/batches/{released.din}/{document}"
    assert_problem(APIClient().get(url), 401)
    assert_problem(clinic_client(released).get(url), 403)
    assert_problem(coordinator_client(released).get(url), 403)
    response = staff_client(Role.QA).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; filename=")
    if document.endswith(".pdf"):
        assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF-")
    else:
        assert response["Content-Type"].startswith("application/zpl") and response.content.startswith(b"^XA")
    assert DocumentDownload.objects.count() == 1  # refusals logged nothing


@pytest.mark.django_db
def test_record_accepts_the_din_with_its_check_character_and_refuses_a_wrong_one(released: Batch) -> None:
    from core.isbt128 import check_character

    client = staff_client()
    k = check_character(released.din)
    assert client.get(f"{API}/batches/{released.din}{k}/record.pdf").status_code == 200
    wrong = "0" if k != "0" else "1"
    assert_problem(client.get(f"{API}/batches/{released.din}{wrong}/record.pdf"), 404)
    assert_problem(client.get(f"{API}/batches/A999999999999/record.pdf"), 404)


@pytest.mark.django_db
def test_certificate_reaches_the_own_clinic_only_once_released(pending_batch: Batch, staff: Staff) -> None:
    from compliance.services.release import batch_release
    from tests.builders import sign_checklist
    from tests.factories import PASSWORD

    url = f"{API}/batches/{pending_batch.din}/certificate.pdf"
    own, other, coordinator = (
        clinic_client(pending_batch),
        other_clinic_client(),
        coordinator_client(pending_batch),
    )
    assert staff_client(Role.QC).get(url).status_code == 200  # staff: any time
    body = assert_problem(own.get(url), 403)
    assert "once the batch is released" in body["detail"]
    assert_problem(coordinator.get(url), 403)
    assert_problem(other.get(url), 404)  # another clinic's batch does not exist for it

    sign_checklist(pending_batch, staff)
    batch_release(batch=pending_batch, actor=staff.qa, password=PASSWORD, decision="release")
    response = own.get(url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert coordinator.get(url).status_code == 200
    assert_problem(other.get(url), 404)
    logged = DocumentDownload.objects.filter(document="certificate", batch=pending_batch)
    assert logged.filter(clinic=pending_batch.therapy.patient.clinic, user=None).count() == 1


@pytest.mark.django_db
def test_bad_label_size_is_a_400_naming_the_parameter(released: Batch) -> None:
    body = assert_problem(staff_client().get(f"{API}/batches/{released.din}/labels.pdf?size=9x9"), 400)
    assert "size" in body["errors"]
    ok = staff_client().get(f"{API}/batches/{released.din}/labels.zpl?size=2x1")
    assert ok.status_code == 200 and b"^PW406" in ok.content


@pytest.mark.django_db
def test_every_download_is_logged_in_the_audit_trail_and_cannot_be_deleted(released: Batch) -> None:
    user = UserFactory(role=Role.TECHNICIAN, full_name="Taro Labels")
    client = bearer(token_issue(user=user)[1])
    assert client.get(f"{API}/batches/{released.din}/labels.pdf?size=2x1").status_code == 200
    download = DocumentDownload.objects.get()
    assert (download.document, download.batch, download.user, download.actor_name) == (
        "labels_pdf", released, user, "Taro Labels",
    )  # fmt: skip
    assert download.parameters == {"size": "2x1"} and download.channel == "api"
    entry = AuditEntry.objects.get(table_name="documents_documentdownload", object_pk=str(download.pk))
    assert entry.action == "INSERT" and entry.actor_id == user.pk
    with pytest.raises(IntegrityError, match="never deleted"), transaction.atomic():
        DocumentDownload.objects.filter(pk=download.pk).delete()
    assert DocumentDownload.objects.filter(pk=download.pk).exists()


@pytest.mark.django_db
def test_japanese_record_by_accept_language(released: Batch) -> None:
    from tests.documents.reading import all_text

    response = staff_client().get(f"{API}/batches/{released.din}/record.pdf", HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 200
    assert "製造記録" in all_text(response.content).replace(" ", "")
    assert DocumentDownload.objects.get().language == "ja"


def _rows(response: object) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_batch_list_csv_honours_filters_and_clinic_scoping(
    released: Batch, pending_batch: Batch, staff: Staff
) -> None:
    from tests.builders import formulated_batch

    other = formulated_batch(staff)  # another patient, another clinic
    client = staff_client()
    all_rows = _rows(client.get(f"{API}/batches.csv"))
    assert {r["DIN"] for r in all_rows} >= {released.din, other.din}
    released_rows = _rows(client.get(f"{API}/batches.csv?status=released"))
    assert [r["DIN"] for r in released_rows] == [released.din]
    by_therapy = _rows(client.get(f"{API}/batches.csv?therapy={other.therapy.coi}"))
    assert [r["DIN"] for r in by_therapy] == [other.din]
    scoped = _rows(clinic_client(other).get(f"{API}/batches.csv"))
    assert [r["DIN"] for r in scoped] == [other.din]
    body = assert_problem(client.get(f"{API}/batches.csv?status=bogus"), 400)
    assert "status" in body["errors"]
    logged = DocumentDownload.objects.filter(document="batch_list_csv")
    assert logged.count() == 4 and logged.filter(parameters={"status": "released"}).exists()


@pytest.mark.django_db
def test_csv_cells_that_a_spreadsheet_would_evaluate_are_neutralised(released: Batch) -> None:
    patient = released.therapy.patient
    for dangerous in ('=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"):
        type(patient).objects.filter(pk=patient.pk).update(code=dangerous)
        (row,) = _rows(staff_client().get(f"{API}/batches.csv?status=released"))
        assert row["Patient code"] == "'" + dangerous


@pytest.mark.django_db
def test_timeline_csv_lists_every_entry_with_corrections(released: Batch) -> None:
    rows = _rows(staff_client().get(f"{API}/batches/{released.din}/timeline.csv"))
    assert [r["Kind"] for r in rows].count("step") == released.steps.count()
    assert any(r["Kind"] == "custody" for r in rows)
    corrected = [r for r in rows if r["Amendments"]]
    assert len(corrected) == 1 and "60,000,000 -> 62,000,000" in corrected[0]["Amendments"]
    assert any(r["Superseded"] for r in rows)
    assert_problem(other_clinic_client().get(f"{API}/batches/{released.din}/timeline.csv"), 404)
    assert clinic_client(released).get(f"{API}/batches/{released.din}/timeline.csv").status_code == 200


@pytest.mark.django_db
def test_schema_documents_the_downloads() -> None:
    response = APIClient().get("/api/schema/?format=json")
    paths = response.json()["paths"]
    assert (
        "application/pdf" in paths["/api/v1/batches/{din}/record.pdf"]["get"]["responses"]["200"]["content"]
    )
    assert "text/csv" in paths["/api/v1/batches.csv"]["get"]["responses"]["200"]["content"]
    assert {p["name"] for p in paths["/api/v1/batches.csv"]["get"]["parameters"]} >= {
        "status",
        "patient",
        "therapy",
    }

"""QC in the web UI: the worklist of tests due and late, a form per result, the results table."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from compliance.models import Deviation, QcResult
from tests.builders import GOOD_QC, formulated_batch, record_qc
from tests.web.conftest import login


@pytest.fixture
def formulated(staff):
    return formulated_batch(staff)


def _enter(client, batch, test, **data):
    url = reverse("qc:result_new", args=[batch.din, test])
    return client.post(url, {"method": "Flow cytometry", **data}, follow=True)


def _section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"')[1].split("</section>")[0]


def test_qc_worklist_lists_every_required_test_of_a_harvested_batch(client, staff, formulated):
    login(client, staff.qc)

    page = client.get(reverse("batches:worklists")).content.decode()

    section = _section(page, "worklist-qc")
    assert all(f'<td class="mono">{test}</td>' in section for test in GOOD_QC)
    assert f"({len(GOOD_QC)})" in section and "late" not in section.split("</thead>")[1]


def test_tests_past_their_turnaround_are_marked_late_and_come_first(client, staff, formulated):
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        login(client, staff.qc)
        page = client.get(reverse("batches:worklists")).content.decode()

    rows = _section(page, "worklist-qc").split("<tbody>")[1].split("</tr>")
    late = [row for row in rows if 'class="late"' in row]
    # one-day turnaround: viability, viable cell count, endotoxin; sterility (14 d) is not late yet
    assert len(late) == 3 and all('class="late"' in row for row in rows[:3])
    assert "sterility" not in "".join(late)


def test_a_recorded_result_leaves_the_worklist(client, staff, formulated):
    login(client, staff.qc)

    _enter(client, formulated, "viability", value="92.5")

    section = _section(client.get(reverse("batches:worklists")).content.decode(), "worklist-qc")
    assert '<td class="mono">viability</td>' not in section


def test_the_result_form_shows_unit_method_and_specification(client, staff, formulated):
    login(client, staff.qc)

    page = client.get(reverse("qc:result_new", args=[formulated.din, "cd73"])).content.decode()

    assert "Value (% positive)" in page and 'name="method"' in page
    assert "&ge; 95.0 % positive" in page and "3 days after harvest" in page


def test_a_qualitative_test_offers_its_outcomes(client, staff, formulated):
    login(client, staff.qc)

    page = client.get(reverse("qc:result_new", args=[formulated.din, "sterility"])).content.decode()

    assert 'value="no_growth"' in page and 'value="growth"' in page and 'name="value"' not in page


def test_qc_enters_a_result_within_specification(client, staff, formulated):
    login(client, staff.qc)

    response = _enter(client, formulated, "viability", value="92.5", kit_lot="TB-7")

    result = QcResult.objects.get(batch=formulated, test="viability")
    assert (result.value, result.within_spec, result.method, result.kit_lot) == (
        92.5,
        True,
        "Flow cytometry",
        "TB-7",
    )
    assert result.tested_by == staff.qc
    assert "viability recorded: within specification." in response.content.decode()


def test_an_out_of_specification_result_is_highlighted_with_the_deviation_it_opened(
    client, staff, formulated
):
    login(client, staff.qc)

    response = _enter(client, formulated, "viability", value="55")

    deviation = Deviation.objects.get(batch=formulated, qc_result__test="viability")
    page = response.content.decode()
    assert "OUT OF SPECIFICATION. A deviation was opened" in page
    row = next(r for r in page.split("<tr") if ">viability</th>" in r)
    assert 'class="oos' in row and "OUT OF SPECIFICATION" in row
    assert reverse("compliance:deviation", args=[formulated.din, deviation.pk]) in row
    assert "Major" in row and "Open" in row


def test_a_refused_result_says_why_and_records_nothing(client, staff, formulated):
    login(client, staff.qc)
    url = reverse("qc:result_new", args=[formulated.din, "viability"])

    future = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"value": "92", "method": "Trypan blue", "tested_at": future})
    impossible = client.post(url, {"value": "150", "method": "Trypan blue"})
    missing = client.post(url, {"value": "", "method": ""})

    assert response.status_code == 422 and "The test time lies in the future." in response.content.decode()
    assert impossible.status_code == 422 and "not a possible viability value" in impossible.content.decode()
    assert missing.status_code == 422 and "This field is required." in missing.content.decode()
    assert not QcResult.objects.exists()


def test_a_second_result_within_specification_is_refused(client, staff, formulated):
    record_qc(formulated, staff)
    login(client, staff.qc)

    response = client.post(
        reverse("qc:result_new", args=[formulated.din, "viability"]), {"value": "90", "method": "Trypan blue"}
    )

    assert response.status_code == 422
    assert "within specification is already recorded" in response.content.decode()
    assert QcResult.objects.filter(batch=formulated, test="viability").count() == 1


def test_results_table_shows_every_specification_and_the_pending_ones(client, staff, formulated):
    login(client, staff.qc)
    _enter(client, formulated, "viability", value="92")

    page = client.get(reverse("qc:results", args=[formulated.din])).content.decode()

    assert page.count("no result yet") == len(GOOD_QC) - 1
    assert "Within specification" in page and "Flow cytometry" in page and "Kenji QC" in page


@pytest.mark.parametrize("role", ["technician", "qa", "coordinator", "admin"])
def test_only_qc_records_results(client, users, formulated, role):
    login(client, users[role])

    response = client.post(
        reverse("qc:result_new", args=[formulated.din, "viability"]), {"value": "92", "method": "x"}
    )

    assert response.status_code == 403
    assert not QcResult.objects.exists()


def test_an_unknown_test_is_not_found(client, staff, formulated):
    login(client, staff.qc)

    assert client.get(reverse("qc:result_new", args=[formulated.din, "nonsense"])).status_code == 404


def test_qa_sees_the_results_but_no_entry_links(client, staff, formulated):
    login(client, staff.qa)

    page = client.get(reverse("qc:results", args=[formulated.din])).content.decode()

    assert "no result yet" in page and "Enter result" not in page

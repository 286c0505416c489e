"""The checklist page: each item's evidence, what this user may sign, and several items signed in one act."""

from __future__ import annotations

import pytest
from django.urls import reverse

from compliance.models import Signature, User
from compliance.services.checklists import checklist_item_sign
from tests.builders import formulated_batch, record_qc
from tests.factories import PASSWORD
from tests.web.conftest import login

QA_ITEMS = ["custody_identity:reviewed", "deviations_closed:reviewed", "culture_within_limits:reviewed"]


@pytest.fixture
def formulated(staff):
    return formulated_batch(staff)


def _page(client, batch) -> str:
    return client.get(reverse("compliance:checklist", args=[batch.din])).content.decode()


def _item(page: str, code: str) -> str:
    return page.split(f'id="item-{code}"')[1].split("</article>")[0]


def _sign(client, batch, values, password, **extra):
    url = reverse("compliance:checklist_sign_many", args=[batch.din])
    return client.post(url, {"sign": values, "password": password}, **extra)


def test_each_item_shows_its_evidence(client, staff, formulated):
    login(client, staff.qa)

    page = _page(client, formulated)

    assert "Evidence failing" in _item(page, "qc_within_spec") and "viability missing" in _item(
        page, "qc_within_spec"
    )
    assert "Evidence OK" in _item(page, "custody_identity")
    assert "No system evidence" in _item(page, "labels_verified")


def test_qa_is_offered_only_what_it_may_sign_and_told_why_not_for_the_rest(client, staff, formulated):
    login(client, staff.qa)

    page = _page(client, formulated)

    for value in QA_ITEMS:
        assert f'value="{value}"' in page
    qc_item = _item(page, "qc_within_spec")
    assert 'type="checkbox"' not in qc_item and "is reviewed by qc staff" in qc_item
    assert page.split('id="checklist-items"')[1].split("</section>")[0].count('type="password"') == 1


def test_a_user_with_nothing_to_sign_gets_reasons_and_no_password_box(client, staff, formulated):
    login(client, staff.qc)  # QC's item has failing evidence; the rest belong to other roles

    page = _page(client, formulated)

    assert 'type="password"' not in page.split("Release blockers")[0]
    assert "Evidence failing" in _item(page, "qc_within_spec")
    assert "viability missing" in _item(page, "qc_within_spec").split("cannot-sign")[1]


def test_segregation_of_duties_is_shown_with_the_reason(client, staff, formulated):
    record_qc(formulated, staff)
    checklist_item_sign(batch=formulated, item_code="batch_record_complete", actor=staff.tech, password=PASSWORD,
                        meaning="reviewed")  # fmt: skip
    login(client, staff.tech)

    item = _item(_page(client, formulated), "batch_record_complete")

    assert "Segregation of duties" in item and 'value="batch_record_complete:verified"' not in item


def test_qa_signs_three_items_in_one_act(client, staff, formulated):
    login(client, staff.qa)

    response = _sign(client, formulated, QA_ITEMS, PASSWORD, follow=True)

    signatures = Signature.objects.filter(record_type="checklist_item", signer=staff.qa)
    assert sorted(s.record_id.split(":")[1] for s in signatures) == sorted(v.split(":")[0] for v in QA_ITEMS)
    page = response.content.decode()
    assert "3 checklist items signed" in page
    for value in QA_ITEMS:
        item = _item(page, value.split(":")[0])
        assert "Hanako QA" in item and "VALID" in item and "Reviewed" in item


def test_a_wrong_password_signs_nothing_and_keeps_the_selection(client, staff, formulated):
    login(client, staff.qa)

    response = _sign(client, formulated, QA_ITEMS, "not-my-password")

    assert response.status_code == 403
    page = response.content.decode()
    assert "password is not correct" in page and "not-my-password" not in page
    assert page.count(" checked>") == 3
    assert not Signature.objects.filter(record_type="checklist_item").exists()
    assert User.objects.get(pk=staff.qa.pk).signing_failures == 1


def test_ticking_nothing_is_refused(client, staff, formulated):
    login(client, staff.qa)

    response = _sign(client, formulated, [], PASSWORD)

    assert response.status_code == 422 and "Select at least one item to sign." in response.content.decode()


def test_a_forged_selection_is_refused_by_the_service_and_signs_nothing(client, staff, formulated):
    login(client, staff.qa)

    response = _sign(client, formulated, [*QA_ITEMS, "qc_within_spec:reviewed"], PASSWORD)

    assert response.status_code == 422
    assert "Item qc_within_spec" in response.content.decode()
    assert not Signature.objects.filter(record_type="checklist_item").exists()


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_roles_without_checklist_access_are_refused(client, users, formulated, role):
    login(client, users[role])

    assert _sign(client, formulated, QA_ITEMS, PASSWORD).status_code == 403
    assert not Signature.objects.filter(record_type="checklist_item").exists()

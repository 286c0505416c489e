"""The scan box of every page opens what a label names, and a refused scan is shown next to the field."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from batches.models import Collection
from core import isbt128
from tests.builders import formulated_batch
from tests.factories import ClinicFactory, scan
from tests.web.conftest import login, new_batch


def _scan(client, label: str):
    return client.get(reverse("batches:scan"), {"q": label})


def _wrong_k(din: str) -> str:
    right = isbt128.check_character(din)
    return din + ("0" if right != "0" else "1")


def test_every_page_has_the_scan_box_with_autofocus(client, staff, batch):
    login(client, staff.tech)

    for url in (
        reverse("batches:list"),
        reverse("batches:detail", args=[batch.din]),
        reverse("batches:worklists"),
    ):
        page = client.get(url).content.decode()
        assert 'id="scan-q"' in page and "autofocus" in page.split('id="scan-q"')[1].split(">")[0]
        assert 'src="/static/web/scan.js"' in page


def test_scanning_a_batch_label_opens_the_batch_page(client, staff, batch):
    login(client, staff.tech)

    response = _scan(client, scan(batch.din))

    assert response.status_code == 302 and response.url == reverse("batches:detail", args=[batch.din])


def test_scanning_the_isbt128_barcode_data_opens_the_batch(client, staff, batch):
    login(client, staff.tech)
    flags = f"{60 + isbt128.ALPHABET.index(isbt128.check_character(batch.din))}"

    with_check_flags = _scan(client, f"={batch.din}{flags}")
    process_flags = _scan(client, f"={batch.din.lower()}00")

    assert with_check_flags.url == process_flags.url == reverse("batches:detail", args=[batch.din])


def test_a_wrong_check_character_is_refused_at_the_top_next_to_the_field(client, staff, batch):
    login(client, staff.tech)

    response = _scan(client, _wrong_k(batch.din))

    assert response.status_code == 422
    page = response.content.decode()
    scanbox = page.split('<form class="scanbox"')[1].split("</form>")[0]
    assert 'role="alert"' in scanbox and "does not match DIN" in scanbox
    assert 'aria-invalid="true"' in scanbox and "autofocus" in scanbox
    assert page.index('class="scan-error"') < page.index("<main>")  # at the top, not below the page
    assert 'value="' not in scanbox.split('id="scan-q"')[1].split(">")[0]  # empty for the next scan


def test_a_din_without_its_check_character_is_refused(client, staff, batch):
    login(client, staff.tech)

    response = _scan(client, batch.din)

    assert response.status_code == 422
    assert "must be the DIN with its check character" in response.content.decode()


def test_a_label_of_nothing_known_is_refused_in_words(client, staff, batch):
    login(client, staff.tech)
    unknown = "A999999000001"

    response = _scan(client, scan(unknown))

    assert response.status_code == 404
    assert f"Nothing here has the label {scan(unknown)}" in response.content.decode()


def test_a_dose_label_opens_its_batch_at_the_dose(client, staff):
    batch = formulated_batch(staff)
    login(client, staff.tech)

    response = _scan(client, f"{scan(batch.din)}-1")

    assert response.url == reverse("batches:detail", args=[batch.din]) + "#dose-1"
    page = client.get(response.url).content.decode()
    assert f"Dose {batch.din}-1 of this batch." in page and 'id="dose-1"' in page


def test_a_serum_collection_opens_the_batch_of_its_therapy(client, staff):
    batch = formulated_batch(staff)
    serum = Collection.objects.get(therapy=batch.therapy, kind="peripheral_blood")
    login(client, staff.tech)

    response = _scan(client, scan(serum.din))

    assert response.url == reverse("batches:detail", args=[batch.din])


def test_a_chain_of_identity_opens_the_therapys_batch(client, staff, batch):
    login(client, staff.qa)

    response = _scan(client, batch.therapy.coi)

    assert response.url == reverse("batches:detail", args=[batch.din])


def test_a_coordinator_cannot_open_another_clinics_batch_by_scanning(client, coordinator):
    other = new_batch(ClinicFactory(code="OTHER"))
    login(client, coordinator)

    response = _scan(client, scan(other.din))

    assert response.status_code == 404 and other.din not in response.content.decode().split("<main>")[1]


@pytest.mark.parametrize("garbage", ["", "   ", "A99992", "x" * 81, "Ａ999926000001"])
def test_malformed_scans_are_refused_without_an_error_page(client, staff, garbage):
    login(client, staff.tech)

    response = _scan(client, garbage)

    assert response.status_code == 422
    assert 'class="scan-error"' in response.content.decode()


def test_the_refusal_is_rendered_in_the_users_language(client, staff, batch):
    """The refusal goes through Blocker.message: whatever the catalogue says for the language is shown."""
    login(client, staff.tech)
    with translation.override("ja"):
        response = client.get(reverse("batches:scan"), {"q": _wrong_k(batch.din)}, HTTP_ACCEPT_LANGUAGE="ja")

    assert response.status_code == 422
    assert '<html lang="ja">' in response.content.decode()

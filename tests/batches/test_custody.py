"""Chain of custody: continuous, identity-checked, with gaps and excursions kept for QA."""

import pytest
from django.utils import timezone

from batches.models import Location
from batches.services import custody_transfer
from core.errors import DomainError
from tests.batches.conftest import HOUR
from tests.factories import LocationFactory, scan

pytestmark = pytest.mark.django_db


@pytest.fixture
def places(db):
    return {
        "clinic": LocationFactory(code="KEIO-OR", kind=Location.Kind.CLINIC),
        "box": LocationFactory(code="SHIPPER-1", kind=Location.Kind.TRANSPORT),
        "cpf": LocationFactory(code="CPF-RCV", kind=Location.Kind.RECEIVING),
        "fridge": LocationFactory(code="CPF-FRIDGE", kind=Location.Kind.COLD_STORAGE),
    }


def move(batch, to, actor, **kwargs):
    kwargs.setdefault("seal_intact", True)
    kwargs.setdefault("temperature_c", 15)
    return custody_transfer(
        batch=batch, to_location=to, actor=actor, scanned_identifier=scan(batch.din), **kwargs
    )


def test_each_transfer_starts_where_the_previous_one_ended(batch, technician, places):
    first = move(
        batch,
        places["box"],
        technician,
        from_location=places["clinic"],
        to_holder="Courier A",
        performed_at=timezone.now() - 3 * HOUR,
    )
    second = move(
        batch, places["cpf"], technician, to_holder="CPF intake", performed_at=timezone.now() - HOUR
    )

    assert (first.sequence, first.from_location, first.to_location) == (1, places["clinic"], places["box"])
    assert (second.sequence, second.from_location, second.from_holder) == (2, places["box"], "Courier A")
    assert second.performed_by == technician
    assert not batch.findings.exists()


def test_a_pick_up_somewhere_else_is_recorded_as_a_custody_gap(batch, technician, places):
    move(batch, places["box"], technician, performed_at=timezone.now() - 3 * HOUR)

    transfer = move(batch, places["fridge"], technician, from_location=places["cpf"])

    gap = batch.findings.get()
    assert (gap.kind, gap.custody_transfer) == ("custody_gap", transfer)
    assert "left it at SHIPPER-1" in gap.detail
    assert transfer.from_location == places["box"]  # the chain itself stays continuous


def test_temperature_excursion_and_broken_seal_are_findings(batch, technician, places):
    move(batch, places["box"], technician, temperature_c=30.5, seal_intact=False)

    assert set(batch.findings.values_list("kind", flat=True)) == {"temperature_excursion", "seal_broken"}
    assert (
        "30.5 °C is outside the protocol's range 2.0-25.0 °C"
        in batch.findings.get(kind="temperature_excursion").detail
    )


def test_wrong_item_is_refused_recorded_and_moves_nothing(batch, technician, places):
    with pytest.raises(DomainError, match="wrong item"):
        custody_transfer(
            batch=batch,
            to_location=places["box"],
            actor=technician,
            seal_intact=True,
            scanned_identifier=scan("A999926999999"),
        )

    assert not batch.custody_transfers.exists()
    assert batch.findings.get().kind == "identity_mismatch"


def test_moving_to_where_it_already_is_or_into_the_future_is_refused(batch, technician, places):
    move(batch, places["box"], technician, performed_at=timezone.now() - HOUR)

    with pytest.raises(DomainError) as refused:
        move(batch, places["box"], technician, performed_at=timezone.now() + 2 * HOUR)

    assert {b.code for b in refused.value.blockers} == {"same_location", "future_time"}
    assert batch.custody_transfers.count() == 1

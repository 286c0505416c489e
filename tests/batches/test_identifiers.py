"""Allocation of DINs and COIs: consecutive per FIN and year, no gaps, no duplicates."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from batches import identifiers
from batches.models import IdentifierSequence
from core import isbt128

UTC = dt.UTC
MID_2026 = dt.datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _facility(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LIMS_FIN = "A9999"


@pytest.mark.django_db
def test_dins_are_fin_year_and_consecutive_sequence_from_one() -> None:
    dins = [identifiers.din_allocate(at=MID_2026) for _ in range(3)]

    assert dins == ["A999926000001", "A999926000002", "A999926000003"]
    assert all(isbt128.validate(din) == din for din in dins)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("at", "year"),
    [
        (dt.datetime(2026, 12, 31, 14, 59, 59, tzinfo=UTC), "26"),  # 23:59:59 in Tokyo
        (dt.datetime(2026, 12, 31, 15, 0, tzinfo=UTC), "27"),  # midnight in Tokyo
        (dt.datetime(2026, 12, 31, 16, 0, tzinfo=UTC), "27"),  # still 2026 in UTC, 2027 in Tokyo
    ],
)
def test_din_year_is_the_year_in_tokyo(at: dt.datetime, year: str) -> None:
    assert identifiers.din_allocate(at=at) == f"A9999{year}000001"


@pytest.mark.django_db
def test_din_year_defaults_to_now_in_tokyo(time_machine) -> None:  # type: ignore[no-untyped-def]
    time_machine.move_to(dt.datetime(2029, 12, 31, 16, 0, tzinfo=UTC), tick=False)

    assert identifiers.din_allocate() == "A999930000001"


@pytest.mark.django_db
def test_rolled_back_allocation_gives_its_number_back() -> None:
    first = identifiers.din_allocate(at=MID_2026)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert identifiers.din_allocate(at=MID_2026) == "A999926000002"
        raise RuntimeError("the collection could not be saved")

    assert first == "A999926000001"
    assert identifiers.din_allocate(at=MID_2026) == "A999926000002"


@pytest.mark.django_db
def test_each_year_has_its_own_sequence() -> None:
    identifiers.din_allocate(at=MID_2026)
    identifiers.din_allocate(at=MID_2026)

    assert identifiers.din_allocate(at=dt.datetime(2027, 3, 1, tzinfo=UTC)) == "A999927000001"
    assert identifiers.din_allocate(at=MID_2026) == "A999926000003"


@pytest.mark.django_db
def test_coi_is_ch_fin_year_sequence_independent_of_dins() -> None:
    identifiers.din_allocate(at=MID_2026)
    identifiers.din_allocate(at=MID_2026)

    assert identifiers.coi_allocate(at=MID_2026) == "CHA999926000001"
    assert identifiers.coi_allocate(at=MID_2026) == "CHA999926000002"
    assert identifiers.din_allocate(at=MID_2026) == "A999926000003"


@pytest.mark.django_db
def test_each_facility_number_has_its_own_sequence() -> None:
    identifiers.din_allocate(at=MID_2026)

    assert identifiers.din_allocate(at=MID_2026, fin="G1234") == "G123426000001"


# Real transactions: each thread commits on its own connection, so only the counter row's
# lock keeps the numbers apart. (The flush afterwards re-runs post_migrate, which puts the
# reference data back; serialized_rollback cannot be used: restoring it UPDATEs audit entries.)
@pytest.mark.django_db(transaction=True)
def test_concurrent_allocations_get_distinct_consecutive_numbers() -> None:
    workers = 20
    barrier = threading.Barrier(workers)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def allocate() -> None:
        try:
            barrier.wait(timeout=30)
            din = identifiers.din_allocate(at=MID_2026)
            with lock:
                results.append(din)
        except BaseException as exc:  # reported below, on the main thread
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=allocate) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(results) == [f"A999926{n:06d}" for n in range(1, workers + 1)]
    assert IdentifierSequence.objects.get(kind="din", fin="A9999", year=2026).last_value == workers

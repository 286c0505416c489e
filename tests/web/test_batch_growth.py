"""The batch page's growth figures, read through the page as a technician sees them."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from batches.services import collection_create, step_record
from tests.factories import coordinator_of, scan
from tests.web.conftest import login, new_batch

HOUR = dt.timedelta(hours=1)


def _cultured(staff, clinic, *, passage_cells: int):
    """Seeded with 9.5 million cells, passaged with every cell re-seeded, harvested at 514 million."""
    batch = new_batch(clinic, hours_ago=30)
    serum = collection_create(
        therapy=batch.therapy,
        kind="peripheral_blood",
        collected_at=timezone.now() - 31 * HOUR,
        volume_ml=240,
        actor=coordinator_of(clinic),
    )
    now = timezone.now()

    def log(kind: str, hours_ago: float, **values: object) -> None:
        step_record(batch=batch, kind=kind, actor=staff.tech, scanned_identifier=scan(batch.din),
                    performed_at=now - hours_ago * HOUR, **values)  # fmt: skip

    log("receipt", 28, temperature_c=8, seal_intact=True)
    log("seeding", 27, seeded_cells=9_500_000, medium_lot="M-1", serum_din=serum.din)
    log("passage", 15, viable_cells=passage_cells, seeded_cells=passage_cells, viability_pct=93)
    log("harvest", 2, viable_cells=514_000_000, viability_pct=92)
    return batch


def _cumulative_pd(page: str) -> str:
    return page.split("Cumulative PD</dt><dd>", 1)[1].split("</dd>", 1)[0]


def test_batch_page_shows_cumulative_population_doublings_from_seeding_to_harvest(client, staff, clinic):
    batch = _cultured(staff, clinic, passage_cells=76_000_000)
    login(client, staff.tech)

    page = client.get(reverse("batches:detail", args=[batch.din])).content.decode()

    # log2(514e6 / 9.5e6) = 5.76: 3.00 doublings to the passage, 2.76 after it.
    assert _cumulative_pd(page) == "5.76"


def test_batch_page_counts_growth_up_to_the_latest_count_of_a_running_culture(client, staff, clinic):
    batch = new_batch(clinic, hours_ago=30)
    serum = collection_create(
        therapy=batch.therapy,
        kind="peripheral_blood",
        collected_at=timezone.now() - 31 * HOUR,
        volume_ml=240,
        actor=coordinator_of(clinic),
    )
    label, now = scan(batch.din), timezone.now()
    step_record(batch=batch, kind="receipt", actor=staff.tech, scanned_identifier=label,
                performed_at=now - 28 * HOUR, temperature_c=8, seal_intact=True)  # fmt: skip
    step_record(batch=batch, kind="seeding", actor=staff.tech, scanned_identifier=label,
                performed_at=now - 27 * HOUR, seeded_cells=10_000_000, medium_lot="M-1",
                serum_din=serum.din)  # fmt: skip
    step_record(batch=batch, kind="cell_count", actor=staff.tech, scanned_identifier=label,
                performed_at=now - 3 * HOUR, viable_cells=40_000_000, viability_pct=94)  # fmt: skip
    login(client, staff.tech)

    page = client.get(reverse("batches:detail", args=[batch.din])).content.decode()

    assert _cumulative_pd(page) == "2.00"

"""The batch record and the certificate show the freeze and storage history (issue 15 in issue 12's documents)."""

from __future__ import annotations

from decimal import Decimal

from documents.selectors import batch_record, certificate_of_analysis
from storage.services import unit_thaw
from tests.storage.conftest import build_tank, released_frozen_batch, remove


def test_record_and_certificate_list_the_freeze_each_placement_the_verified_removal_and_the_thaw(staff):
    tank = build_tank(staff.tech)
    batch, units = released_frozen_batch(staff, tank, injured_days_ago=20)
    remove(units[0], staff)
    unit_thaw(dose_id=f"{batch.din}-1", scanned_identifier=units[0].label, actor=staff.tech,
              viability_pct=Decimal("88.5"))  # fmt: skip
    for document in (batch_record(batch), certificate_of_analysis(batch)):
        rows = document["storage"]
        kinds = [(row[0], row[1]) for row in rows]
        assert rows[0][0] == "Freeze" and "DMSO" in rows[0][3]
        assert (units[0].label, "Stored") in kinds and (units[1].label, "Stored") in kinds
        removed = next(row for row in rows if row[:2] == [units[0].label, "Removed"])
        assert "verified by" in removed[4]
        thawed = next(row for row in rows if row[:2] == [units[0].label, "Thawed"])
        assert "88.5" in thawed[4]

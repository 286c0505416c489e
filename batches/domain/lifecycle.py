"""Pure rules of the batch lifecycle. No ORM, no request, no clock.

The transition table is the one place that says which status may follow
which; every status change in the system goes through ``check_transition``.
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import Blocker


class BatchStatus(StrEnum):
    AWAITING_RECEIPT = "awaiting_receipt"
    RECEIVED = "received"
    IN_CULTURE = "in_culture"
    HARVESTED = "harvested"
    PENDING_RELEASE = "pending_release"
    RELEASED = "released"
    QUARANTINED = "quarantined"
    REJECTED = "rejected"
    INFUSED = "infused"
    EXPIRED = "expired"
    DISCARDED = "discarded"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


S = BatchStatus
_PRE_RELEASE = {S.AWAITING_RECEIPT, S.RECEIVED, S.IN_CULTURE, S.HARVESTED, S.PENDING_RELEASE}

TRANSITIONS: dict[BatchStatus, frozenset[BatchStatus]] = {
    S.AWAITING_RECEIPT: frozenset({S.RECEIVED, S.REJECTED, S.DISCARDED}),
    S.RECEIVED: frozenset({S.IN_CULTURE, S.QUARANTINED, S.REJECTED, S.DISCARDED}),
    S.IN_CULTURE: frozenset({S.HARVESTED, S.QUARANTINED, S.REJECTED, S.DISCARDED}),
    S.HARVESTED: frozenset({S.PENDING_RELEASE, S.QUARANTINED, S.REJECTED, S.DISCARDED}),
    S.PENDING_RELEASE: frozenset({S.RELEASED, S.QUARANTINED, S.REJECTED}),
    # Leaving quarantine goes back where the batch came from (see check_transition).
    S.QUARANTINED: frozenset(
        {S.RECEIVED, S.IN_CULTURE, S.HARVESTED, S.PENDING_RELEASE, S.REJECTED, S.DISCARDED}
    ),
    # released -> rejected: QA rejects at the re-review of a release whose signature no longer holds.
    S.RELEASED: frozenset({S.INFUSED, S.EXPIRED, S.QUARANTINED, S.REJECTED}),
    S.REJECTED: frozenset({S.DISCARDED}),
    S.EXPIRED: frozenset({S.DISCARDED}),
    S.INFUSED: frozenset(),
    S.DISCARDED: frozenset(),
}

TERMINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)


def quarantine_exit(quarantined_from: BatchStatus) -> BatchStatus:
    """Where a batch goes when its quarantine is lifted.

    A released batch that was quarantined must be released again by QA, so it
    returns to pending release rather than straight to released.
    """
    return S.PENDING_RELEASE if quarantined_from == S.RELEASED else quarantined_from


def check_transition(
    current: BatchStatus, target: BatchStatus, *, quarantined_from: BatchStatus | None = None
) -> list[Blocker]:
    """Every reason the move ``current -> target`` is not allowed (empty when it is)."""
    if current == target:
        return [Blocker("same_status", f"The batch is already {current.label.lower()}.")]
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.label.lower() for s in TRANSITIONS[current])) or "nothing (final status)"
        return [
            Blocker(
                "illegal_transition",
                f"A batch that is {current.label.lower()} cannot become {target.label.lower()}; "
                f"it can become: {allowed}.",
            )
        ]
    if current == S.QUARANTINED and target in _PRE_RELEASE:
        if quarantined_from is None:
            return [Blocker("quarantine_origin_unknown", "The status before quarantine is not recorded.")]
        expected = quarantine_exit(quarantined_from)
        if target != expected:
            return [
                Blocker(
                    "illegal_transition",
                    f"Lifting quarantine returns the batch to {expected.label.lower()}, "
                    f"not {target.label.lower()}.",
                )
            ]
    return []

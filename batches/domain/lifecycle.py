"""Pure rules of the batch lifecycle. No ORM, no request, no clock.

The transition table is the one place that says which status may follow
which; every status change in the system goes through ``check_transition``.
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import Blocker
from core.i18n import N_, term


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

    @property
    def words(self) -> str:
        """The status as a sentence names it ("in culture"), a term the catalogue translates."""
        return self.label.lower()


# The status words refusals use (BatchStatus.words), for the catalogue.
STATUS_WORDS = (
    N_("awaiting receipt"), N_("received"), N_("in culture"), N_("harvested"), N_("pending release"),
    N_("released"), N_("quarantined"), N_("rejected"), N_("infused"), N_("expired"), N_("discarded"),
)  # fmt: skip


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
        return [
            Blocker("same_status", N_("The batch is already %(status)s."), {"status": term(current.words)})
        ]
    if target not in TRANSITIONS[current]:
        allowed = [term(w) for w in sorted(s.words for s in TRANSITIONS[current])] or term(
            N_("nothing (final status)")
        )
        return [
            Blocker(
                "illegal_transition",
                N_("A batch that is %(status)s cannot become %(target)s; it can become: %(allowed)s."),
                {"status": term(current.words), "target": term(target.words), "allowed": allowed},
            )
        ]
    if current == S.QUARANTINED and target in _PRE_RELEASE:
        if quarantined_from is None:
            return [Blocker("quarantine_origin_unknown", N_("The status before quarantine is not recorded."))]
        expected = quarantine_exit(quarantined_from)
        if target != expected:
            return [
                Blocker(
                    "illegal_transition",
                    N_("Lifting quarantine returns the batch to %(expected)s, not %(target)s."),
                    {"expected": term(expected.words), "target": term(target.words)},
                )
            ]
    return []

"""Pure rules of the batches app: no ORM, no request, no clock (time is passed in).

* ``lifecycle``: batch statuses and the transition table.
"""

from batches.domain.lifecycle import (
    TERMINAL,
    TRANSITIONS,
    BatchStatus,
    Blocker,
    DomainError,
    check_transition,
    quarantine_exit,
)

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "BatchStatus",
    "Blocker",
    "DomainError",
    "check_transition",
    "quarantine_exit",
]

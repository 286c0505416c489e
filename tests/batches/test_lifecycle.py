"""The batch lifecycle: the transition table (pure) and the one service that applies it (DB)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from batches.domain import TERMINAL, TRANSITIONS, BatchStatus, check_transition, quarantine_exit
from batches.models import Batch
from batches.services import batch_transition
from compliance.models import AuditEntry, User
from core.errors import DomainError
from tests.factories import BatchFactory

S = BatchStatus
PRE_RELEASE = {S.AWAITING_RECEIPT, S.RECEIVED, S.IN_CULTURE, S.HARVESTED, S.PENDING_RELEASE}
# Statuses a batch can be quarantined from.
QUARANTINE_ORIGINS = [status for status, targets in TRANSITIONS.items() if S.QUARANTINED in targets]


def _legal_edges() -> list[tuple[BatchStatus, BatchStatus, BatchStatus | None]]:
    """Every (from, to, quarantined_from) the table allows; quarantine exits only to their origin."""
    edges: list[tuple[BatchStatus, BatchStatus, BatchStatus | None]] = []
    for current, targets in TRANSITIONS.items():
        for target in sorted(targets):
            if current != S.QUARANTINED:
                edges.append((current, target, None))
            elif target in PRE_RELEASE:
                edges += [(current, target, o) for o in QUARANTINE_ORIGINS if quarantine_exit(o) == target]
            else:  # rejected or discarded: allowed whatever the origin
                edges += [(current, target, o) for o in QUARANTINE_ORIGINS]
    return edges


def _edge_id(edge: tuple[BatchStatus, BatchStatus, BatchStatus | None]) -> str:
    current, target, origin = edge
    return f"{current}({origin})->{target}" if origin else f"{current}->{target}"


LEGAL_EDGES = _legal_edges()
ILLEGAL_PAIRS = [
    (current, target)
    for current, target in itertools.product(BatchStatus, repeat=2)
    if current != target and target not in TRANSITIONS[current]
]


# --- The table, no database -------------------------------------------------------------


def test_every_status_has_a_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(BatchStatus)


@pytest.mark.parametrize("edge", LEGAL_EDGES, ids=_edge_id)
def test_every_move_in_the_table_is_allowed(
    edge: tuple[BatchStatus, BatchStatus, BatchStatus | None],
) -> None:
    current, target, origin = edge
    assert check_transition(current, target, quarantined_from=origin) == []


@pytest.mark.parametrize(("current", "target"), ILLEGAL_PAIRS, ids=lambda s: str(s))
def test_every_move_not_in_the_table_is_refused_as_illegal(current: BatchStatus, target: BatchStatus) -> None:
    for origin in [None, *QUARANTINE_ORIGINS]:
        blockers = check_transition(current, target, quarantined_from=origin)
        assert [b.code for b in blockers] == ["illegal_transition"]
        assert f"cannot become {target.label.lower()}" in blockers[0].english


@pytest.mark.parametrize("status", list(BatchStatus), ids=str)
def test_moving_to_the_same_status_is_refused(status: BatchStatus) -> None:
    blockers = check_transition(status, status)
    assert [b.code for b in blockers] == ["same_status"]
    assert f"already {status.label.lower()}" in blockers[0].english


def test_terminal_statuses_are_infused_and_discarded_and_have_no_exits() -> None:
    assert {S.INFUSED, S.DISCARDED} == TERMINAL
    for status in TERMINAL:
        assert TRANSITIONS[status] == frozenset()
        refused = check_transition(status, S.RECEIVED)
        assert "nothing (final status)" in refused[0].english


@pytest.mark.parametrize(
    ("origin", "target"),
    [
        (origin, target)
        for origin in QUARANTINE_ORIGINS
        for target in sorted(TRANSITIONS[S.QUARANTINED] & PRE_RELEASE)
        if quarantine_exit(origin) != target
    ],
    ids=lambda s: str(s),
)
def test_lifting_quarantine_anywhere_but_the_origin_is_refused(
    origin: BatchStatus, target: BatchStatus
) -> None:
    blockers = check_transition(S.QUARANTINED, target, quarantined_from=origin)
    assert [b.code for b in blockers] == ["illegal_transition"]
    assert f"returns the batch to {quarantine_exit(origin).label.lower()}" in blockers[0].english


def test_lifting_quarantine_of_a_released_batch_returns_it_to_pending_release() -> None:
    assert quarantine_exit(S.RELEASED) == S.PENDING_RELEASE
    assert check_transition(S.QUARANTINED, S.PENDING_RELEASE, quarantined_from=S.RELEASED) == []
    assert [b.code for b in check_transition(S.QUARANTINED, S.RELEASED, quarantined_from=S.RELEASED)] == [
        "illegal_transition"
    ]


@pytest.mark.parametrize("origin", [s for s in QUARANTINE_ORIGINS if s != S.RELEASED], ids=str)
def test_lifting_quarantine_returns_a_batch_before_release_to_where_it_was(origin: BatchStatus) -> None:
    assert quarantine_exit(origin) == origin


def test_lifting_quarantine_is_refused_when_the_origin_is_not_recorded() -> None:
    blockers = check_transition(S.QUARANTINED, S.IN_CULTURE, quarantined_from=None)
    assert [b.code for b in blockers] == ["quarantine_origin_unknown"]


# --- Through the service, on PostgreSQL ---------------------------------------------------

BEFORE = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)


def _batch_in(status: BatchStatus, origin: BatchStatus | None = None) -> Batch:
    batch = BatchFactory()
    Batch.objects.filter(pk=batch.pk).update(
        status=status.value, quarantined_from=origin.value if origin else "", status_changed_at=BEFORE
    )
    batch.refresh_from_db()
    return batch


def _batch_entries() -> int:
    return AuditEntry.objects.filter(table_name="batches_batch").count()


@pytest.mark.django_db
@pytest.mark.parametrize("edge", LEGAL_EDGES, ids=_edge_id)
def test_batch_transition_persists_every_legal_move_and_audits_it(
    edge: tuple[BatchStatus, BatchStatus, BatchStatus | None], technician: User
) -> None:
    current, target, origin = edge
    batch = _batch_in(current, origin)
    reason = f"SOP-17 step: {current.label} to {target.label}"

    batch_transition(batch=batch, to=target, actor=technician, reason=reason)

    stored = Batch.objects.get(pk=batch.pk)
    assert stored.status == target.value
    assert stored.quarantined_from == (current.value if target == S.QUARANTINED else "")
    assert stored.status_changed_at > BEFORE
    entry = AuditEntry.objects.filter(table_name="batches_batch", object_pk=str(batch.pk)).latest("seq")
    assert entry.action == "UPDATE"
    assert entry.before["status"] == current.value
    assert entry.after["status"] == target.value
    assert entry.actor_id == technician.pk
    assert entry.reason == reason


@pytest.mark.django_db
def test_batch_transition_checks_the_status_in_the_database_not_the_object(technician: User) -> None:
    batch = _batch_in(S.RECEIVED)
    stale = Batch.objects.get(pk=batch.pk)
    batch_transition(batch=batch, to=S.IN_CULTURE, actor=technician, reason="seeded")

    with pytest.raises(DomainError, match="already in culture"):
        batch_transition(batch=stale, to=S.IN_CULTURE, actor=technician, reason="seeded twice")


ILLEGAL_SAMPLE = [
    (S.AWAITING_RECEIPT, S.RELEASED, None, "cannot become released"),
    (S.AWAITING_RECEIPT, S.QUARANTINED, None, "cannot become quarantined"),
    (S.RECEIVED, S.HARVESTED, None, "cannot become harvested"),
    (S.IN_CULTURE, S.RELEASED, None, "cannot become released"),
    (S.PENDING_RELEASE, S.DISCARDED, None, "cannot become discarded"),
    (S.RELEASED, S.RECEIVED, None, "cannot become received"),
    (S.REJECTED, S.RECEIVED, None, "cannot become received"),
    (S.INFUSED, S.DISCARDED, None, "nothing (final status)"),
    (S.DISCARDED, S.RECEIVED, None, "nothing (final status)"),
    (S.HARVESTED, S.HARVESTED, None, "already harvested"),
    (S.QUARANTINED, S.HARVESTED, S.IN_CULTURE, "returns the batch to in culture, not harvested"),
    (S.QUARANTINED, S.RELEASED, S.RELEASED, "cannot become released"),
    (S.QUARANTINED, S.IN_CULTURE, None, "before quarantine is not recorded"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("current", "target", "origin", "words"),
    ILLEGAL_SAMPLE,
    ids=[_edge_id((c, t, o)) for c, t, o, _ in ILLEGAL_SAMPLE],
)
def test_batch_transition_refuses_an_illegal_move_in_words_and_changes_nothing(
    current: BatchStatus, target: BatchStatus, origin: BatchStatus | None, words: str, technician: User
) -> None:
    batch = _batch_in(current, origin)
    entries = _batch_entries()

    with pytest.raises(DomainError) as refused:
        batch_transition(batch=batch, to=target, actor=technician, reason="should not happen")

    assert words in str(refused.value)
    stored = Batch.objects.get(pk=batch.pk)
    assert (stored.status, stored.quarantined_from, stored.status_changed_at) == (
        current.value,
        origin.value if origin else "",
        BEFORE,
    )
    assert _batch_entries() == entries
    assert not AuditEntry.objects.filter(reason="should not happen").exists()


@pytest.mark.django_db
def test_after_a_refused_move_the_next_move_is_audited_with_its_own_reason(technician: User) -> None:
    batch = _batch_in(S.RECEIVED)
    with pytest.raises(DomainError):
        batch_transition(batch=batch, to=S.RELEASED, actor=technician, reason="too early")

    batch_transition(batch=batch, to=S.IN_CULTURE, actor=technician, reason="seeded")

    entry = AuditEntry.objects.filter(table_name="batches_batch", object_pk=str(batch.pk)).latest("seq")
    assert (entry.after["status"], entry.reason) == (S.IN_CULTURE.value, "seeded")
    assert Batch.objects.get(pk=batch.pk).status_changed_at <= timezone.now()

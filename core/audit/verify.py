"""Recompute the audit hash chain and name the first broken entry."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

GENESIS_HASH = "0" * 64
BATCH_SIZE = 20_000

# Keyset pagination keeps memory flat whatever the length of the trail; the
# hash is recomputed in the database by the same function the trigger uses.
_PAGE_SQL = """
SELECT seq, prev_hash, hash, table_name, object_pk,
       hash = lims_audit_hash(prev_hash, seq, occurred_at, table_name, object_pk, action, before,
                              after, actor_id, actor_name, request_id, reason, context) AS content_ok
  FROM compliance_auditentry WHERE seq > %s ORDER BY seq LIMIT %s
"""


@dataclass
class ChainReport:
    checked: int
    broken_seq: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_seq is None


def verify_chain(batch_size: int = BATCH_SIZE) -> ChainReport:
    """Walk the whole chain in ``seq`` order; stop at the first entry that does not hold."""
    last_seq, last_hash, checked = 0, GENESIS_HASH, 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(_PAGE_SQL, [last_seq, batch_size])
            rows = cursor.fetchall()
            for seq, prev_hash, entry_hash, table, pk, content_ok in rows:
                problem = _problem(seq, prev_hash, content_ok, last_seq, last_hash)
                if problem:
                    return ChainReport(checked, seq, f"entry #{seq} ({table} {pk}): {problem}")
                last_seq, last_hash, checked = seq, entry_hash, checked + 1
            if len(rows) < batch_size:
                break
        cursor.execute("SELECT last_seq, last_hash FROM compliance_auditchainhead WHERE id = 1")
        head = cursor.fetchone()
    problem = _head_problem(head, last_seq, last_hash)
    return ChainReport(checked, last_seq + 1, problem) if problem else ChainReport(checked)


def _head_problem(head: tuple[int, str] | None, last_seq: int, last_hash: str) -> str:
    """What is wrong between the last entry and the head, which records the chain's true end."""
    if head is None:
        # Without a head nothing shows how long the chain was: a removed tail cannot be ruled out.
        return "" if last_seq == 0 else f"the chain head is missing (entries run to #{last_seq})"
    head_seq, head_hash = head
    if head_seq > last_seq:
        return f"the chain ends at #{last_seq} but its head says #{head_seq}: entries removed (#{last_seq + 1} to #{head_seq})"
    if (head_seq, head_hash) != (last_seq, last_hash):
        return f"the chain ends at #{last_seq} but its head says #{head_seq} with another hash: head or entries altered"
    return ""


def chain_head_restore() -> ChainReport:
    """Re-create a missing chain head from the last entry, once the entries verify intact.

    Writes nothing when the head exists or the entries do not hold. Whether a
    tail was removed along with the head cannot be known: the report says so.
    """
    report = verify_chain()
    if report.intact or not report.problem.startswith("the chain head is missing"):
        return report
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO compliance_auditchainhead (id, last_seq, last_hash)"
            " SELECT 1, seq, hash FROM compliance_auditentry ORDER BY seq DESC LIMIT 1"
            " ON CONFLICT (id) DO NOTHING"
        )
    return verify_chain()


def _problem(seq: int, prev_hash: str, content_ok: bool, last_seq: int, last_hash: str) -> str:
    if seq != last_seq + 1:
        return f"entries #{last_seq + 1} to #{seq - 1} are missing"
    if prev_hash != last_hash:
        return "its link to the previous entry does not match (entry altered or reordered)"
    if not content_ok:
        return "its content does not match its hash (entry altered after it was written)"
    return ""

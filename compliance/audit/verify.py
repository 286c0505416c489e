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
        head = cursor.fetchone() or (0, GENESIS_HASH)
    if head != (last_seq, last_hash):
        return ChainReport(
            checked,
            last_seq + 1,
            f"the chain ends at #{last_seq} but its head says #{head[0]}: entries removed",
        )
    return ChainReport(checked)


def _problem(seq: int, prev_hash: str, content_ok: bool, last_seq: int, last_hash: str) -> str:
    if seq != last_seq + 1:
        return f"entries #{last_seq + 1} to #{seq - 1} are missing"
    if prev_hash != last_hash:
        return "its link to the previous entry does not match (entry altered or reordered)"
    if not content_ok:
        return "its content does not match its hash (entry altered after it was written)"
    return ""

"""Statements PostgreSQL plans once per connection, for the few queries every request runs.

Django sends each query as text and PostgreSQL plans it afresh (client-side binding,
no prepared statements: that keeps connection poolers working). For the bearer-token
lookup, which every API request runs, planning took longer than running it (about
0.5 ms against 0.1 ms). ``execute_prepared`` PREPAREs such a statement on its first
use on a connection and EXECUTEs it from then on; after a few executions PostgreSQL
keeps one generic plan and plans no more.

SQL-level PREPARE is part of the session, not of a transaction: a rollback keeps it,
and a new connection (Django reconnects after ``CONN_MAX_AGE`` or an error) prepares
again. It does not survive a pooler that hands the statements of one client to
several server sessions (pgbouncer in transaction mode); set
``LIMS_PREPARED_STATEMENTS = False`` there and the statements run as plain queries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db.backends.utils import CursorWrapper


def execute_prepared(cursor: CursorWrapper, sql: str, params: Sequence[Any]) -> None:
    """Run ``sql`` (positional ``%s`` placeholders only) with ``params`` as a statement prepared on this connection."""
    if not getattr(settings, "LIMS_PREPARED_STATEMENTS", True):
        cursor.execute(sql, params)
        return
    name = "lims_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:16]
    session = cursor.db.connection  # the driver's connection: what the statement belongs to
    prepared: set[str] | None = getattr(session, "lims_prepared", None)
    if prepared is None:
        prepared = session.lims_prepared = set()
    if name not in prepared:
        parts = sql.split("%s")
        if len(parts) != len(params) + 1 or "%(" in sql:
            raise ValueError("execute_prepared takes positional %s placeholders, one per parameter")
        numbered = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))
        cursor.execute(f"PREPARE {name} AS {numbered.replace('%%', '%')}")
        prepared.add(name)
    arguments = ", ".join(["%s"] * len(params))
    cursor.execute(f"EXECUTE {name}({arguments})" if params else f"EXECUTE {name}", params)


__all__ = ["execute_prepared"]

"""The audit trail: every change to a regulated row, attributed and hash-chained.

How it fits together:

* ``@audited`` marks a model as regulated (``registry``).
* After every ``migrate`` the database gets, for each regulated table, an
  AFTER INSERT/UPDATE trigger that appends an ``AuditEntry`` and a BEFORE
  DELETE trigger that refuses deletion (``triggers``). Because the database
  does the recording, ``queryset.update()``, the admin and raw SQL are caught
  as surely as services are.
* Who and why travel to the trigger in the ``lims.audit_context`` session
  setting (``context``): services wrap their writes in ``audit_context(actor=,
  reason=)``; web requests get a request id from the middleware; a shell or a
  command is labelled with the OS user and command line.
* ``verify_chain`` recomputes the chain and names the first broken entry.
"""

from compliance.audit.context import audit_context, connect_signals, current_context
from compliance.audit.registry import audited, audited_models
from compliance.audit.triggers import install_triggers, install_triggers_after_migrate
from compliance.audit.verify import ChainReport, chain_head_restore, verify_chain

__all__ = [
    "ChainReport",
    "audit_context",
    "audited",
    "audited_models",
    "chain_head_restore",
    "connect_signals",
    "current_context",
    "install_triggers",
    "install_triggers_after_migrate",
    "verify_chain",
]

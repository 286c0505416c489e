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

Lock order (every service follows it; breaking it deadlocks under load):

1. Domain rows first, before the first audited write of the transaction, and
   the batch before the rows under it: batch -> deviation / finding / dose ->
   infusion. The batch lock is what makes a decision on a batch (release,
   signing, scheduling, closure) see every QC result, finding and deviation:
   whoever adds one locks the batch too, so they queue instead of interleave.
   It is also required: a write to any table readiness reads (``compliance.readiness.versions``
   SOURCES: QC, deviations, findings, doses, infusions...) bumps the batch's
   ``facts_version`` from a trigger that fires *after* the audit trigger, so
   a writer that had not locked its batch first would lock it after the head.
   ``signer_authenticate`` locks the user row in its own short transaction,
   before the signed action's.
2. The audit chain head last. The trigger takes it FOR UPDATE at the first
   audited write and holds it to commit, so nothing may be locked after it
   except what that commit's foreign-key checks take.
3. Those checks take FOR KEY SHARE on every referenced row (batch, user...)
   at commit, after the head. So rows are locked with
   ``select_for_update(no_key=True)`` (FOR NO KEY UPDATE, which does not
   conflict with FOR KEY SHARE), never plain FOR UPDATE, and with
   ``of=("self",)`` when joined rows (protocol, therapy) need not be locked.
"""

from core.audit.context import audit_context, connect_signals, current_context
from core.audit.registry import audited, audited_models
from core.audit.triggers import install_triggers, install_triggers_after_migrate
from core.audit.verify import ChainReport, chain_head_restore, verify_chain

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

"""Every write of compliance records. Atomic, rule-checked, audited, signed where GMP says so.

* ``accounts``: staff accounts.
* ``signatures``: password re-entry, lockout, content-bound signatures.
* ``qc``, ``deviations``: results against specifications; deviations and findings.
* ``checklists``, ``release``: the release checklist and QA's decision.
* ``scheduling``: infusions, bedside administration, observations.
"""

from compliance.services.accounts import user_create

__all__ = ["user_create"]

"""The refusals readiness and the release blockers share, said once (pure: codes, templates, parameters)."""

from __future__ import annotations

from core.errors import Blocker
from core.i18n import N_, term

SEVERITY_WORDS = {"minor": N_("Minor"), "major": N_("Major"), "critical": N_("Critical")}


def qc_pending(test: str) -> Blocker:
    return Blocker("qc_pending", N_("%(test)s result missing"), {"test": test})


def qc_failed(test: str) -> Blocker:
    return Blocker("qc_failed", N_("%(test)s result out of specification"), {"test": test})


def deviation_open(severity: str, description: str) -> Blocker:
    """A blocking deviation, its severity named in the reader's language (the code is stored)."""
    return Blocker(
        "deviation_open",
        N_("%(severity)s deviation open: %(description)s"),
        {"severity": term(SEVERITY_WORDS.get(severity, severity)), "description": description},
    )


def signature_invalid(changed: tuple[str, ...]) -> Blocker:
    if not changed:
        return Blocker(
            "signature_invalid",
            N_(
                "The batch record changed after the QA release signature: "
                "QA must review the change and re-sign the release or reject the batch."
            ),
        )
    return Blocker(
        "signature_invalid",
        N_(
            "The batch record changed after the QA release signature (%(changed)s): "
            "QA must review the change and re-sign the release or reject the batch."
        ),
        {"changed": ", ".join(changed)},
    )

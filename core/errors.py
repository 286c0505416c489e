"""The errors every layer shares: a refused action says every reason, as codes with words.

``DomainError`` (a rule refused it: HTTP 409 with ``blockers``), ``NotPermitted``
(the person may not do this at all: 403) and ``SignatureRefused`` (the signer
could not be authenticated: 403). Interfaces turn them into problem+json or a
message next to the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.i18n import render, render_english


@dataclass(frozen=True)
class Blocker:
    """One reason an action is refused: a stable code, an English template and its parameters.

    ``detail`` is the English text as a ``%(name)s`` template (marked with
    ``core.i18n.N_``); ``message`` renders it in the active language and
    ``english`` without translation. See ``core/i18n.py``.
    """

    code: str
    detail: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def message(self) -> str:
        return render(self.detail, self.params)

    @property
    def english(self) -> str:
        return render_english(self.detail, self.params)


class DomainError(Exception):
    """An action refused by a rule. Carries every reason, not just the first."""

    def __init__(self, blockers: list[Blocker]) -> None:
        self.blockers = blockers
        super().__init__("; ".join(b.english for b in blockers))


class _Refusal(Exception):
    """A refusal with a code and an English template: ``message`` in the user's language."""

    def __init__(self, code: str, detail: str, params: Mapping[str, Any] | None = None) -> None:
        self.code = code
        self.detail = detail
        self.params = dict(params or {})
        super().__init__(self.english)

    @property
    def message(self) -> str:
        return render(self.detail, self.params)

    @property
    def english(self) -> str:
        return render_english(self.detail, self.params)


class NotPermitted(_Refusal):
    """The person may not do this at all (role, segregation of duties): HTTP 403, nothing changed."""

    def __init__(
        self, detail: str, code: str = "not_permitted", params: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(code, detail, params)


class SignatureRefused(_Refusal):
    """The signer could not be authenticated (wrong password, or signing locked): HTTP 403."""

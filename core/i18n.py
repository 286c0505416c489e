"""Words for people, chosen at the interface: the domain says codes and parameters.

The domain (``batches.domain``, ``compliance.domain``) imports no Django, so it
cannot call gettext. It writes its English text as a template with named
parameters and marks it with ``N_`` so ``makemessages --keyword=N_`` extracts
it; the interface renders it in the user's language with :func:`render`::

    Blocker("future_time", N_("The step time lies in the future."))
    Blocker("too_few_cells", N_("%(count)s cells; the dose needs %(target)s."),
            {"count": 3, "target": 5})

This module imports nothing from Django at import time, so the domain may use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def N_(message: str) -> str:  # the gettext_noop convention (N_ is its usual name)
    """Mark ``message`` for translation without translating it (extracted by makemessages)."""
    return message


def render(template: str, params: Mapping[str, Any] | None = None) -> str:
    """``template`` translated into the active language, its ``%(name)s`` filled from ``params``."""
    from django.utils.translation import gettext

    text = gettext(template) if template else template
    if not params:
        return text
    try:
        return text % dict(params)
    except (KeyError, ValueError, TypeError):
        # A translation that lost a placeholder must not turn a refusal into a 500.
        return template % dict(params)


def render_english(template: str, params: Mapping[str, Any] | None = None) -> str:
    """The same, untranslated: for logs, exceptions and audit records."""
    return template % dict(params) if params else template

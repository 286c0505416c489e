"""Words for people, chosen at the interface: the domain says codes and parameters.

The domain (``batches.domain``, ``compliance.domain``) imports no Django, so it
cannot call gettext. It writes its English text as a template with named
parameters and marks it with ``N_`` so ``makemessages --keyword=N_`` extracts
it; the interface renders it in the user's language with :func:`render`::

    Blocker("future_time", N_("The step time lies in the future."))
    Blocker("too_few_cells", N_("%(count)s cells; the dose needs %(target)s."),
            {"count": 3, "target": 5})

Parameters are plain JSON values (the readiness cache stores them) and are
shown as they are: an identifier, a number, a code. A word that must read in
the user's language too (a status, a role, an action) is passed as
``term(N_("in culture"))``; a whole message inside another as
``nested(template, params)``. A list parameter names alternatives: its items
are rendered one by one and joined with " or " (in Japanese with "、").

This module imports nothing from Django at import time, so the domain may use it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def N_(message: str) -> str:  # the gettext_noop convention
    """Mark ``message`` for translation without translating it (extracted by makemessages)."""
    return message


# What joins the alternatives of a list parameter ("technician or QA"); Japanese joins them with "、".
OR = N_(" or ")


def nested(template: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A message as the parameter of another message (plain JSON, so it can be stored)."""
    return {"detail": template, "params": dict(params or {})}


def term(word: str) -> dict[str, Any]:
    """A word (marked with ``N_``) as a parameter that is translated like the message around it."""
    return nested(word)


def _filled(template: str, params: Mapping[str, Any], word: Callable[[str], str]) -> str:
    def value(item: Any) -> Any:
        if isinstance(item, dict) and "detail" in item:
            inner = word(item["detail"]) if item["detail"] else ""
            return _filled(inner, item.get("params") or {}, word) if item.get("params") else inner
        if isinstance(item, list | tuple):
            return word(OR).join(str(value(each)) for each in item)
        return item

    return template % {name: value(item) for name, item in params.items()}


def render(template: str, params: Mapping[str, Any] | None = None) -> str:
    """``template`` translated into the active language, its ``%(name)s`` filled from ``params``."""
    from django.utils.translation import gettext

    text = gettext(template) if template else template
    if not params:
        return text
    try:
        return _filled(text, params, gettext)
    except (KeyError, ValueError, TypeError):
        # A translation that lost a placeholder must not turn a refusal into a 500.
        return render_english(template, params)


def render_english(template: str, params: Mapping[str, Any] | None = None) -> str:
    """The same, untranslated: for logs, exceptions and audit records."""
    return _filled(template, params, str) if params else template

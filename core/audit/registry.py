"""Which models are regulated, and how their rows are recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from django.db import models

M = TypeVar("M", bound=type[models.Model])


@dataclass(frozen=True)
class AuditSpec:
    model: type[models.Model]
    skip: tuple[str, ...]  # columns not worth an entry (e.g. last_login)
    mask: tuple[str, ...]  # columns whose change is recorded but not the value (password hashes)
    deletable: bool  # link tables (role membership) may lose rows; the deletion is recorded


_SPECS: dict[str, AuditSpec] = {}


def audited(  # type: ignore[no-untyped-def]
    model: M | None = None, *, skip: tuple[str, ...] = (), mask: tuple[str, ...] = (), deletable: bool = False
):
    """Class decorator: mark a model as regulated (audited, never deleted).

    Usable bare (``@audited``) or with options (``@audited(skip=("last_login",))``).
    ``skip`` and ``mask`` name database columns. ``deletable`` is for link
    tables only: their deletions are recorded instead of refused.
    """

    def register(cls: M) -> M:
        _SPECS[cls._meta.label] = AuditSpec(model=cls, skip=skip, mask=mask, deletable=deletable)
        return cls

    return register(model) if model is not None else register


def audited_models() -> list[AuditSpec]:
    """Every regulated model, in registration order."""
    return list(_SPECS.values())

"""Roles are Django groups; the permissions each grants live here, in one table."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.contrib.auth.models import Group, Permission

from core.errors import NotPermitted
from core.i18n import N_, term


class Role(StrEnum):
    TECHNICIAN = "technician"
    QC = "qc"
    QA = "qa"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


# The words a refusal names roles by (require_role), for the catalogue.
ROLE_WORDS = (N_("technician"), N_("qc"), N_("QA"), N_("coordinator"), N_("admin"))


# Model permissions (app_label.codename) per role. Django admin honours them;
# the application's own views and services check roles by name (has_role).
_VIEW_ALL = [
    "view_clinic",
    "view_patient",
    "view_therapy",
    "view_collection",
    "view_batch",
    "view_dose",
    "view_location",
    "view_processingprotocol",
]
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.TECHNICIAN: [*_VIEW_ALL, "change_batch", "add_collection"],
    Role.QC: [*_VIEW_ALL],
    Role.QA: [*_VIEW_ALL, "view_auditentry"],
    Role.COORDINATOR: [
        "view_clinic",
        "view_patient",
        "add_patient",
        "view_therapy",
        "add_therapy",
        "view_collection",
        "add_collection",
        "view_batch",
        "view_dose",
        "view_processingprotocol",
    ],
    Role.ADMIN: [
        *_VIEW_ALL,
        "add_clinic",
        "change_clinic",
        "add_location",
        "change_location",
        "add_processingprotocol",
        "change_processingprotocol",
        "add_user",
        "change_user",
        "view_user",
        "view_auditentry",
    ],
}


def ensure_role_groups() -> None:
    """Create the role groups and (re)grant their permissions. Idempotent."""
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        group.permissions.set(Permission.objects.filter(codename__in=codenames))


def ensure_role_groups_after_migrate(sender: Any, **kwargs: Any) -> None:
    ensure_role_groups()


def has_role(user: Any, *roles: Role | str) -> bool:
    """True when ``user`` is active and in any of ``roles``.

    Reads the groups once per user object and caches them on it.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if not hasattr(user, "_lims_roles"):
        user._lims_roles = set(user.groups.values_list("name", flat=True))
    return any(str(role) in user._lims_roles for role in roles)


def is_clinic_system(actor: Any) -> bool:
    """True for a clinic's own system (an API clinic token): no person, no roles."""
    return bool(getattr(actor, "is_clinic_system", False))


def unbound_coordinator(user: Any) -> bool:
    """A coordinator with no clinic: data missing, so every clinic-scoped read or write is refused.

    The database refuses such an account (migration 0005); this guards rows
    written before it, so a missing clinic never widens to lab-wide.
    """
    return (
        not is_clinic_system(user)
        and getattr(user, "clinic_id", None) is None
        and has_role(user, Role.COORDINATOR)
    )


def require_role(actor: Any, *roles: Role, action: str, clinic_system: bool = False) -> None:
    """Refuse (NotPermitted) unless ``actor`` holds one of ``roles`` (or is a clinic system, when allowed).

    The one role check of every service that changes regulated data, so a
    command, a task or a view gets the protection the API has.
    """
    if clinic_system and is_clinic_system(actor):
        return
    if not has_role(actor, *roles):
        names = [role.value.upper() if role == Role.QA else role.value for role in roles]
        raise NotPermitted(
            N_("Only %(roles)s staff may %(action)s."),
            code="role",
            params={"roles": [term(name) for name in names], "action": term(action)},
        )
    if unbound_coordinator(actor):
        raise NotPermitted(N_("This coordinator account is not bound to a clinic."), code="no_clinic")


def require_own_clinic(actor: Any, clinic_id: int, *, action: str) -> None:
    """Refuse (NotPermitted) when ``actor`` is bound to a clinic other than ``clinic_id``.

    Clinic systems and coordinators act for their own clinic only; lab staff
    (no clinic) act for every clinic.
    """
    own = getattr(actor, "clinic_id", None)
    if unbound_coordinator(actor):
        raise NotPermitted(N_("This coordinator account is not bound to a clinic."), code="no_clinic")
    if own is not None and own != clinic_id:
        raise NotPermitted(
            N_("You may %(action)s for your own clinic only."),
            code="other_clinic",
            params={"action": term(action)},
        )

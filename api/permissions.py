"""Who may call what, and which rows they see.

Two questions, kept apart:

* the *right* to call an endpoint (permission classes below; no right -> 403,
  no credentials -> 401);
* the *rows* a caller sees (``scope_to_principal``): a clinic system, and a
  staff user bound to a clinic (a coordinator), see their own clinic's
  records only; another clinic's record is simply not found (404), so its
  existence is not revealed.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from api.auth import ClinicPrincipal
from batches.models import Batch, Clinic, Collection, Dose, Patient, Therapy
from core.roles import Role, has_role, unbound_coordinator

ALL_ROLES = tuple(Role)

# Path from each model to the clinic that owns its rows. The compliance endpoints
# add theirs (e.g. Infusion: "dose__batch__therapy__patient__clinic") or pass clinic_field.
CLINIC_FIELD: dict[type[Model], str] = {
    Patient: "clinic",
    Therapy: "patient__clinic",
    Collection: "therapy__patient__clinic",
    Batch: "therapy__patient__clinic",
    Dose: "batch__therapy__patient__clinic",
}


def is_clinic(request: Request) -> bool:
    return isinstance(request.user, ClinicPrincipal)


def principal_clinic_id(request: Request) -> int | None:
    """The clinic the caller is confined to, or None for lab-wide staff.

    A coordinator with no clinic is refused (403): missing scoping data never widens to lab-wide.
    """
    user = request.user
    if isinstance(user, ClinicPrincipal):
        return user.clinic_id
    _refuse_unbound_coordinator(user)
    return getattr(user, "clinic_id", None)


def _refuse_unbound_coordinator(user: Any) -> None:
    if unbound_coordinator(user):
        raise exceptions.PermissionDenied(
            _("This coordinator account is not bound to a clinic."), code="no_clinic"
        )


def scope_to_principal(
    queryset: QuerySet[Any], request: Request, clinic_field: str | None = None
) -> QuerySet[Any]:
    """``queryset`` narrowed to the rows the caller may see (all of them for lab-wide staff)."""
    clinic_id = principal_clinic_id(request)
    if clinic_id is None:
        return queryset
    lookup = clinic_field or CLINIC_FIELD[queryset.model]
    return queryset.filter(**{f"{lookup}_id": clinic_id})


def registering_clinic(request: Request, requested: Clinic | None) -> Clinic:
    """The clinic a new patient belongs to: the caller's own, or (lab-wide staff) the one named.

    Raises a 400 naming ``clinic`` when a clinic-bound caller names another
    clinic, or lab-wide staff name none.
    """
    user = request.user
    own = user.clinic if isinstance(user, ClinicPrincipal) else getattr(user, "clinic", None)
    if own is None and requested is None:
        raise serializers.ValidationError({"clinic": [_("Give the clinic code of the patient's clinic.")]})
    if own is not None and requested is not None and requested.pk != own.pk:
        raise serializers.ValidationError({"clinic": [_("You register patients of your own clinic only.")]})
    return own or requested


def allow(*roles: Role, clinic: bool = False, name: str | None = None) -> type[BasePermission]:
    """A permission class: callers holding any of ``roles``, plus clinic systems when ``clinic``."""

    class Allowed(BasePermission):
        message = gettext_lazy("Your role does not allow this action.")

        def has_permission(self, request: Request, view: Any) -> bool:
            if not (request.user and request.user.is_authenticated):
                return False  # DRF turns this into 401 when no credentials were given
            if isinstance(request.user, ClinicPrincipal):
                return clinic
            _refuse_unbound_coordinator(request.user)
            return has_role(request.user, *roles)

    Allowed.__name__ = Allowed.__qualname__ = name or "Allow" + "".join(r.title() for r in roles)
    Allowed.roles = roles  # type: ignore[attr-defined]
    Allowed.clinic = clinic  # type: ignore[attr-defined]
    return Allowed


# Reads of patients, therapies and batches: clinics (scoped) and every staff role.
ReadAccess = allow(*ALL_ROLES, clinic=True, name="ReadAccess")
# Registering patients and therapies: the clinic's side.
ClinicWork = allow(Role.COORDINATOR, clinic=True, name="ClinicWork")
# Logging a collection: the clinic's side, or a technician at intake.
CollectionWork = allow(Role.COORDINATOR, Role.TECHNICIAN, clinic=True, name="CollectionWork")
# Bench work (custody, steps): technicians only; never a clinic system.
LabWork = allow(Role.TECHNICIAN, name="LabWork")
# Lab reference data (locations): any staff role.
StaffRead = allow(*ALL_ROLES, name="StaffRead")

"""Writes of compliance records: staff accounts for now."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from batches.models import Clinic
from compliance.models import User
from core.audit import audit_context
from core.i18n import N_
from core.roles import Role, ensure_role_groups, require_role


def user_create(
    *,
    username: str,
    role: Role,
    full_name: str,
    password: str,
    clinic: Clinic | None = None,
    actor: Any = None,
    validate: bool = True,
) -> User:
    """Create a staff or clinic account in one role.

    Coordinators belong to a clinic; CPF roles do not. The admin role may use
    the Django admin. ``validate`` runs Django's password validators. With no
    ``actor`` (``create_user`` at a shell, which bootstraps the first admin)
    no role is checked; an actor must hold the admin role.
    """
    if actor is not None:
        require_role(actor, Role.ADMIN, action=N_("create accounts"))
    if role == Role.COORDINATOR and clinic is None:
        raise ValidationError({"clinic": gettext("A coordinator must belong to a clinic.")})
    if role != Role.COORDINATOR and clinic is not None:
        raise ValidationError(
            {
                "clinic": gettext("Only coordinators belong to a clinic, not the %(role)s role.")
                % {"role": role}
            }
        )
    user = User(username=username, full_name=full_name, clinic=clinic, is_staff=role == Role.ADMIN)
    if validate:
        validate_password(password, user)
    user.set_password(password)
    with transaction.atomic(), audit_context(actor=actor, reason=f"account created ({role})"):
        user.full_clean()
        user.save()
        ensure_role_groups()
        user.groups.add(Group.objects.get(name=role.value))
    return user

"""What every web view shares: role checks, batch scoping, and turning refusals into words on a form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme

from batches import selectors
from batches.models import Batch
from core import scan
from core.errors import DomainError, NotPermitted, SignatureRefused
from core.roles import Role, has_role, unbound_coordinator

ALL_ROLES = tuple(Role)
LAB_ROLES = (Role.TECHNICIAN, Role.QC, Role.QA, Role.ADMIN)


def role_required(*roles: Role) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Signed in (else redirect to the login page) and holding one of ``roles`` (else 403)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, *roles):
                raise PermissionDenied("Your role does not allow this page.")
            return view(request, *args, **kwargs)

        return login_required(checked)

    return decorator


def visible_clinic_id(user: Any) -> int | None:
    """The clinic the user is confined to, or None for lab-wide staff.

    A coordinator not bound to a clinic would otherwise see every clinic: refused.
    """
    if unbound_coordinator(user):
        raise PermissionDenied("This coordinator account is not bound to a clinic.")
    return user.clinic_id


def batch_or_404(request: HttpRequest, din: str) -> Batch:
    """The batch a URL names (DIN, or DIN with its right K) if the user may see it; else 404."""
    try:
        din = scan.parse_din(din).din
    except scan.ScanError as error:
        raise Http404(f"No batch '{din}'.") from error
    batch = selectors.batch_page(din=din, clinic_id=visible_clinic_id(request.user))
    if batch is None:
        raise Http404(f"No batch {din}.")
    return batch


@dataclass
class Outcome:
    """The result of a service call made for a form: its value, or the HTTP status of the refusal."""

    value: Any = None
    status: int = 200

    @property
    def ok(self) -> bool:
        return self.status == 200


def call_service(form: forms.Form, action: Callable[[], Any]) -> Outcome:
    """Run ``action``; a refusal becomes words on ``form`` (``form.refusal`` or field errors).

    The services change nothing when they refuse, so neither does the view.
    """
    form.refusal = []  # type: ignore[attr-defined]
    try:
        return Outcome(action())
    except DomainError as error:
        form.refusal = [blocker.message for blocker in error.blockers]  # type: ignore[attr-defined]
        return Outcome(status=422)
    except NotPermitted as error:
        form.refusal = [error.message]  # type: ignore[attr-defined]
        return Outcome(status=403)
    except SignatureRefused as error:
        form.add_error("password" if "password" in form.fields else None, error.message)
        return Outcome(status=403)
    except ValidationError as error:
        _add_validation_errors(form, error)
        return Outcome(status=422)


def _add_validation_errors(form: forms.Form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        if field in form.fields:
            form.add_error(field, messages)
        else:
            form.add_error(None, [f"{field.replace('_', ' ')}: {message}" for message in messages])


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The ``next`` URL posted with a form when it points into this site, else ``fallback``."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback

"""The storage screens: tanks and freezers, the map of one with occupied and free positions, and the
store, move, remove (verified by a second person) and thaw actions, each by scan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from compliance.models import User
from compliance.services.storage import excursion_assess, storage_removal
from core.errors import Blocker, DomainError
from core.i18n import N_
from core.roles import Role, has_role
from storage import selectors
from storage.models import Container, DoseUnit, Excursion, Position
from storage.services import unit_move, unit_store, unit_thaw
from storage.services.identity import unit_from_scan
from web.forms.storage import ExcursionAssessForm, MoveForm, RemoveForm, StoreForm, ThawForm
from web.views.common import call_service, role_required

STORAGE_ROLES = (Role.TECHNICIAN, Role.QC, Role.QA, Role.ADMIN)
ACTIONS: dict[str, type[forms.Form]] = {
    "store": StoreForm,
    "move": MoveForm,
    "remove": RemoveForm,
    "thaw": ThawForm,
}


def _storage_unit(code: str) -> Container:
    if not (code.isascii() and code.isprintable()):
        raise Http404("No such tank or freezer.")
    unit = (
        Container.objects.filter(code=code.upper(), kind__in=Container.STORAGE_UNITS)
        .select_related("location")
        .first()
    )
    if unit is None:
        raise Http404(f"No tank or freezer {code[:40]}.")
    return unit


@require_GET
@role_required(*STORAGE_ROLES)
def storage_units(request: HttpRequest) -> HttpResponse:
    """Every tank and freezer: occupancy, free positions, last reading, excursions awaiting QA."""
    return _render_units(request)


def _render_units(request: HttpRequest, *, status: int = 200, bound: Any = None) -> HttpResponse:
    waiting = (
        Excursion.objects.filter(assessed_at__isnull=True)
        .select_related("storage_unit")
        .annotate(n_holds=Count("holds"))
        .order_by("started_at")[:50]
    )
    excursions = [
        (e, bound[1] if bound and bound[0] == e.pk else ExcursionAssessForm(prefix=f"x{e.pk}"))
        for e in waiting
    ]
    context = {
        "rows": selectors.storage_units(),
        "excursions": excursions,
        "is_qa": has_role(request.user, Role.QA),
    }
    return render(request, "storage/units.html", context, status=status)


@require_POST
@role_required(Role.QA)
def excursion_assess_view(request: HttpRequest, pk: int) -> HttpResponse:
    """QA's signed assessment of an excursion: lifts the hold on its units, or rejects them."""
    excursion = Excursion.objects.filter(pk=pk).first()
    if excursion is None:
        raise Http404("No such excursion.")
    form = ExcursionAssessForm(request.POST, prefix=f"x{pk}")
    if not form.is_valid():
        return _render_units(request, status=422, bound=(pk, form))
    data = form.cleaned_data
    outcome = call_service(form, lambda: excursion_assess(
        excursion=excursion, decision=data["decision"], assessment=data["assessment"], actor=request.user,
        password=data["password"],
    ))  # fmt: skip
    if not outcome.ok:
        return _render_units(request, status=outcome.status, bound=(pk, form))
    messages.success(request, _("Excursion of %(unit)s assessed.") % {"unit": excursion.storage_unit.code})
    return redirect("storage:units")


@require_GET
@role_required(*STORAGE_ROLES)
def tank_map(request: HttpRequest, code: str) -> HttpResponse:
    """One tank or freezer: its boxes as grids of occupied and free positions, and the scan actions."""
    return _render_map(request, _storage_unit(code))


@require_GET
@role_required(*STORAGE_ROLES)
def position_history(request: HttpRequest, code: str, position: str) -> HttpResponse:
    """Every unit a position has held, when, who stored and removed it, and who verified the removal."""
    unit = _storage_unit(code)
    printable = position.isascii() and position.isprintable()
    slot = (
        printable
        and Position.objects.filter(storage_unit=unit, code=position.upper()).select_related("box").first()
    )
    if not slot:
        raise Http404("No such position.")
    history = selectors.position_history(slot)
    return render(request, "storage/position.html", {"unit": unit, "position": slot, "history": history})


def _render_map(
    request: HttpRequest, unit: Container, *, status: int = 200, bound: Any = None
) -> HttpResponse:
    forms_ = {name: form_class(prefix=name) for name, form_class in ACTIONS.items()}
    if bound is not None:
        forms_[bound[0]] = bound[1]
    context = {
        "unit": unit,
        "boxes": selectors.tank_map(unit),
        "readings": unit.readings.order_by("-taken_at")[:10],
        "excursions": unit.excursions.order_by("-started_at")[:10],
        "forms": forms_,
    }
    return render(request, "storage/tank.html", context, status=status)


@require_POST
@role_required(Role.TECHNICIAN, Role.QA, Role.COORDINATOR)
def tank_action(request: HttpRequest, code: str, action: str) -> HttpResponse:
    """Store, move, remove or thaw by scan; a refusal is shown on the form and changes nothing."""
    unit = _storage_unit(code)
    if action not in ACTIONS:
        raise Http404(f"No action {action[:20]}.")
    form = ACTIONS[action](request.POST, prefix=action)
    if not form.is_valid():
        return _render_map(request, unit, status=422, bound=(action, form))
    outcome = call_service(form, lambda: _ACT[action](request, unit, form.cleaned_data))
    if not outcome.ok:
        return _render_map(request, unit, status=outcome.status, bound=(action, form))
    messages.success(request, outcome.value)
    return redirect("storage:tank", code=unit.code)


def _scanned(request: HttpRequest, data: dict[str, Any], action: str) -> DoseUnit:
    found, _read = unit_from_scan(scanned=data["scanned_unit"], action=action, actor=request.user)
    return found


def _store(request: HttpRequest, unit: Container, data: dict[str, Any]) -> str:
    placement = unit_store(unit=_scanned(request, data, "store"), scanned_unit=data["scanned_unit"],
                           scanned_position=data["scanned_position"], actor=request.user)  # fmt: skip
    return _("Unit %(unit)s stored at %(position)s.") % {
        "unit": placement.unit.code,
        "position": placement.position.code,
    }


def _move(request: HttpRequest, unit: Container, data: dict[str, Any]) -> str:
    placement = unit_move(unit=_scanned(request, data, "move"), scanned_unit=data["scanned_unit"],
                          scanned_position=data["scanned_position"], actor=request.user)  # fmt: skip
    return _("Unit %(unit)s moved to %(position)s.") % {
        "unit": placement.unit.code,
        "position": placement.position.code,
    }


def _remove(request: HttpRequest, unit: Container, data: dict[str, Any]) -> str:
    verifier = User.objects.filter(username=data["verifier"].strip(), is_active=True).first()
    if verifier is None:
        raise DomainError(
            [Blocker("unknown_verifier", N_("No active user '%(name)s'."), {"name": data["verifier"][:40]})]
        )
    found = _scanned(request, data, "remove")
    # Out of the tank but still in its room until packed or thawed: custody stays at the tank's location.
    bench = unit.location
    placement = storage_removal(unit=found, scanned_unit=data["scanned_unit"], purpose=data["purpose"],
                                to_location=bench, actor=request.user, verifier=verifier,
                                verifier_password=data["verifier_password"])  # fmt: skip
    return _("Unit %(unit)s removed from %(position)s, verified by %(verifier)s.") % {
        "unit": placement.unit.code, "position": placement.position.code, "verifier": verifier.get_username()
    }  # fmt: skip


def _thaw(request: HttpRequest, unit: Container, data: dict[str, Any]) -> str:
    found = _scanned(request, data, "thaw")
    thaw = unit_thaw(dose_id=found.code.rsplit("-", 1)[0], scanned_identifier=data["scanned_unit"], actor=request.user,
                     method=data["method"], viability_pct=data.get("viability_pct"))  # fmt: skip
    return _("Unit %(unit)s thawed at %(time)s.") % {
        "unit": found.code,
        "time": f"{thaw.thawed_at:%Y-%m-%d %H:%M}",
    }


_ACT: dict[str, Callable[[HttpRequest, Container, dict[str, Any]], str]] = {
    "store": _store, "move": _move, "remove": _remove, "thaw": _thaw,
}  # fmt: skip

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from batches import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard: batches by status and the most recent batches (clinic-scoped for coordinators)."""
    clinic_id = request.user.clinic_id  # type: ignore[union-attr]
    context = {
        "status_counts": selectors.batch_status_counts() if clinic_id is None else None,
        "batches": selectors.batch_list(clinic_id=clinic_id)[:25],
    }
    return render(request, "batches/home.html", context)

"""What every API view shares: audit attribution, problem responses, batch lookup by DIN.

Compliance endpoints subclass ``ApiView`` (or mix ``ApiViewMixin`` into a DRF
generic view) and declare errors with ``problems(...)`` in ``extend_schema``.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.views import APIView

from api.auth import ClinicPrincipal
from api.errors import PROBLEM_JSON
from api.lab.serializers import ProblemSerializer
from batches.models import Batch
from core import scan
from core.audit import audit_context

_PROBLEM_TEXT = {
    400: "Invalid input: `errors` names each field and what is wrong with it.",
    401: "Missing, invalid, expired or revoked token.",
    403: "The caller's role does not allow this.",
    404: "No such object (or not one the caller may see).",
    409: "Refused: `blockers` lists every reason.",
}


def problems(*codes: int) -> dict[tuple[int, str], OpenApiResponse]:
    """Error responses for ``extend_schema(responses=...)``, as application/problem+json."""
    return {
        (code, PROBLEM_JSON): OpenApiResponse(ProblemSerializer, description=_PROBLEM_TEXT.get(code, ""))
        for code in codes
    }


class Pagination(LimitOffsetPagination):
    """``{"count", "next", "previous", "results"}``; ``?limit=`` up to 200.

    A ``limit`` or ``offset`` that is given but is not a whole number is a 400
    naming it (DRF silently falls back to the default page, so a client with a
    bug would page through the wrong rows without knowing; found by schemathesis).
    """

    max_limit = 200

    def _whole_number(self, request: Request, name: str) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return None
        if not raw.isascii() or not raw.isdigit():
            raise exceptions.ValidationError({name: [_("Give a whole number of 0 or more.")]})
        return int(raw)

    def get_limit(self, request: Request) -> int | None:
        limit = self._whole_number(request, self.limit_query_param)
        if limit is None or limit == 0:
            return self.default_limit
        return min(limit, self.max_limit) if self.max_limit else limit

    def get_offset(self, request: Request) -> int:
        return self._whole_number(request, self.offset_query_param) or 0


class ApiViewMixin:
    """Attributes the writes of a token request to its principal in the audit trail.

    The audit middleware runs before DRF has authenticated a bearer token, so
    it only knows session users. Once DRF has authenticated (``initial``), an
    unsafe request enters an audit context naming the user, or the clinic
    system; it is left when ``dispatch`` returns, whatever happened.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with ExitStack() as stack:
            self._audit_stack = stack
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if request.method in SAFE_METHODS:
            return
        user = request.user
        if isinstance(user, ClinicPrincipal):
            context = audit_context(actor_name=user.display_name, clinic=user.clinic.code)
        else:
            context = audit_context(actor=user)
        self._audit_stack.enter_context(context)


class ApiView(ApiViewMixin, APIView):
    pass


def din_or_404(identifier: str) -> str:
    """The DIN a URL names: the DIN, or the DIN with its right K. Anything else is a 404."""
    try:
        return scan.parse_din(identifier).din
    except scan.ScanError as error:
        raise exceptions.NotFound(
            _("No batch '%(identifier)s': %(problem)s") % {"identifier": identifier, "problem": error.message}
        ) from error


def batch_by_din(queryset: QuerySet[Batch], identifier: str) -> Batch:
    """The batch a URL names: its DIN, or the DIN with its right K. Anything else is a 404."""
    din = din_or_404(identifier)
    batch = queryset.filter(din=din).first()
    if batch is None:
        raise exceptions.NotFound(_("No batch %(din)s.") % {"din": din})
    return batch

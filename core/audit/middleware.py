"""Attach the request id and the signed-in user to audited writes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.audit import audit_context

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class AuditContextMiddleware:
    """Every request gets an id (``X-Request-ID`` echoed or a new UUID).

    Writes only happen on unsafe methods, so only those pay for setting the
    database session's audit context.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex  # type: ignore[attr-defined]
        if request.method in _SAFE_METHODS:
            response = self.get_response(request)
        else:
            user = request.user if getattr(request, "user", None) and request.user.is_authenticated else None
            with audit_context(
                actor=user, request_id=request.request_id, source=f"{request.method} {request.path}"
            ):  # type: ignore[attr-defined]
                response = self.get_response(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response

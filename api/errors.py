"""Every API error as ``application/problem+json`` (RFC 9457).

``{"type", "title", "status", "detail"}``, plus ``errors`` (field -> messages)
for validation failures (400) and ``blockers`` ([{code, detail}]) for actions
a rule refuses (409). Services raise Django's ValidationError for bad values,
DomainError for refusals and NotPermitted for what the person may not do at
all (403); all are translated here, so views never catch anything. A body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413; a bug under /api/ is a problem 500
(``handler500``), never an HTML page.

Words are in the language the client asked for (``Accept-Language``, chosen by
LocaleMiddleware, which also answers ``Content-Language`` and ``Vary``): the
``title``, the ``detail``, each blocker's ``detail`` and the field errors. The
``code`` of a blocker and of a refusal never changes with the language.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext, gettext_lazy
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import Blocker, DomainError, NotPermitted, SignatureRefused
from core.i18n import N_

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
VALIDATION_TYPE = "urn:lims:problem:validation-error"
REFUSED_TYPE = "urn:lims:problem:action-refused"
NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


# The HTTP reason phrases a problem's title reads, in the catalogue (RFC 9457 allows a localised title).
TITLES = {
    400: N_("Bad Request"),
    401: N_("Unauthorized"),
    403: N_("Forbidden"),
    404: N_("Not Found"),
    405: N_("Method Not Allowed"),
    406: N_("Not Acceptable"),
    409: N_("Conflict"),
    413: N_("Request Entity Too Large"),
    415: N_("Unsupported Media Type"),
    429: N_("Too Many Requests"),
    500: N_("Internal Server Error"),
}


def problem(status_code: int, detail: str, *, type_: str = "about:blank", **extra: Any) -> dict[str, Any]:
    """The body of a problem response; ``title`` is the HTTP reason phrase, in the client's language."""
    phrase = HTTPStatus(status_code).phrase
    return {
        "type": type_,
        "title": gettext(TITLES[status_code]) if status_code in TITLES else phrase,
        "status": status_code,
        "detail": detail,
        **extra,
    }


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "body_too_large"


def blocker_list(blockers: Iterable[Blocker]) -> list[dict[str, str]]:
    """The one JSON form of blockers: refusals (409) and readiness answers alike, in the client's language."""
    return [{"code": b.code, "detail": b.message} for b in blockers]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: DRF's handler, then the body rewritten as a problem."""
    if isinstance(exc, DomainError):
        body = problem(
            status.HTTP_409_CONFLICT,
            " ".join(b.message for b in exc.blockers) or gettext("The action was refused."),
            type_=REFUSED_TYPE,
            blockers=blocker_list(exc.blockers),
        )
        return Response(body, status=status.HTTP_409_CONFLICT, content_type=PROBLEM_JSON)
    if isinstance(exc, NotPermitted | SignatureRefused):
        # A wrong password at signing is recorded by the service before it raises.
        exc = exceptions.PermissionDenied(exc.message, code=exc.code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_errors(exc))
    if isinstance(exc, RequestDataTooBig):  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, read by request.body
        exc = BodyTooLarge(
            gettext("The request body is larger than %(size)s bytes.")
            % {"size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: let it be a 500 with its traceback in the log
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        detail = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
        response.data = problem(response.status_code, detail, type_=VALIDATION_TYPE, errors=errors)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = problem(response.status_code, str(detail))
    response.content_type = PROBLEM_JSON
    return response


def _django_errors(error: DjangoValidationError) -> dict[str, list[str]] | list[str]:
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    errors: dict[str, list[str]] = {}
    for name, field_errors in error.error_dict.items():
        for item in field_errors:
            key = _unique_field(item) if name == NON_FIELD_ERRORS else name
            errors.setdefault(key or NON_FIELD, []).extend(item.messages)
    return errors


def _unique_field(item: DjangoValidationError) -> str | None:
    """A (clinic, code) uniqueness clash belongs to the field the person typed: the last one."""
    params = getattr(item, "params", None) or {}
    if getattr(item, "code", None) == "unique_together" and params.get("unique_check"):
        return str(params["unique_check"][-1])
    return None


def _field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail flattened to ``{"field": [...], "doses.0.cells": [...]}``."""
    if isinstance(detail, dict):
        errors: dict[str, list[str]] = {}
        for name, value in detail.items():
            errors.update(_field_errors(value, f"{prefix}.{name}" if prefix else str(name)))
        return errors
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        errors = {}
        for index, value in enumerate(detail):
            errors.update(_field_errors(value, f"{prefix}.{index}" if prefix else str(index)))
        return errors
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or NON_FIELD: [str(message) for message in messages]}


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 for pages; a problem for an unknown URL under /api/ (no DRF view to answer it)."""
    if request.path.startswith("/api/"):
        body = problem(404, gettext("No endpoint at %(path)s. See /api/docs/.") % {"path": request.path})
        return JsonResponse(body, status=404, content_type=PROBLEM_JSON)
    return defaults.page_not_found(request, exception)  # type: ignore[arg-type]


DATABASE_RETRY_AFTER_SECONDS = 5


def handler500(request: HttpRequest) -> HttpResponse:
    """Django's 500 page for pages; under /api/ a problem like every other API error (no traceback).

    When the error is the database going away (a restart, a failover, refused
    connections: ``OperationalError``/``InterfaceError``, wherever in the
    request it happened), the answer is a clean 503 with ``Retry-After``:
    nothing was committed, and every client knows to retry a 503. Measured with
    ``bench/faults/pg_restart.py``: 48 to 51 requests per restart got a 500 before.
    """
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        return _database_unavailable(request)
    if request.path.startswith("/api/"):
        body = problem(500, gettext("An unexpected error occurred. It has been logged; please report it."))
        return JsonResponse(body, status=500, content_type=PROBLEM_JSON)
    return defaults.server_error(request)


def _database_unavailable(request: HttpRequest) -> HttpResponse:
    logger.warning("database unavailable during %s %s", request.method, request.path)
    detail = gettext("The database is briefly unavailable; nothing was saved. Try again in a few seconds.")
    if request.path.startswith("/api/"):
        body = {**problem(503, detail), "code": "database_unavailable"}
        response: HttpResponse = JsonResponse(body, status=503, content_type=PROBLEM_JSON)
    else:
        response = HttpResponse(detail, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response

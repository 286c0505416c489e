"""The second factor at login (TOTP, django-otp): who must have one, and the middleware that holds them to it.

QA and administrators must verify a TOTP code after their password before any
page or session API call (``SECOND_FACTOR_ROLES``; production requires
``["qa", "admin"]``). Anyone else may enrol, and once they have a confirmed
device they are held to it too. The signing re-authentication of electronic
signatures is separate: it re-checks the password at every signing and keeps
its own lockout (``compliance.services.signatures``).

Paths a person needs before verifying (the login, the second-factor pages,
logout, static files, language switch, health checks) stay open; everything
else redirects a browser to the second-factor page, or answers 403 to an API call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp import user_has_device

from core.roles import has_role

OPEN_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/healthz", "/readyz", "/favicon")


SESSION_KEY = "lims_second_factor_required"


def requires_second_factor(user: Any) -> bool:
    """True when ``user`` must pass a TOTP check after the password (reads their devices)."""
    roles = set(settings.SECOND_FACTOR_ROLES)
    if "admin" in roles and (user.is_superuser or user.is_staff):
        return True
    if any(has_role(user, role) for role in roles):
        return True
    return user_has_device(user, confirmed=True)


def safe_next(request: HttpRequest, default: str = "/") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return default


@receiver(user_logged_in)
def _remember_at_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Decide once per login, so a page view costs no query for it (the session is read anyway)."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = requires_second_factor(user)


def _required(request: HttpRequest) -> bool:
    decided = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if decided is None:  # a session from before this code, or made without a login
        decided = requires_second_factor(request.user)
        if hasattr(request, "session"):
            request.session[SESSION_KEY] = decided
    return bool(decided)


class SecondFactorMiddleware:
    """After ``OTPMiddleware``: an unverified user who needs a second factor goes to verify first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(OPEN_PREFIXES)
            and not user.is_verified()
            and _required(request)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "type": "about:blank",
                        "title": _("Second factor required"),
                        "status": 403,
                        "detail": _(
                            "Verify your authenticator code in the web UI first, or use an API token."
                        ),
                        "code": "second_factor_required",
                    },
                    status=403,
                    content_type="application/problem+json",
                )
            return redirect(f"{reverse('second-factor')}?next={request.get_full_path()}")
        return self.get_response(request)

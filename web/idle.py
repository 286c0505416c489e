"""Idle logout: a session unused for ``LIMS_IDLE_TIMEOUT`` (default 15 minutes) is ended by the server.

The server decides, so it holds without JavaScript: every request of a signed-in
session is checked against the time of its last request, kept in the session.
``web/static/web/idle.js`` only warns ``LIMS_IDLE_WARNING`` before it happens
and lets the user stay signed in (a request to ``keepalive``). Bearer-token API
calls carry no session and are not concerned.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

LAST_SEEN = "lims_last_seen"
# The stored time is rewritten at most this often (each write is a session save), so a session
# ends between 14.5 and 15 idle minutes (with the default timeout); idle.js
# counts from the server's figure, so the warning never comes later than the logout.
WRITE_EVERY_SECONDS = 30


def idle_seconds_left(request: HttpRequest, now: float | None = None) -> int:
    """Seconds until the session is ended for inactivity (the timeout when nothing is stored yet)."""
    now = time.time() if now is None else now
    timeout = settings.LIMS_IDLE_TIMEOUT.total_seconds()
    last = request.session.get(LAST_SEEN)
    return round(timeout if last is None else max(0.0, last + timeout - now))


class IdleLogoutMiddleware:
    """End a signed-in session idle for longer than ``LIMS_IDLE_TIMEOUT``, then send the user to log in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user: Any = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            if idle_seconds_left(request, now) <= 0:
                if request.path.startswith("/api/"):
                    logout(request)  # the API answers as to anyone unauthenticated (problem+json)
                    return self.get_response(request)
                return self._signed_out(request)
            last = request.session.get(LAST_SEEN)
            if last is None or now - last >= WRITE_EVERY_SECONDS:
                request.session[LAST_SEEN] = now
        return self.get_response(request)

    def _signed_out(self, request: HttpRequest) -> HttpResponse:
        minutes = max(1, math.ceil(settings.LIMS_IDLE_TIMEOUT.total_seconds() / 60))
        logout(request)
        messages.info(
            request,
            _("You were signed out after %(minutes)s minutes without activity.") % {"minutes": minutes},
        )
        next_url = request.get_full_path() if request.method == "GET" else request.path
        response = redirect_to_login(next_url)
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
        return response


@receiver(user_logged_in)
def _start_idle_clock(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[LAST_SEEN] = time.time()


@never_cache
@require_GET
def keepalive(request: HttpRequest) -> JsonResponse:
    """The user chose to stay signed in: the middleware has counted this request; say how long is left."""
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False, "seconds_left": 0}, status=401)
    request.session[LAST_SEEN] = time.time()
    return JsonResponse({"signed_in": True, "seconds_left": idle_seconds_left(request)})

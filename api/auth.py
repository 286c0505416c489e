"""Who is calling: bearer tokens (clinic systems, staff scripts, instruments) and per-token throttling.

A clinic token authenticates as a ``ClinicPrincipal``, a user token as its
user; ``request.auth`` is the ``ApiToken`` either way (None for a session).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from batches.models import Clinic
from compliance.models import ApiToken, User
from compliance.tokens import token_authenticate


@dataclass(eq=False)
class ClinicPrincipal:
    """A clinic's own system, calling with its clinic token. Not a person: it has no roles.

    Quacks enough like a user for DRF and for ``has_role`` (which answers
    False without a query); services get it as ``actor`` and record no user.
    """

    clinic: Clinic
    token: ApiToken
    pk: None = None
    id: None = None
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    _lims_roles: frozenset[str] = field(default_factory=frozenset)
    is_clinic_system: bool = True

    @property
    def clinic_id(self) -> int:
        return self.clinic.pk

    def get_username(self) -> str:
        return f"clinic:{self.clinic.code}"

    @property
    def display_name(self) -> str:
        return f"Clinic system {self.clinic.code} (token {self.token.prefix}...)"

    def __str__(self) -> str:
        return self.display_name


Principal = User | ClinicPrincipal


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>``. A wrong, expired or revoked token is a 401, never a fallback."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Principal, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None  # not ours: another scheme, or no credentials (then 401 from the permission)
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: use 'Bearer <token>'."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from error
        # A view may name one row to read with the token (``read_with_token``): one round trip, not two.
        read_with_token = getattr((request.parser_context or {}).get("view"), "read_with_token", None)
        token = token_authenticate(key, alongside=read_with_token(request) if read_with_token else None)
        if token is None:
            # Counted per client address only when authentication fails, so a valid token
            # costs no extra round trip; past the rate the answer is 429, not 401.
            failures = FailedAuthThrottle()
            if failures.record_failure(request) > failures.num_requests:
                raise exceptions.Throttled(wait=failures.wait())
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked token."))
        if token.user_id:
            return token.user, token
        return ClinicPrincipal(clinic=token.clinic, token=token), token

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class WindowRateThrottle(SimpleRateThrottle):
    """A fixed-window counter in the shared cache, incremented atomically (Redis ``INCR``).

    DRF's ``SimpleRateThrottle`` reads a list of timestamps, appends and writes
    it back, so two processes counting at once lose each other's requests
    (measured: 24 of 30 requests got through a 20/min limit from two
    processes). Here each window has one integer key; ``add`` creates it and
    ``incr`` counts, so every process sees one count.
    """

    def _window(self) -> tuple[str, float]:
        self.now = self.timer()
        window = int(self.now // self.duration)
        return f"{self.key}:{window}", (window + 1) * self.duration - self.now

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        return self.count() <= self.num_requests

    def count(self) -> int:
        """This window's count after adding this request: one round trip on Redis (INCR + EXPIRE NX)."""
        key, self.remaining = self._window()
        timeout = int(self.duration) + 1
        backend = caches["default"]
        if isinstance(backend, RedisCache):
            full_key = backend.make_and_validate_key(key)
            client = backend._cache.get_client(full_key, write=True)
            pipe = client.pipeline(transaction=False)
            pipe.incr(full_key)
            pipe.expire(full_key, timeout, nx=True)
            return int(pipe.execute()[0])
        # The database cache (no Redis): shared by every process, but get-and-set, not atomic.
        if backend.add(key, 1, timeout):
            return 1
        try:
            return int(backend.incr(key))
        except ValueError:  # expired in between
            backend.add(key, 1, timeout)
            return 1

    def wait(self) -> float:
        return max(1.0, getattr(self, "remaining", self.duration))


class FailedAuthThrottle(WindowRateThrottle):
    """Wrong, expired or revoked bearer tokens per client address (``failed_auth`` rate).

    Counts only failures (``record_failure``), in the shared cache: a client
    guessing tokens gets 429 once past the rate, from every process, while a
    client with a valid token never pays for the count.
    """

    scope = "failed_auth"

    def record_failure(self, request: Request) -> int:
        """Count one failure of ``request``'s client address; the count in this window."""
        self.key = self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        return self.count()


class TokenRateThrottle(WindowRateThrottle):
    """Requests per token (or per session user); rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"]."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiToken):
            return self.cache_format % {"scope": self.scope, "ident": f"t{request.auth.pk}"}
        if request.user and request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": f"u{request.user.pk}"}
        return None  # anonymous requests are refused before throttling


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from `manage.py issue_token` (clinic or user).",
        }

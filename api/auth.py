"""Who is calling: bearer tokens (clinic systems, staff scripts, instruments) and per-token throttling.

A clinic token authenticates as a ``ClinicPrincipal``, a user token as its
user; ``request.auth`` is the ``ApiToken`` either way (None for a session).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
            raise exceptions.AuthenticationFailed("Invalid Authorization header: use 'Bearer <token>'.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed("Invalid token.") from error
        # A view may name one row to read with the token (``read_with_token``): one round trip, not two.
        read_with_token = getattr((request.parser_context or {}).get("view"), "read_with_token", None)
        token = token_authenticate(key, alongside=read_with_token(request) if read_with_token else None)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        if token.user_id:
            return token.user, token
        return ClinicPrincipal(clinic=token.clinic, token=token), token

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class TokenRateThrottle(SimpleRateThrottle):
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

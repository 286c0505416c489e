"""API bearer tokens: issue, revoke, authenticate. Only a token's SHA-256 is ever stored.

A token is ``secrets.token_urlsafe(32)`` (256 random bits), so a plain,
unsalted SHA-256 is enough: there is nothing to brute-force, and a hash
lookup needs one indexed query.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING

from django.contrib.postgres.expressions import ArraySubquery
from django.db import transaction
from django.db.models import OuterRef, Q
from django.utils import timezone

from compliance.audit import audit_context
from compliance.models import ApiToken, User

if TYPE_CHECKING:
    from batches.models import Clinic

# last_used_at is for people reviewing tokens, not an access log: a minute is precise enough
# and spares a write on every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_issue(
    *,
    clinic: Clinic | None = None,
    user: User | None = None,
    expires_at: dt.datetime | None = None,
    actor: object = None,
) -> tuple[ApiToken, str]:
    """Create a token for a clinic system or for a user; returns the token and its key.

    The key is shown once, here: only its hash is kept.
    """
    if (clinic is None) == (user is None):
        raise ValueError("A token belongs to exactly one clinic or one user.")
    key = secrets.token_urlsafe(32)
    with transaction.atomic(), audit_context(actor=actor, reason="API token issued"):
        token = ApiToken.objects.create(
            key_hash=token_hash(key), prefix=key[:8], clinic=clinic, user=user, expires_at=expires_at
        )
    return token, key


def token_revoke(*, token: ApiToken, at: dt.datetime | None = None) -> ApiToken:
    """Revoke a token from ``at`` (default now). Revoking twice keeps the first time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=at or timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token


def token_authenticate(key: str, *, now: dt.datetime | None = None) -> ApiToken | None:
    """The live token ``key`` names, with its owner (and a user owner's roles) loaded, or None.

    One query, plus at most one write a minute (``last_used_at``).

    Not live: unknown, revoked, expired, or owned by an inactive user or clinic.
    """
    now = now or timezone.now()
    roles = User.groups.through.objects.filter(user_id=OuterRef("user_id")).values("group__name")
    token = (
        ApiToken.objects.select_related("clinic", "user")
        .annotate(owner_roles=ArraySubquery(roles))
        .filter(key_hash=token_hash(key), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if token is None:
        return None
    owner_active = token.user.is_active if token.user_id else token.clinic.active
    if not owner_active:
        return None
    if token.user_id:  # the role set ``has_role`` reads, fetched with the token: no query of its own
        token.user._lims_roles = set(token.owner_roles)  # type: ignore[attr-defined]
    _touch(token, now)
    return token


def _touch(token: ApiToken, now: dt.datetime) -> None:
    """Compare-and-set: of concurrent requests in the same minute, one writes and the rest skip."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    token.last_used_at = now

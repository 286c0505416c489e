"""API bearer tokens: issue, revoke, authenticate. Only a token's SHA-256 is ever stored.

A token is ``secrets.token_urlsafe(32)`` (256 random bits), so a plain,
unsalted SHA-256 is enough: there is nothing to brute-force, and a hash
lookup needs one indexed query.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Model, Q
from django.utils import timezone

from batches.models import Clinic
from compliance.models import ApiToken, User
from core.audit import audit_context
from core.prepared import execute_prepared

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


def token_revoke(*, token: ApiToken, at: dt.datetime | None = None, actor: object = None) -> ApiToken:
    """Revoke a token from ``at`` (default now). Revoking twice keeps the first time."""
    with audit_context(actor=actor, reason="API token revoked"):
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=at or timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token


def _columns(model: type[Model]) -> tuple[list[str], str]:
    """A model's concrete columns in field order (what ``from_db`` takes), and them as a SELECT list."""
    quote, table = connection.ops.quote_name, model._meta.db_table
    names = [f.attname for f in model._meta.concrete_fields]
    return names, ", ".join(f"{quote(table)}.{quote(f.column)}" for f in model._meta.concrete_fields)


@functools.cache
def _token_query() -> tuple[str, list[str], list[str], list[str]]:
    """The token, its owner (user or clinic) and a user's role names, in one statement.

    Written once per process rather than compiled by the ORM on every request (the
    ORM's compilation was most of an authenticated request's CPU). None of these
    columns has a database converter: the driver's values are the model's.
    """
    token, token_sql = _columns(ApiToken)
    user, user_sql = _columns(User)
    clinic, clinic_sql = _columns(Clinic)
    # Column names come from the models; values are bound parameters.
    sql = (
        f"SELECT {token_sql}, {user_sql}, {clinic_sql}, "  # noqa: S608
        'ARRAY(SELECT g."name" FROM "compliance_user_groups" ug '
        'JOIN "auth_group" g ON g."id" = ug."group_id" WHERE ug."user_id" = "compliance_apitoken"."user_id") '
        'FROM "compliance_apitoken" '
        'LEFT OUTER JOIN "compliance_user" ON "compliance_user"."id" = "compliance_apitoken"."user_id" '
        'LEFT OUTER JOIN "batches_clinic" ON "batches_clinic"."id" = "compliance_apitoken"."clinic_id" '
        'WHERE "compliance_apitoken"."key_hash" = %s AND "compliance_apitoken"."revoked_at" IS NULL '
        'AND ("compliance_apitoken"."expires_at" IS NULL OR "compliance_apitoken"."expires_at" > %s) '
        "LIMIT 1"
    )
    return sql, token, user, clinic


def token_authenticate(
    key: str, *, now: dt.datetime | None = None, alongside: tuple[str, Sequence[Any]] | None = None
) -> ApiToken | None:
    """The live token ``key`` names, with its owner (and a user owner's roles) loaded, or None.

    One query, plus at most one write a minute (``last_used_at``).

    Not live: unknown, revoked, expired, or owned by an inactive user or clinic.

    ``alongside`` is a one-row SELECT (whose first column is never NULL) and its
    parameters, for a request that needs one row besides its token: the same
    statement reads it, so the request makes one round trip to the database, not
    two. The row (None if it found none) is left on the token as ``alongside``;
    it is read whether or not the token is live, so the caller uses it only after
    authentication and its own permission checks.
    """
    now = now or timezone.now()
    sql, token_names, user_names, clinic_names = _token_query()
    params: list[Any] = [token_hash(key), now]
    if alongside is not None:
        sql = f"SELECT * FROM ({sql}) AS token RIGHT JOIN (SELECT 1) AS one ON true LEFT JOIN ({alongside[0]}) AS alongside ON true"  # noqa: S608 - the callers' constant SQL
        params += alongside[1]
    with connections[ApiToken.objects.db].cursor() as cursor:
        execute_prepared(cursor, sql, params)  # every API request runs it: planned once per connection
        row = cursor.fetchone()
    width = len(token_names) + len(user_names) + len(clinic_names) + 1
    extra: tuple[Any, ...] | None = None
    if alongside is not None:
        row, extra = (row[:width], row[width + 1 :]) if row[0] is not None else (None, None)
    if row is None:
        return None
    db = ApiToken.objects.db
    n, m = len(token_names), len(token_names) + len(user_names)
    token = ApiToken.from_db(db, token_names, row[:n])
    user = User.from_db(db, user_names, row[n:m]) if token.user_id else None
    clinic = Clinic.from_db(db, clinic_names, row[m:-1]) if token.clinic_id else None
    ApiToken.user.field.set_cached_value(token, user)
    ApiToken.clinic.field.set_cached_value(token, clinic)
    owner_active = user.is_active if user is not None else bool(clinic and clinic.active)
    if not owner_active:
        return None
    if user is not None:  # the role set ``has_role`` reads, fetched with the token: no query of its own
        user._lims_roles = set(row[-1])  # type: ignore[attr-defined]
    if alongside is not None:
        token.alongside = extra if extra and extra[0] is not None else None  # type: ignore[attr-defined]
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

"""Allocation of DINs and COIs: per FIN and year, without gaps or duplicates.

The counter row is incremented with one ``INSERT ... ON CONFLICT DO UPDATE``,
which takes the row lock until the surrounding transaction ends: concurrent
allocations queue, and a rolled-back allocation gives its number back.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core import isbt128

_NEXT_SQL = """
INSERT INTO batches_identifiersequence (kind, fin, year, last_value) VALUES (%s, %s, %s, 1)
ON CONFLICT (kind, fin, year) DO UPDATE SET last_value = batches_identifiersequence.last_value + 1
RETURNING last_value
"""


def _next_value(kind: str, fin: str, year: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_SQL, [kind, fin, year])
        (value,) = cursor.fetchone()
    return int(value)


def _local_year(at: dt.datetime | None) -> int:
    return timezone.localtime(at or timezone.now()).year


@transaction.atomic
def din_allocate(*, at: dt.datetime | None = None, fin: str | None = None) -> str:
    """The next DIN of this facility for the year of ``at`` (default now, Tokyo time)."""
    fin = fin or settings.LIMS_FIN
    year = _local_year(at)
    return isbt128.format_din(fin, year, _next_value("din", fin, year))


@transaction.atomic
def coi_allocate(*, at: dt.datetime | None = None, fin: str | None = None) -> str:
    """The next Chain of Identity identifier (``CH`` + FIN + yy + sequence)."""
    fin = fin or settings.LIMS_FIN
    year = _local_year(at)
    return isbt128.format_coi(fin, year, _next_value("coi", fin, year))

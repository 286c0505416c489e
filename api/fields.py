"""The one parser of API timestamps and dates, and the serializer fields that use it.

Django's parser accepts what ISO 8601 does not (non-ASCII digits match its
``\\d``) and raises, rather than answering None, for text that is well formed
but names no real time (``2026-02-30``, an offset of ``+25:00``); converting an
instant near year 1 or 9999 to UTC or Tokyo time overflows. Here every such
input is a ValueError with a message for the client, so a field or query
parameter answers 400 naming itself, never 500.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from core.clock import EARLIEST_YEAR, LATEST_INSTANT, instant_error

TIMESTAMP_HINT = gettext_lazy("An ISO 8601 timestamp, e.g. 2026-12-01T10:00:00+09:00.")
DATE_HINT = gettext_lazy("An ISO 8601 date, e.g. 2026-12-01.")


def parse_timestamp(raw: str) -> dt.datetime:
    """An aware datetime from ISO 8601 text (Tokyo time when no offset is given).

    Raises ValueError for anything else: bad shape, non-ASCII digits, an
    impossible date or offset, an instant outside the supported range.
    """
    if not raw.isascii():
        raise ValueError(_("%(hint)s Use ASCII digits.") % {"hint": TIMESTAMP_HINT})
    try:
        parsed = parse_datetime(raw.strip())
    except ValueError as error:  # well formed, but no such date or offset
        raise ValueError(_("Not a real date and time (%(error)s).") % {"error": error}) from error
    if parsed is None:
        raise ValueError(str(TIMESTAMP_HINT))
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    try:
        problem = instant_error(parsed.astimezone(dt.UTC))
    except OverflowError:  # e.g. 9999-12-31T23:59:59-12:00 is in year 10000 in UTC
        problem = instant_error(LATEST_INSTANT)
    if problem:
        raise ValueError(problem)
    return parsed


def parse_api_date(raw: str) -> dt.date:
    """A date from ISO 8601 text (``YYYY-MM-DD``, ASCII digits, year from 1900). Raises ValueError."""
    if not raw.isascii():
        raise ValueError(_("%(hint)s Use ASCII digits.") % {"hint": DATE_HINT})
    try:
        parsed = parse_date(raw.strip())
    except ValueError as error:
        raise ValueError(_("Not a real date (%(error)s).") % {"error": error}) from error
    if parsed is None:
        raise ValueError(str(DATE_HINT))
    if not EARLIEST_YEAR <= parsed.year < LATEST_INSTANT.year:
        raise ValueError(
            _("The year must lie between %(first)s and %(last)s.")
            % {"first": EARLIEST_YEAR, "last": LATEST_INSTANT.year - 1}
        )
    return parsed


class Timestamp(serializers.DateTimeField):
    """A date-time input field read by ``parse_timestamp`` (text only: a number or bool is a 400)."""

    def to_internal_value(self, value: Any) -> dt.datetime:
        if not isinstance(value, str):
            raise serializers.ValidationError(TIMESTAMP_HINT)
        try:
            return parse_timestamp(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from error


class ApiDate(serializers.DateField):
    """A date input field read by ``parse_api_date``."""

    def to_internal_value(self, value: Any) -> dt.date:
        if not isinstance(value, str):
            raise serializers.ValidationError(DATE_HINT)
        try:
            return parse_api_date(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from error

"""Signals the lab chain sends to the layers above it, which it may not import.

``projection_changed``: sent by the service that stores a batch's growth
projection, INSIDE the transaction that stores it, when the stored value
changed. Receivers that write (the webhook outbox, ``compliance.webhook_events``)
therefore commit or roll back with it. Keyword arguments:

* ``batch``: the ``Batch``;
* ``previous``: the ``ProjectionDates`` stored before (None for the first);
* ``current``: the ``ProjectionDates`` stored now;
* ``revision``: optional, what tells two stores of the same dates apart
  (a version or the time it was stored), so a projection that moves back and
  forth is announced each time while a replayed store is not.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from django.dispatch import Signal


class ProjectionDates(NamedTuple):
    """A projected ready date and its 80% interval (any may be None: not projected)."""

    ready_on: dt.date | None
    low: dt.date | None
    high: dt.date | None


projection_changed = Signal()

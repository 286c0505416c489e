"""Notifications of flags: a row per recipient for the web UI, and an e-mail after commit."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from batches.models import Flag, Notification
from compliance import webhook_events
from core.roles import Role

logger = logging.getLogger(__name__)

K = Flag.Kind
# Who answers for each kind. Coordinators are told only about their own clinic's batches.
KIND_ROLES: dict[str, tuple[Role, ...]] = {
    K.CULTURE_DUE_SOON: (Role.TECHNICIAN,),
    K.CULTURE_OVERDUE: (Role.TECHNICIAN,),
    K.FEEDING_OVERDUE: (Role.TECHNICIAN,),
    K.SEEDING_OVERDUE: (Role.TECHNICIAN,),
    K.CULTURE_AT_RISK: (Role.TECHNICIAN,),
    K.QC_LATE: (Role.QC,),
    K.DOSE_EXPIRING: (Role.QA, Role.COORDINATOR),
    K.INDICATION_WINDOW: (Role.QA, Role.COORDINATOR),
}

# Who answers for which kind, as the rows the notification query joins on.
_KIND_ROLE_ROWS = [(str(kind), str(role)) for kind, roles in KIND_ROLES.items() for role in roles]

# One statement for the flags of every kind: each flag goes to the users holding a
# role that answers for its kind. ON CONFLICT: a flag never notifies one user twice
# at one severity.
_NOTIFY = """
WITH events(flag_id, event) AS (
    SELECT unnest(%(opened)s::bigint[]), 'opened' UNION ALL SELECT unnest(%(escalated)s::bigint[]), 'escalated'
),
kind_roles(kind, role) AS (SELECT * FROM unnest(%(role_kinds)s::text[], %(role_names)s::text[])),
sent AS (
    INSERT INTO batches_notification (flag_id, user_id, event, severity, created_at)
    SELECT DISTINCT ON (f.id, r.user_id) f.id, r.user_id, e.event, f.severity, %(now)s
    FROM events e
    JOIN batches_flag f ON f.id = e.flag_id
    JOIN kind_roles kr ON kr.kind = f.kind
    JOIN batches_batch b ON b.id = f.batch_id
    JOIN batches_therapy t ON t.id = b.therapy_id
    JOIN batches_patient pt ON pt.id = t.patient_id
    JOIN (
        SELECT u.id AS user_id, u.clinic_id, g.name AS role
        FROM compliance_user u
        JOIN compliance_user_groups ug ON ug.user_id = u.id
        JOIN auth_group g ON g.id = ug.group_id
        WHERE u.is_active
    ) r ON r.role = kr.role AND (r.role <> 'coordinator' OR r.clinic_id = pt.clinic_id)
    ORDER BY f.id, r.user_id
    ON CONFLICT (flag_id, user_id, severity) DO NOTHING
    RETURNING flag_id, user_id, event
)
SELECT u.email, s.event, f.kind, f.severity, f.detail, b.din
FROM sent s
JOIN compliance_user u ON u.id = s.user_id
JOIN batches_flag f ON f.id = s.flag_id
JOIN batches_batch b ON b.id = f.batch_id
WHERE u.email <> ''
ORDER BY s.flag_id, s.user_id
"""


def notify_flags(*, opened: list[int], escalated: list[int], now: dt.datetime) -> int:
    """Notify the responsible roles of flags that opened or escalated, of any kinds (one query, none if none).

    Call inside the transaction that changed the flags: the e-mails leave only
    after it commits. Returns the number of e-mails queued.
    """
    if not opened and not escalated:
        return 0
    params = {
        "opened": opened,
        "escalated": escalated,
        "now": now,
        "role_kinds": [kind for kind, _ in _KIND_ROLE_ROWS],
        "role_names": [role for _, role in _KIND_ROLE_ROWS],
    }
    with connection.cursor() as cursor:
        cursor.execute(_NOTIFY, params)
        rows = cursor.fetchall()
    if opened:
        # Clinic systems are told of newly expiring doses too, by webhook, in this transaction (the outbox).
        expiring = list(
            Flag.objects.filter(pk__in=opened, kind=K.DOSE_EXPIRING)
            .order_by("pk")
            .values_list("pk", "batch_id")
        )
        if expiring:
            webhook_events.doses_expiring(
                batch_ids=[batch_id for _, batch_id in expiring], flag_ids=[pk for pk, _ in expiring], now=now
            )
    messages = []
    # Users have no stored language: e-mails are written in the facility's (LANGUAGE_CODE).
    with translation.override(settings.LANGUAGE_CODE):
        for email, event, kind, severity, detail, din in rows:
            words = {
                "label": str(Flag.Kind(kind).label),
                "din": din,
                "event": str(Notification.Event(event).label).lower(),
                "severity": str(Flag.Severity(severity).label).lower(),
                "detail": detail,
            }
            messages.append(
                (
                    gettext("[LIMS] %(severity)s: %(label)s - batch %(din)s")
                    % {**words, "severity": words["severity"].upper()},
                    gettext("Batch %(din)s: %(label)s (%(event)s, %(severity)s).\n\n%(detail)s\n") % words,
                    settings.DEFAULT_FROM_EMAIL,
                    [email],
                )
            )
    if messages:
        transaction.on_commit(lambda: _send(messages))
    return len(messages)


def _send(messages: list[tuple[str, str, str, list[str]]]) -> None:
    # The flag and its notification rows are committed; a mail server outage must not undo them.
    try:
        send_mass_mail(messages, fail_silently=False)
    except Exception:
        logger.exception(
            "flag e-mails not sent (%d messages); the notifications stay in the web UI", len(messages)
        )


def notification_mark_read(*, notification_id: int, user_id: int, now: dt.datetime | None = None) -> bool:
    """Mark one of the user's notifications read (compare-and-set: False when already read)."""
    updated = Notification.objects.filter(id=notification_id, user_id=user_id, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
    return bool(updated)

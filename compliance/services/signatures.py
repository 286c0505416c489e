"""Electronic signatures: password re-entered at every signing, lockout, content binding."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.domain.signatures import canonical, content_hash
from compliance.models import Signature, User
from core.audit import audit_context
from core.errors import Blocker, DomainError, SignatureRefused
from core.i18n import N_, term

logger = logging.getLogger(__name__)

MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
UNIQUE = "signature_once_per_content"  # the database's guard against a repeat signature


def signer_authenticate(*, user: User, password: str, now: dt.datetime | None = None) -> None:
    """Check the re-entered password; five failures in a row lock signing for 15 minutes.

    Runs in its own transaction before the signed action, so every failure
    stays recorded (in the user row's audit entries) even though the action
    is refused. Attempts while locked are refused without counting, so a lock
    never extends itself: it ends 15 minutes after the fifth failure.

    The user row is locked FOR NO KEY UPDATE, not FOR UPDATE: every audited
    row naming this user (``opened_by``, ``signer``...) checks its foreign key
    at commit with FOR KEY SHARE, after it holds the audit chain head, and a
    FOR UPDATE here would wait for that head while blocking that check
    (the deadlock of issue 9). See the lock order in ``core.audit``.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        refusal = None
        if locked.signing_locked_until and locked.signing_locked_until > now:
            refusal = SignatureRefused(
                "signing_locked",
                N_("Signing is locked after %(failures)s wrong passwords until %(until)s."),
                {
                    "failures": MAX_FAILURES,
                    "until": f"{timezone.localtime(locked.signing_locked_until):%H:%M %Z}",
                },
            )
            logger.warning("signing attempt by user %s refused while locked", locked.pk)
        else:
            if not (locked.is_active and locked.check_password(password)):
                refusal = SignatureRefused(
                    "wrong_password", N_("The password is not correct; nothing was signed.")
                )
            _record_attempt(locked, refusal, now)
    if refusal is not None:
        raise refusal


def _record_attempt(user: User, refusal: SignatureRefused | None, now: dt.datetime) -> None:
    if refusal is None:
        if user.signing_failures:
            User.objects.filter(pk=user.pk).update(signing_failures=0)
        return
    failures = user.signing_failures + 1
    with audit_context(actor=user, reason=f"signature refused ({refusal.code}, {failures} in a row)"):
        if failures >= MAX_FAILURES:
            User.objects.filter(pk=user.pk).update(signing_failures=0, signing_locked_until=now + LOCKOUT)
        else:
            User.objects.filter(pk=user.pk).update(signing_failures=failures)


def signature_create(
    *,
    signer: User,
    meaning: str,
    record_type: str,
    record_id: str,
    content: Any,
    comment: str = "",
    now: dt.datetime | None = None,
) -> Signature:
    """Store a signature bound to ``content``. The caller has authenticated the signer.

    The same signer cannot sign the same record with the same meaning twice
    on unchanged content: the database's ``signature_once_per_content``
    constraint refuses it even if two requests passed the caller's check, and
    the refusal is ``already_signed`` (409), with nothing written.
    """
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable
            return Signature.objects.create(
                signer=signer,
                printed_name=signer.full_name or signer.get_username(),
                signed_at=now or timezone.now(),
                meaning=meaning,
                record_type=record_type,
                record_id=record_id,
                content_hash=content_hash(content),
                content=json.loads(canonical(content)),
                comment=comment,
            )
    except IntegrityError as error:
        if getattr(getattr(error.__cause__, "diag", None), "constraint_name", "") != UNIQUE:
            raise
        raise DomainError([already_signed(meaning)]) from error


# The words a refusal names a signature's meaning by, for the catalogue.
MEANING_WORDS = (N_("authored"), N_("reviewed"), N_("verified"), N_("approved"))


def already_signed(meaning: str) -> Blocker:
    """The refusal of a repeat signature, from the service check or from the constraint."""
    return Blocker(
        "already_signed",
        N_("You have already signed this as %(meaning)s, and it has not changed since."),
        {"meaning": term(meaning)},
    )


def signature_is_valid(signature: Signature, current_content: Any) -> bool:
    """A signature holds while the record still has the content it was signed on."""
    return signature.content_hash == content_hash(current_content)

"""Who is changing data, and why: carried to the audit trigger.

The trigger reads the ``lims.audit_context`` setting of the database session.
It is set at session level (not transaction-local) so that autocommit writes,
such as an admin save outside a service, are attributed too; a thread-local
stack keeps nested contexts and restores the outer one on exit. A setting
changed inside a transaction that rolls back reverts with it, which is why a
failed restore is harmless.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.db import DatabaseError, connection
from django.db.backends.signals import connection_created

_local = threading.local()


def _process_context() -> dict[str, Any]:
    """The fallback for changes made outside any request or service: who ran what, where."""
    argv = [os.path.basename(sys.argv[0]) if sys.argv else "python", *sys.argv[1:3]]
    user = getpass.getuser()
    return {
        "source": " ".join(argv),
        "os_user": user,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "actor_name": f"{user}@{socket.gethostname()} ({' '.join(argv)})",
    }


def _stack() -> list[dict[str, Any]]:
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack  # type: ignore[no-any-return]


def current_context() -> dict[str, Any]:
    """The context the next audited write of this thread will carry."""
    stack = _stack()
    return stack[-1] if stack else _process_context()


def _apply(context: dict[str, Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lims.audit_context', %s, false)", [json.dumps(context, default=str)]
        )


@contextmanager
def audit_context(
    *, actor: Any = None, reason: str | None = None, request_id: str | None = None, **extra: Any
) -> Iterator[dict[str, Any]]:
    """Attribute every audited write inside the block to ``actor``, with ``reason``.

    Values not given are inherited from the enclosing context (a service
    called inside a web request keeps the request id).
    """
    context = {**current_context(), **extra}
    if actor is not None and getattr(actor, "pk", None) is not None:
        context["actor_id"] = actor.pk
        context["actor_name"] = getattr(actor, "full_name", "") or actor.get_username()
        context["actor_username"] = actor.get_username()
    if reason is not None:
        context["reason"] = reason
    if request_id is not None:
        context["request_id"] = request_id
    _stack().append(context)
    try:
        _apply(context)
        yield context
    finally:
        _stack().pop()
        # If the transaction is aborted, its rollback restores the outer value.
        with suppress(DatabaseError):
            _apply(current_context())


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    """A new database session starts labelled with the current context."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lims.audit_context', %s, false)",
            [json.dumps(current_context(), default=str)],
        )


def connect_signals() -> None:
    connection_created.connect(_on_connection_created, dispatch_uid="lims_audit_context")

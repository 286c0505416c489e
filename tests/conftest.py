import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db.backends.postgresql.operations import DatabaseOperations

from compliance.models import User
from core.roles import Role
from tests.factories import UserFactory


def pytest_configure(config: pytest.Config) -> None:
    """Compile the catalogues whose .po is newer than its .mo (.mo files are built, not committed).

    ``make test`` and CI compile them first; this keeps a bare ``pytest`` in Japanese too.
    """
    root = Path(__file__).resolve().parent.parent
    for po in [*root.glob("*/locale/*/LC_MESSAGES/django.po"), *root.glob("locale/*/LC_MESSAGES/django.po")]:
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        if shutil.which("msgfmt"):
            subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True)
        else:
            import polib

            polib.pofile(str(po)).save_as_mofile(str(mo))


@pytest.fixture
def technician(db: None) -> User:
    return UserFactory(role=Role.TECHNICIAN, full_name="Taro Technician")


@pytest.fixture
def qa_user(db: None) -> User:
    return UserFactory(role=Role.QA, full_name="Hanako QA")


@pytest.fixture
def admin_user(db: None) -> User:
    user = UserFactory(role=Role.ADMIN, full_name="Ada Admin", is_staff=True, is_superuser=True)
    return user


@pytest.fixture(autouse=True, scope="session")
def _flush_with_triggers_off() -> Iterator[None]:
    """Let the flush between transactional tests TRUNCATE the regulated tables.

    The database refuses TRUNCATE of audited tables and of the audit trail; a
    test database is emptied the way an operator would do it, as a superuser
    with triggers off for that one transaction.
    """
    original = DatabaseOperations.sql_flush

    def sql_flush(self: DatabaseOperations, *args: Any, **kwargs: Any) -> list[str]:
        statements = original(self, *args, **kwargs)
        return ["SET LOCAL session_replication_role = replica", *statements] if statements else statements

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield

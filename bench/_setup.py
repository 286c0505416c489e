"""What every bench shares: its own database on the development server, set up before django.setup()."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent


def connect_params(server: dict[str, Any], dbname: str) -> dict[str, Any]:
    """psycopg connection keywords for ``dbname`` on the server of a Django DATABASES entry."""
    params = {"dbname": dbname, "user": server["USER"], "password": server["PASSWORD"] or None}
    params |= {"host": server["HOST"] or None, "port": server["PORT"] or None}
    return {k: v for k, v in params.items() if v is not None}


def create_database(server: dict[str, Any], name: str) -> None:
    """Create database ``name`` on the server unless it exists."""
    import psycopg

    with psycopg.connect(**connect_params(server, "postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f"CREATE DATABASE {name}")
            print(f"created database {name}")


def configure(name: str) -> dict[str, Any]:
    """Point Django at database ``name`` on the development server (embedded PostgreSQL or DATABASE_URL).

    Development data is never touched. DEBUG is off: it keeps every query in memory,
    which is not what production measures.
    """
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("LIMS_ENV", "development")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    from django.conf import settings

    database: dict[str, Any] = settings.DATABASES["default"]  # starts the embedded server if needed
    create_database({k: database[k] for k in ("USER", "PASSWORD", "HOST", "PORT")}, name)
    database["NAME"] = name
    database["CONN_MAX_AGE"] = 0
    settings.DEBUG = False
    return database

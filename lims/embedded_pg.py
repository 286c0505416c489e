"""The private PostgreSQL used when no DATABASE_URL is given.

It comes from the ``pgserver`` wheel (PostgreSQL 16 binaries inside a Python
package), lives under ``var/pgdata`` and listens on a Unix socket in that
directory only, so it never clashes with a system PostgreSQL. The server is
left running between commands (``manage.py migrate`` then ``runserver`` reuse
it); ``python -m lims.embedded_pg stop`` stops it.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.get("LIMS_PGDATA", BASE_DIR / "var" / "pgdata"))
DATABASE_NAME = "lims"


def _server():  # type: ignore[no-untyped-def]
    warnings.filterwarnings("ignore", module="platformdirs")
    import pgserver

    PGDATA.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process, so every manage.py
    # command does not pay for a start and a stop.
    return pgserver.get_server(PGDATA, cleanup_mode=None)


def database_settings() -> dict[str, object]:
    """Start the embedded server if needed and return Django DATABASES['default']."""
    server = _server()
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608 (constant)
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(PGDATA),  # the socket directory
        "PORT": "",
    }


def stop() -> None:
    """Stop the embedded server if it runs."""
    if not (PGDATA / "postmaster.pid").exists():
        return
    server = _server()
    # pgserver stops the server only when the caller is its last user; a
    # process killed earlier may still be listed, so claim to be the only one.
    server.global_process_id_list.put([os.getpid()])
    server.cleanup_mode = "stop"
    server.cleanup()


def url() -> str:
    """A libpq URL for the embedded database (for psql or DATABASE_URL)."""
    database_settings()
    return f"postgresql://postgres@/{DATABASE_NAME}?host={PGDATA}"


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "url"
    if command == "stop":
        stop()
    elif command == "url":
        print(url())
    else:
        sys.exit(f"usage: python -m lims.embedded_pg [url|stop], not {command!r}")

#!/usr/bin/env python3
"""Update the Japanese catalogues, one per app: ``.venv/bin/python scripts/makemessages.py``.

Each app keeps its own catalogue (``<app>/locale/ja/LC_MESSAGES/django.po``) and
``locale/`` holds the project's own strings (``lims/``, ``templates/``). Django's
``makemessages`` cannot be told the domain's marker ``N_`` on the command line
(``core.i18n``: the domain imports no Django, so it marks its English templates
with ``N_`` rather than ``gettext_noop``), and run from the project root it puts
every string into one catalogue. So this script runs it inside each app with
``--keyword=N_`` added, without project settings (no database, no Redis).

``--compile`` compiles the catalogues to ``.mo`` instead (``make messages``,
which ``make test`` and ``make run`` run first; ``.mo`` files are built, never
committed, so a ``.po`` and its ``.mo`` cannot disagree in the repository).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["ja"]
# Never scanned for the root catalogue: the apps (each has its own) and what ships no UI text.
NO_TEXT = ["demo", "tests", "bench", "scripts", "docs", "var", "static", ".venv", "node_modules"]


def apps(root: Path = ROOT) -> list[str]:
    """The packages with a catalogue of their own: every top-level directory with a ``locale/``.

    A new app gets one by creating ``<app>/locale/``; ``locale/`` at the root takes the rest
    (``lims/``, ``templates/``).
    """
    return sorted(path.parent.name for path in root.glob("*/locale") if path.parent.name not in NO_TEXT)


def _django() -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_I18N=True)
    import django

    django.setup()


@contextlib.contextmanager
def _inside(path: Path) -> Iterator[None]:
    here = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(here)


def catalogues(root: Path = ROOT) -> list[tuple[Path, list[str]]]:
    """Each catalogue's base directory and the paths makemessages ignores there."""
    own = apps(root)
    return [(root / app, []) for app in own] + [(root, [f"{name}/*" for name in [*own, *NO_TEXT]])]


def make(root: Path = ROOT, *, verbosity: int = 1) -> list[Path]:
    """Run makemessages (with ``N_``) for every catalogue under ``root``; the ``.po`` files written."""
    _django()
    from django.core.management import call_command
    from django.core.management.commands import makemessages

    class Command(makemessages.Command):
        xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=N_"]

    written = []
    for base, ignore in catalogues(root):
        (base / "locale").mkdir(exist_ok=True)
        with _inside(base):
            call_command(
                Command(), locale=LANGUAGES, ignore_patterns=ignore, no_obsolete=True, verbosity=verbosity
            )
        written += [base / "locale" / lang / "LC_MESSAGES" / "django.po" for lang in LANGUAGES]
    return written


def compile_all(root: Path = ROOT, *, verbosity: int = 1) -> list[Path]:
    """Compile every catalogue under ``root`` to ``.mo``; the files written.

    With gettext installed (CI, the container image) this is Django's
    ``compilemessages`` (``msgfmt --check-format``: a malformed ``.po`` fails);
    without it polib (a development requirement) compiles them, so ``make run``
    and ``make test`` need nothing from Debian.
    """
    found = [
        po for base, _ in catalogues(root) for po in sorted((base / "locale").glob("*/LC_MESSAGES/django.po"))
    ]
    if shutil.which("msgfmt"):
        _django()
        from django.core.management import call_command

        with _inside(root):  # compilemessages walks the tree for every locale/ directory
            call_command(
                "compilemessages", ignore_patterns=[".venv", "var", "node_modules"], verbosity=verbosity
            )
    else:
        import polib

        for po in found:
            polib.pofile(str(po)).save_as_mofile(str(po.with_suffix(".mo")))
    return [po.with_suffix(".mo") for po in found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compile", action="store_true", help="compile the catalogues to .mo instead")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.compile:
        compile_all(verbosity=0)
    else:
        for path in make():
            print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Fail when a Japanese catalogue is stale, incomplete or malformed: ``.venv/bin/python scripts/check_translations.py``.

CI runs it (``.ci/run``). It checks every catalogue ``scripts/makemessages.py``
maintains (one per app, plus ``locale/`` for ``lims/`` and ``templates/``):

1. **fresh**: makemessages is run into a temporary copy of the source tree and
   the msgids it extracts must be exactly those committed (a new string nobody
   extracted, or an obsolete one nobody removed, fails);
2. **complete**: no entry has an empty msgstr, and none is fuzzy (a fuzzy entry
   is a guess gettext does not use);
3. **well formed**: ``msgfmt --check`` accepts the file, so every translation
   keeps the ``%(name)s`` placeholders of its msgid.

To fix a failure: ``.venv/bin/python scripts/makemessages.py``, translate the
new entries in the ``.po`` files it names, run this again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import makemessages  # noqa: E402 - the sibling script, found through the path above

# Not copied into the temporary tree: nothing in them is extracted.
SKIP = {".git", ".venv", "var", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}


def _msgids(path: Path) -> set[tuple[str | None, str]]:
    import polib

    return {(e.msgctxt, e.msgid) for e in polib.pofile(str(path)) if not e.obsolete}


def _problems_in(path: Path) -> list[str]:
    import polib

    po = polib.pofile(str(path))
    problems = []
    if po.metadata_is_fuzzy:
        problems.append("the header is marked fuzzy")
    for entry in po:
        if entry.obsolete:
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {entry.msgid!r}")
        elif not (entry.msgstr or any(entry.msgstr_plural.values())):
            problems.append(f"untranslated: {entry.msgid!r}")
    checked = subprocess.run(
        ["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True, check=False
    )
    if checked.returncode:
        problems.append(f"msgfmt --check: {checked.stderr.strip()}")
    return problems


def _copy_tree(target: Path) -> None:
    shutil.copytree(
        ROOT, target, ignore=lambda _, names: [n for n in names if n in SKIP or n.endswith(".mo")]
    )


def check() -> list[str]:
    """Every problem found, as lines naming the catalogue; empty when all is well."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh_root = Path(tmp) / "tree"
        _copy_tree(fresh_root)
        for fresh in makemessages.make(fresh_root, verbosity=0):
            name = fresh.relative_to(fresh_root)
            committed = ROOT / name
            if not committed.exists():
                problems.append(f"{name}: missing (run scripts/makemessages.py)")
                continue
            wanted, have = _msgids(fresh), _msgids(committed)
            problems += [
                f"{name}: not extracted yet: {msgid!r}" for _, msgid in sorted(wanted - have, key=str)
            ]
            problems += [
                f"{name}: no longer in the source: {msgid!r}" for _, msgid in sorted(have - wanted, key=str)
            ]
            problems += [f"{name}: {problem}" for problem in _problems_in(committed)]
    return problems


def main() -> int:
    problems = check()
    for line in problems:
        print(line)
    if problems:
        print(f"\n{len(problems)} translation problem(s). Run scripts/makemessages.py, translate, try again.")
        return 1
    print("Translations: every catalogue is fresh, complete and well formed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

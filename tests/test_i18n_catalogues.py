"""The Japanese catalogues are complete and fresh, and the check that CI runs catches what it should."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import check_translations  # noqa: E402
import makemessages  # noqa: E402

needs_gettext = pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs gettext (CI installs it)")


@needs_gettext
def test_every_catalogue_is_fresh_complete_and_well_formed() -> None:
    assert check_translations.check() == []


def _catalogue(tmp_path: Path, *entries: polib.POEntry, fuzzy_header: bool = False) -> Path:
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": "ja"}
    po.metadata_is_fuzzy = fuzzy_header
    for entry in entries:
        po.append(entry)
    path = tmp_path / "django.po"
    po.save(str(path))
    return path


@needs_gettext
def test_the_check_names_untranslated_fuzzy_and_placeholder_losing_entries(tmp_path: Path) -> None:
    path = _catalogue(
        tmp_path,
        polib.POEntry(msgid="Batch", msgstr="バッチ"),
        polib.POEntry(msgid="Deviation closed.", msgstr=""),
        polib.POEntry(msgid="Dose", msgstr="投与単位", flags=["fuzzy"]),
        polib.POEntry(msgid="No batch %(din)s.", msgstr="バッチはありません。", flags=["python-format"]),
    )

    problems = check_translations._problems_in(path)

    assert "untranslated: 'Deviation closed.'" in problems
    assert "fuzzy: 'Dose'" in problems
    assert any(p.startswith("msgfmt --check") and "din" in p for p in problems)
    assert not any("'Batch'" in p for p in problems)


def test_every_japanese_catalogue_exists_for_each_app() -> None:
    assert {"core", "batches", "compliance", "monitoring", "api", "web"} <= set(makemessages.apps())
    for app in [*makemessages.apps(), "."]:
        path = ROOT / app / "locale" / "ja" / "LC_MESSAGES" / "django.po"
        po = polib.pofile(str(path))
        assert po.percent_translated() == 100, path
        assert po.metadata["Language"] == "ja"

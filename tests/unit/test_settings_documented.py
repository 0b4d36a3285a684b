"""Every setting cloudbill reads is in a README configuration table, and every variable those
tables name is read: the operator's reference cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

from cloudbill.config import Settings

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_tables_list_exactly_the_settings() -> None:
    rows = [line for line in README.read_text().splitlines() if line.startswith("|")]
    documented = {
        name for row in rows for name in re.findall(r"`(CLOUDBILL_[A-Z0-9_]+)`", row.split("|")[1])
    }
    read = {f"CLOUDBILL_{name.upper()}" for name in Settings.model_fields}
    assert sorted(read - documented) == [], "settings missing from the README's tables"
    assert sorted(documented - read) == [], "README tables name variables cloudbill never reads"


def _shown(default: object) -> str:
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


def test_the_readme_says_each_default_as_the_code_has_it() -> None:
    checked = 0
    for row in README.read_text().splitlines():
        cells = [c.strip() for c in row.split("|")[1:-1]]
        if len(cells) < 2:
            continue
        names = re.findall(r"`(CLOUDBILL_[A-Z0-9_]+)`", cells[0])
        shown = [t.strip().strip("`") for t in cells[1].split(", ")]
        if not names or len(shown) != len(names) or any(" " in t for t in shown):
            continue  # a default told in words ("generated once and stored in the database")
        for name, text in zip(names, shown, strict=True):
            default = Settings.model_fields[name.removeprefix("CLOUDBILL_").lower()].default
            assert text == _shown(default), (name, text, default)
            checked += 1
    assert checked > 30

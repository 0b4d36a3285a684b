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
        name
        for row in rows
        for name in re.findall(r"`(CLOUDBILL_[A-Z0-9_]+)`", row.split("|")[1])
    }
    read = {f"CLOUDBILL_{name.upper()}" for name in Settings.model_fields}
    assert sorted(read - documented) == [], "settings missing from the README's tables"
    assert sorted(documented - read) == [], "README tables name variables cloudbill never reads"

"""Every string the console shows is in its gettext catalogue, and the catalogue names no
string the console no longer has: `messages.pot` is what Babel extracts from the code now
(regenerate it with the command in the README's web console section)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

CONSOLE = Path(__file__).parents[2] / "cloudbill" / "console"
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def test_the_catalogue_holds_exactly_the_consoles_strings() -> None:
    keywords = {"_": None, "gettext": None, "N_": None}
    found = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(CONSOLE), METHODS, OPTIONS, keywords=keywords
        )
        if isinstance(message, str)
    }
    with (CONSOLE / "locale" / "messages.pot").open("rb") as pot:
        catalogue = {m.id for m in read_po(pot) if m.id}
    assert found - catalogue == set(), "strings missing from messages.pot"
    assert catalogue - found == set(), "messages.pot names strings the console no longer has"


def test_every_page_string_goes_through_gettext() -> None:
    """No template prints a bare English sentence between tags (it would escape translation)."""
    bare = re.compile(r">\s*([A-Z][a-z]+(?: [a-z]+){2,}[.:]?)\s*<")
    offenders = [
        f"{path.name}: {match.group(1)}"
        for path in (CONSOLE / "templates").rglob("*.html")
        for match in bare.finditer(path.read_text())
    ]
    assert offenders == []

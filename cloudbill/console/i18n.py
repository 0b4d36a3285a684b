"""Every string the console shows a person goes through gettext, from one catalogue per
language (console/locale/<lang>/LC_MESSAGES/messages.mo, made with Babel's `pybabel`). English
is the source language: with no catalogue the strings show as written."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), [locale], DOMAIN)


def gettext(message: str, locale: str = "en") -> str:
    return translations(locale).gettext(message)


# Marks a string for extraction where it is defined, translated where it is shown.
def N_(message: str) -> str:
    return message

"""The workbench's languages: English as written in the templates, and the translations in
message catalogs (``locale/<language>/LC_MESSAGES/*.po``, one per page, read with Babel).

The catalogs are read from their ``.po`` text when the server starts, so the wheel carries
no compiled files that could drift from their source. A page's language is the session's;
before sign-in, the browser's ``Accept-Language`` chooses.
"""

from __future__ import annotations

import functools
import io
from importlib import resources
from typing import Final

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "locale_of", "negotiate", "translations"]

LANGUAGES: Final = {"en": "English", "zh": "中文"}
"""The languages a person may choose, each named in itself."""
DEFAULT_LANGUAGE: Final = "en"
_LOCALES: Final = {"en": "en_GB", "zh": "zh_Hans_CN"}
"""The locale each language formats numbers and dates in."""


def negotiate(accept_language: str | None) -> str:
    """The first of the browser's languages that the workbench speaks, else English."""
    wanted = [
        part.split(";")[0].strip().replace("-", "_")
        for part in (accept_language or "").split(",")
        if part.strip()
    ]
    found = Locale.negotiate(wanted, list(LANGUAGES), sep="_")
    return str(found) if found is not None and str(found) in LANGUAGES else DEFAULT_LANGUAGE


def locale_of(language: str) -> Locale:
    return Locale.parse(_LOCALES.get(language, _LOCALES[DEFAULT_LANGUAGE]))


@functools.cache
def translations(language: str) -> NullTranslations:
    """Every catalog of *language*, merged; English (the templates' own text) needs none."""
    folder = resources.files(__package__).joinpath("locale", language, "LC_MESSAGES")
    if language == DEFAULT_LANGUAGE or not folder.is_dir():
        return NullTranslations()
    merged = Translations()
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".po"):
            merged.merge(_compiled(entry.read_bytes(), language))
    return merged


def _compiled(po: bytes, language: str) -> Translations:
    catalog = read_po(io.BytesIO(po), locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)

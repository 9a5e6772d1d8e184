"""Every text a workbench page shows has its Chinese translation, and no catalog keeps a
text no page shows any more."""

from __future__ import annotations

import io
from collections.abc import Iterator
from importlib import resources

import pytest
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

import leasekit.server.workbench  # noqa: F401 - imports every page, which add their notices
from leasekit.server.workbench.render import NOTICES

_PACKAGE = resources.files("leasekit.server.workbench")


def _template_texts() -> Iterator[tuple[str, str]]:
    """(template, text) of every translated text in the templates."""
    options = {"extensions": "jinja2.ext.i18n"}
    keywords = ["_", "gettext", "ngettext"]
    for entry in sorted(_PACKAGE.joinpath("templates").iterdir(), key=lambda e: e.name):
        with entry.open("rb") as handle:
            for _, _, message, _ in babel_extract(handle, keywords, [], options):
                for text in message if isinstance(message, tuple) else (message,):
                    if text:
                        yield entry.name, text


def _shown() -> dict[str, str]:
    """Each text and where it is shown."""
    texts = {text: name for name, text in _template_texts()}
    texts.update({text: f"notice {key}" for key, text in NOTICES.items()})
    return texts


def _catalog(language: str) -> dict[str, tuple[str, str]]:
    """Each text of *language*'s catalogs: (its translation, the catalog it is in)."""
    found: dict[str, tuple[str, str]] = {}
    folder = _PACKAGE.joinpath("locale", language, "LC_MESSAGES")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        catalog = read_po(io.BytesIO(entry.read_bytes()), locale=language)
        for message in catalog:
            if message.id:
                assert not message.fuzzy, f"{entry.name}: {message.id!r} is marked fuzzy"
                found[str(message.id)] = (str(message.string), entry.name)
    return found


def test_the_templates_have_texts_to_translate() -> None:
    assert len(_shown()) > 20


@pytest.mark.parametrize("language", ["zh"])
def test_every_text_shown_is_translated(language: str) -> None:
    catalog = _catalog(language)
    missing = sorted(f"{where}: {text!r}" for text, where in _shown().items()
                     if not catalog.get(text, ("", ""))[0])  # fmt: skip
    assert not missing, "untranslated:\n" + "\n".join(missing)


@pytest.mark.parametrize("language", ["zh"])
def test_no_catalog_keeps_a_text_nothing_shows(language: str) -> None:
    shown = _shown()
    stale = sorted(f"{po}: {text!r}" for text, (_, po) in _catalog(language).items()
                   if text not in shown)  # fmt: skip
    assert not stale, "translated but never shown:\n" + "\n".join(stale)


@pytest.mark.parametrize("language", ["zh"])
def test_translations_keep_the_placeholders(language: str) -> None:
    for text, (translation, po) in _catalog(language).items():
        for placeholder in ("%(", "{"):
            assert text.count(placeholder) == translation.count(placeholder), (po, text)

"""Polish text and Polish numbers: the gettext catalogue, and the formats of dates and figures
(:class:`~etykieta.reports.formats.Formats`, shared with the mail face).

The catalogue (``locale/pl/LC_MESSAGES/messages.po``) is compiled to ``messages.mo`` when the
package is built; a source checkout without one compiles it in memory when the application
starts. Message ids are English, so that an English catalogue can be added beside it.
"""

from __future__ import annotations

import io
from importlib import resources
from importlib.resources.abc import Traversable

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from ..formats import LOCALE, NO_BREAK_SPACE, Formats

__all__ = ["LOCALE", "NO_BREAK_SPACE", "Formats", "catalogue_dir", "translations"]

DOMAIN = "messages"


def catalogue_dir(locale: str = LOCALE) -> Traversable:
    return resources.files(__package__).joinpath("locale", locale, "LC_MESSAGES")


def translations(locale: str = LOCALE) -> Translations:
    """The compiled catalogue of ``locale``, or its source compiled now."""
    folder = catalogue_dir(locale)
    compiled = folder.joinpath(f"{DOMAIN}.mo")
    if compiled.is_file():
        with compiled.open("rb") as handle:
            return Translations(handle, domain=DOMAIN)
    with folder.joinpath(f"{DOMAIN}.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)

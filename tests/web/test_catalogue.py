"""The Polish catalogue holds every message of the pages: none is shown in English.

The messages are extracted from the templates and modules as ``pybabel extract`` does (with
``etykieta/reports/web/babel.cfg``, ``N_`` marking labels translated later), then looked up
in ``locale/pl/LC_MESSAGES/messages.po``.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

WEB = Path(__file__).parents[2] / "etykieta" / "reports" / "web"
CATALOGUE = WEB / "locale" / "pl" / "LC_MESSAGES" / "messages.po"


def extracted() -> dict[str, str]:
    """Each message id of the pages, with the first file it appears in."""
    with (WEB / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str, str] = {}
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    for filename, _, message, _, _ in extract_from_dir(str(WEB), method_map, options_map,
                                                      keywords=keywords):
        msgid = message[0] if isinstance(message, tuple) else message  # the singular is the key
        if msgid:
            found.setdefault(msgid, filename)
    return found


def test_every_message_of_the_pages_has_a_polish_translation() -> None:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="pl")
    missing = {msgid: where for msgid, where in extracted().items()
               if not (entry := catalogue.get(msgid)) or not entry.string
               or (isinstance(entry.string, tuple) and not all(entry.string))}
    assert missing == {}


def test_the_catalogue_has_no_message_twice() -> None:
    ids = [line for line in CATALOGUE.read_text(encoding="utf-8").splitlines()
           if line.startswith("msgid ") and line != 'msgid ""']
    assert sorted({i for i in ids if ids.count(i) > 1}) == []


def test_the_catalogue_holds_no_message_the_pages_no_longer_use() -> None:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="pl")
    used = extracted()
    stale = sorted(str(m.id if isinstance(m.id, str) else m.id[0]) for m in catalogue
                   if m.id and (m.id if isinstance(m.id, str) else m.id[0]) not in used)
    assert stale == []

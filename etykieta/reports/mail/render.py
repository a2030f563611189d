"""The mail face's templates: Jinja2, autoescaped HTML and plain text, Polish grammar helpers.

The e-mails are Polish-only documents whose sentences are built around numbers (Polish
plurals: 1 połączenie, 2 połączenia, 5 połączeń) and around what the configuration knows of
the reader's grammatical gender (``[[staff]] salutation``), so their text is written in the
templates themselves, whole sentences in place, rather than pieced together from the web
face's gettext catalogue, whose messages are labels for pages (English ids, no plural
forms). Numbers and dates come from the same :class:`~etykieta.reports.formats.Formats` as
the dashboard, and the names of figures are the ones its catalogue uses.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

TEXT_WIDTH = 72


def plural(n: int, one: str, few: str, many: str) -> str:
    """The Polish form for ``n``: ``1 połączenie``, ``2 połączenia``, ``5 połączeń`` (and
    ``12 połączeń``, ``22 połączenia``)."""
    if n == 1:
        return one
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return few
    return many


@dataclass(frozen=True, slots=True)
class Address:
    """How a message speaks to its reader: from ``[[staff]] salutation`` ("Pani Anna"),
    else gender-neutral (never guessed from a first name)."""

    salutation: str | None

    @property
    def gender(self) -> str | None:
        first = (self.salutation or "").split(" ", 1)[0]
        return {"Pani": "f", "Pan": "m"}.get(first)

    @property
    def opening(self) -> str:
        """The letter's first line: ``Szanowna Pani,`` / ``Szanowny Panie,`` / ``Dzień dobry,``."""
        return {"f": "Szanowna Pani,", "m": "Szanowny Panie,"}.get(self.gender or "",
                                                                   "Dzień dobry,")

    @property
    def whose(self) -> str | None:
        """``Pani`` / ``Pana`` (genitive: "Pani tydzień", "Pana tydzień"), None when neutral."""
        return {"f": "Pani", "m": "Pana"}.get(self.gender or "")


def wrap(text: str, width: int = TEXT_WIDTH) -> str:
    """Each paragraph of ``text`` wrapped at ``width``; lines that start with ``-``, ``*`` or
    two spaces keep their hanging indent, and blank lines stay (at most one in a row)."""
    out: list[str] = []
    for line in text.splitlines():
        stripped = line.rstrip()
        if line == "-- ":  # the signature's delimiter keeps its space (RFC 3676)
            out.append(line)
            continue
        if not stripped:
            if out and out[-1] != "":
                out.append("")
            continue
        bullet = re.match(r"(\s*(?:[-*•]|\d+\.)\s+|\s+)", stripped)
        indent = " " * len(bullet.group(1)) if bullet else ""
        out.extend(textwrap.wrap(stripped, width=width, subsequent_indent=indent,
                                 break_long_words=False, break_on_hyphens=False) or [""])
    return "\n".join(out).strip() + "\n"


@cache
def _environment(html: bool) -> Environment:
    env = Environment(loader=PackageLoader(__package__ or "etykieta.reports.mail", "templates"),
                      autoescape=select_autoescape(["html"]) if html else False,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.globals["plural"] = plural
    return env


def render_parts(name: str, **context: Any) -> tuple[str, str]:
    """``(text, html)`` of the templates ``name.txt`` and ``name.html``; the text wrapped."""
    text = _environment(False).get_template(f"{name}.txt").render(**context)
    html = _environment(True).get_template(f"{name}.html").render(**context)
    return wrap(text), html

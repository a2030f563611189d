"""Line numbers in TOML text, which ``tomllib`` does not keep.

Problems are reported as ``"line N: <key path>: <message>"``; :class:`LineLocator` finds the N.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY_LINE = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=(.*)$")
_LAST_COMPONENT = re.compile(r"(\[\d+\]|\.[^.\[\]]+)$")


class LineLocator:
    """Line numbers of ``[table]`` / ``[[array]]`` headers and ``key =`` lines in TOML text.

    Paths look like ``rings``, ``rings.on_s``, ``units[2]`` or ``units[2].extensions``;
    array headers are counted from 0. A multi-line value is found at its key's line.
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[str, int] = {}
        counts: dict[str, int] = {}
        table = ""
        depth, open_string = 0, ""
        for number, line in enumerate(text.splitlines(), start=1):
            if depth or open_string:  # inside a multi-line array or string
                depth, open_string = _scan_value(line, depth, open_string)
                continue
            header = _HEADER.match(line)
            if header:
                name = _dotted(header.group(2))
                if header.group(1) == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    self._lines.setdefault(name, number)
                    table = f"{name}[{index}]"
                else:
                    table = name
                self._lines.setdefault(table, number)
                continue
            key_line = _KEY_LINE.match(line)
            if key_line:
                key = _dotted(key_line.group(1))
                self._lines.setdefault(f"{table}.{key}" if table else key, number)
                depth, open_string = _scan_value(key_line.group(2), 0, "")

    def line_of(self, path: str) -> int:
        """The line of ``path``, else of its nearest enclosing table; 1 if none is written."""
        while path:
            if path in self._lines:
                return self._lines[path]
            shorter = _LAST_COMPONENT.sub("", path)
            if shorter == path:
                break
            path = shorter
        return 1


def _dotted(key: str) -> str:
    parts = re.findall(_KEY_PART, key)
    return ".".join(part[1:-1] if part[0] in "\"'" else part for part in parts)


def _scan_value(text: str, depth: int, open_string: str) -> tuple[int, str]:
    """Bracket depth and unclosed multi-line string delimiter after ``text``."""
    i = 0
    while i < len(text):
        if open_string:
            end = text.find(open_string, i)
            if end < 0:
                return depth, open_string
            i, open_string = end + len(open_string), ""
            continue
        char = text[i]
        if text.startswith(('"""', "'''"), i):
            open_string, i = text[i : i + 3], i + 3
        elif char in "\"'":
            i = _end_of_string(text, i)
        elif char == "#":
            break
        else:
            depth += (char in "[{") - (char in "]}")
            i += 1
    return depth, open_string


def _end_of_string(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text) and text[i] != quote:
        i += 2 if quote == '"' and text[i] == "\\" else 1
    return i + 1

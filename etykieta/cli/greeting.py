"""``etykieta greeting check``: judge a typed or recognised transcript without any audio.

It is how an admin tunes aliases and thresholds, and how tests drive the checker end to end.
Register it on the main group with ``main.add_command(greeting)``; the settings come from the
main group's context object (``etykieta --config … greeting check …``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import click

from ..config import Settings
from ..speech.greeting.transcript import Transcript
from ..speech.greeting.verdict import check_greeting
from ..telephony.numbers import Directory


class _SettingsSource(Protocol):
    """What the main group puts in ``ctx.obj`` (:class:`~etykieta.cli.context.CliContext`)."""

    @property
    def settings(self) -> Settings: ...


def _read_vosk(path: str, option: str) -> Transcript:
    try:
        return Transcript.from_vosk(Path(path).read_bytes())
    except ValueError as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint=option) from exc


@click.group()
def greeting() -> None:
    """Greeting check (rules T1, T2, T9, T10)."""


@greeting.command("check")
@click.option("--extension", required=True, help="The answering extension (its unit and person).")
@click.option("--text", help="The transcript as plain text (no times, every word sure).")
@click.option("--words", "words_path", type=click.Path(exists=True, dir_okay=False),
              help="The recogniser's JSON (Vosk SetWords: word times and confidences).")
@click.option("--grammar", "grammar_path", type=click.Path(exists=True, dir_okay=False),
              help="The directory-biased (grammar) pass's JSON for the same window.")
@click.pass_obj
def check(state: _SettingsSource | None, extension: str, text: str | None,
          words_path: str | None, grammar_path: str | None) -> None:
    """Judge a greeting for the person and unit of EXTENSION; print the greeting as JSON."""
    if state is None:
        raise click.UsageError("run it as `etykieta greeting check`, which loads the config")
    if (text is None) == (words_path is None):
        raise click.UsageError("give exactly one of --text and --words")
    if grammar_path is not None and words_path is None:
        raise click.UsageError("--grammar needs --words: its words are checked against their times")
    settings = state.settings
    directory = Directory(settings)
    staff, unit = directory.staff_at(extension), directory.unit_of(extension)
    if staff is None and unit is None:
        raise click.BadParameter(f"{extension} is neither a staff extension nor in a unit's range",
                                 param_hint="--extension")
    if text is not None:
        free = Transcript.from_text(text)
    else:
        free = _read_vosk(str(words_path), "--words")
    grammar = None if grammar_path is None else _read_vosk(grammar_path, "--grammar")
    result = check_greeting(free, grammar, staff=staff, unit=unit,
                            organisation=settings.organisation.name, settings=settings.greeting)
    click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))

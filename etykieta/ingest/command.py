"""``etykieta ingest``: capture files into the metrics database."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from ..cli_context import CliContext, parse_time, run_speech
from ..errors import CaptureFormatError
from .service import Ingestor


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--as-of", help="Evaluate callback deadlines at this time (default: now).")
@click.option("--transcribe", is_flag=True,
              help="Judge the queued greetings right away (speech recognition workers).")
@click.pass_obj
def ingest(state: CliContext, files: tuple[str, ...], as_of: str | None,
           transcribe: bool) -> None:
    """Ingest pcap/pcapng capture FILES into the metrics database."""
    now = parse_time(as_of, "--as-of", state.zone) or datetime.now(UTC)
    ingestor = Ingestor(state.settings, state.sessions(create=True))
    failed = 0
    for path in files:
        try:
            summary = ingestor.ingest_file(path)
        except FileNotFoundError:
            click.echo(f"{path}: no such file", err=True)
            failed += 1
            continue
        except IsADirectoryError:
            click.echo(f"{path}: is a directory, not a capture file", err=True)
            failed += 1
            continue
        except CaptureFormatError as exc:
            click.echo(f"{path}: not a capture: {exc}", err=True)
            failed += 1
            continue
        click.echo(summary.line())
    ingestor.refresh_callbacks(now)
    if transcribe:
        run_speech(state, limit=None)
    if failed:
        sys.exit(1)

"""``etykieta ingest``: capture files into the metrics database."""

from __future__ import annotations

import sys

import click

from ..ingest.service import DEFAULT_STREAM, Ingestor, IngestRun
from ..monitor.follow import CLOSED_AFTER_S, END_AFTER_S, SETTLE_S, Follower
from ..monitor.signals import until_signalled
from .context import CliContext, parse_time, run_speech

STREAM_NAME_LENGTH = 200  # ingest_streams.name


@click.command()
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--stream", default=DEFAULT_STREAM, show_default=True,
              help="The capture point the files come from. Each ingest of a stream continues "
                   "the calls still going on at the end of its previous input.")
@click.option("--follow", "follow_dir", type=click.Path(file_okay=False),
              help="Watch this directory and ingest each capture file once it is closed, "
                   "until SIGTERM (a capture host's rotated files).")
@click.option("--pattern", default="*", show_default=True,
              help="With --follow: only files whose name matches this glob.")
@click.option("--closed-after", type=click.FloatRange(min=0), default=CLOSED_AFTER_S,
              show_default=True,
              help=f"With --follow: the newest file counts as closed once unchanged this many "
                   f"seconds with no process writing it (rotated files: once a newer file "
                   f"exists and they are unchanged for {SETTLE_S:g} s).")
@click.option("--end-after", type=click.FloatRange(min=0), default=END_AFTER_S,
              show_default=True,
              help="With --follow: when no file comes for this many seconds, calls still going "
                   "on are stored as they stand.")
@click.option("--finish", is_flag=True,
              help="The stream ends with these files (or now, without FILES): calls still "
                   "going on at the end are stored as they stand, nothing is carried on.")
@click.option("--as-of", help="Evaluate callback deadlines at this time (ISO 8601; without an "
                              "offset, office time; default: now).")
@click.option("--transcribe", is_flag=True,
              help="Judge the queued greetings right away (speech recognition workers).")
@click.pass_obj
def ingest(state: CliContext, files: tuple[str, ...], stream: str, follow_dir: str | None,
           pattern: str, closed_after: float, end_after: float, finish: bool,
           as_of: str | None, transcribe: bool) -> None:
    """Ingest pcap/pcapng capture FILES into the metrics database.

    The files of one command are one stream, whatever their names or order: read in the
    order of their first packet, merged by time where they overlap, so calls that run across
    rotated files are whole. A call still going on at the end is stored as in progress and
    finished by the next ingest of the same --stream.
    """
    if not stream.strip() or len(stream) > STREAM_NAME_LENGTH:
        raise click.BadParameter(f"a name of 1 to {STREAM_NAME_LENGTH} characters",
                                 param_hint="--stream")
    if follow_dir is not None and (files or finish):
        raise click.UsageError("--follow takes no FILES and no --finish")
    if follow_dir is None and not files and not finish:
        raise click.UsageError("give capture FILES, --follow DIR, or --finish")
    now = parse_time(as_of, "--as-of", state.zone)
    ingestor = Ingestor(state.settings, state.sessions(create=True), stream=stream,
                        as_of=(lambda: now) if now is not None else None)
    if follow_dir is not None:
        _follow(ingestor, follow_dir, pattern, closed_after, end_after)
        return
    run = ingestor.ingest(files, finish=finish)
    _report(run, finish_only=finish and not files)
    ingestor.refresh_callbacks(now)
    if transcribe:
        run_speech(state, limit=None)
    if run.failures:
        sys.exit(1)


def _report(run: IngestRun, *, finish_only: bool = False) -> None:
    for path, why in run.failures:
        click.echo(f"{path}: {why}", err=True)
    if run.carry_problem:
        click.echo(run.carry_problem, err=True)
    for summary in run.files:
        click.echo(summary.line())
    if finish_only:
        click.echo(f"stream ended: {run.calls} calls that were still going on are stored as "
                   f"they stand" if run.calls else "stream ended: no call was going on")


def _follow(ingestor: Ingestor, directory: str, pattern: str, closed_after: float,
            end_after: float) -> None:
    follower = Follower(ingestor, directory, pattern=pattern, closed_after_s=closed_after,
                        end_after_s=end_after, on_run=_report)
    click.echo(f"ingest: following {directory} (stream {ingestor.stream!r})", err=True)
    with until_signalled() as stop:
        try:
            follower.run(stop)
        except FileNotFoundError as exc:
            click.echo(f"ingest: {exc}", err=True)
            sys.exit(2)

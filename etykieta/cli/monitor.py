"""``etykieta monitor``: the live service on an interface or a pcap stream."""

from __future__ import annotations

import sys

import click

from ..errors import CaptureFormatError, CaptureUnavailableError
from ..monitor.service import Monitor
from ..monitor.signals import until_signalled
from ..telephony.capture.journal import Journal
from ..telephony.capture.live import LiveCapture, StreamCapture
from ..telephony.capture.source import PacketSource
from .context import CliContext


@click.command()
@click.option("--interface", "-i", help="Interface to capture on (default: [capture] interface).")
@click.option("--filter", "capture_filter",
              help="BPF capture filter, tcpdump syntax (default: [capture] filter).")
@click.option("--read", "read", type=click.Path(allow_dash=True),
              help="Read a pcap/pcapng stream instead (a file, or - for stdin, e.g. from "
                   "`ssh pbx tcpdump -U -w -`).")
@click.option("--no-speech", is_flag=True, help="Signalling only: queue greetings, judge none.")
@click.option("--journal", "journal_dir",
              help="Journal directory (default: [capture] journal_dir; none with --read).")
@click.option("--no-journal", is_flag=True, help="Keep no journal: a crash loses open calls.")
@click.pass_obj
def monitor(state: CliContext, interface: str | None, capture_filter: str | None,
            read: str | None, no_speech: bool, journal_dir: str | None,
            no_journal: bool) -> None:
    """Monitor the PBX live: store calls as they end, judge greetings as they are said.

    Runs until SIGTERM or Ctrl-C (or the end of a --read stream); the calls still going on
    are then stored as they stand.
    """
    settings = state.settings
    source: PacketSource
    if read is not None:
        stream = sys.stdin.buffer if read == "-" else open(read, "rb")  # noqa: SIM115
        source = StreamCapture(stream, name="stream:stdin" if read == "-" else f"stream:{read}")
    else:
        source = LiveCapture(interface or settings.capture.interface,
                             capture_filter=(settings.capture.filter if capture_filter is None
                                             else capture_filter))
    if journal_dir is None and read is None:
        journal_dir = settings.capture.journal_dir
    journal = Journal(journal_dir) if journal_dir and not no_journal else None
    service = Monitor(settings, state.sessions(create=True), source, speech=not no_speech,
                      drain=read is not None, journal=journal,
                      on_started=lambda name: click.echo(f"monitor: capturing from {name}",
                                                         err=True))
    if service.runner is None and not no_speech:
        click.echo(f"speech: greetings are not judged: {service.writer.model_problem}", err=True)
    with until_signalled() as stop:
        try:
            stats = service.run(stop)
        except CaptureUnavailableError as exc:
            click.echo(f"monitor: cannot capture: {exc}", err=True)
            sys.exit(2)
        except CaptureFormatError as exc:
            click.echo(f"monitor: {source.name}: not a capture: {exc}", err=True)
            sys.exit(2)
    click.echo(stats.line())

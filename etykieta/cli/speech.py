"""``etykieta audio`` and ``etykieta speech …``: hear a call again, run and check recognition.

Registered on the main group with ``main.add_command(audio)`` and ``main.add_command(speech)``;
the settings and the database come from the main group's :class:`~etykieta.cli.context.CliContext`.

Exit statuses of ``speech``: 3 when recognition cannot run (no model, or it does not load), 4
when ``speech check`` finds a model that loads but is not a Polish one.
"""

from __future__ import annotations

import sys
from importlib import resources

import click

from ..config import Settings
from ..monitor.requeue import RequeueSummary, requeue
from ..speech.audio.wav import write_wav
from ..speech.engine.model_conf import model_problem
from ..speech.engine.recognizer import SpeechUnavailableError, VoskEngine
from ..speech.greeting.gate import REQUEUED_BY_REQUEUE, REQUEUED_BY_RUN, Cause, expected_phrases
from ..storage.call_audio import AudioUnavailableError, audio_for_call
from ..storage.speech_queue import queue_status
from ..telephony.numbers import Directory
from .context import CliContext, parse_time, run_speech, unit_name

NO_SPEECH = 3
"""Exit status: recognition cannot run (no model configured, or it does not load)."""
NOT_POLISH = 4
"""Exit status of ``speech check``: the model loads, but it is not a Polish one."""


@click.command()
@click.argument("call_id")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="WAV file to write (16-bit PCM at the codec's rate).")
@click.option("--window", type=click.Choice(["opening", "closing", "all"]), default="opening",
              show_default=True, help="Which part of the employee's side to write.")
@click.pass_obj
def audio(state: CliContext, call_id: str, out: str, window: str) -> None:
    """Write what Etykieta heard of the answering employee in call CALL_ID."""
    with state.sessions().begin() as session:
        try:
            pcm, rate = audio_for_call(session, state.settings, call_id, window)
        except AudioUnavailableError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
    write_wav(out, pcm, rate)
    click.echo(f"{out}: {len(pcm) / rate:.1f} s at {rate} Hz ({window})")


@click.group()
def speech() -> None:
    """Speech recognition of greetings (Vosk)."""


@speech.command("run")
@click.option("--limit", type=int, help="Judge at most this many calls.")
@click.pass_obj
def speech_run(state: CliContext, limit: int | None) -> None:
    """Judge the greetings waiting in the queue (jobs left running by a crash included).

    Greetings stored `not_checked` because no model was configured then are queued first:
    their audio is read again from the capture files they were ingested from.
    """
    _need_model(state)
    summary = requeue(state.settings, state.sessions(), REQUEUED_BY_RUN)
    if summary.found:
        _echo_requeue(summary)
    run_speech(state, limit)


@speech.command("requeue")
@click.option("--since", help="Only calls started at or after this ISO 8601 time.")
@click.option("--until", help="Only calls started before this ISO 8601 time.")
@click.option("--unit", help="Only calls of this unit (its name or an alias).")
@click.option("--failed", is_flag=True,
              help="Also greetings whose recognition failed (not_checked: recognition failed).")
@click.option("--queue-only", is_flag=True, help="Queue them; judge nothing yet.")
@click.pass_obj
def speech_requeue(state: CliContext, since: str | None, until: str | None, unit: str | None,
                   failed: bool, queue_only: bool) -> None:
    """Read the audio of not_checked greetings again from their capture files and judge them.

    Taken: greetings not checked for lack of a model, or because a capture file was gone (or
    no longer held the call's RTP) at the last try; with --failed, failed recognitions too.
    One line names each capture file that is gone, with the calls it held: those stay
    not_checked with that reason. Exit status 3 without a model.
    """
    _need_model(state)
    zone = state.zone
    causes = set(REQUEUED_BY_REQUEUE) | ({Cause.RECOGNITION_FAILED} if failed else set())
    summary = requeue(state.settings, state.sessions(), causes,
                      since=parse_time(since, "--since", zone),
                      until=parse_time(until, "--until", zone),
                      unit=unit_name(state.settings, unit))
    _echo_requeue(summary)
    if not queue_only:
        run_speech(state, None)


def _need_model(state: CliContext) -> None:
    problem = model_problem(state.settings)
    if problem is not None:
        click.echo(f"speech: not run: {problem}", err=True)
        sys.exit(NO_SPEECH)


def _echo_requeue(summary: RequeueSummary) -> None:
    for line in summary.warnings():
        click.echo(line, err=True)
    click.echo(summary.line())


@speech.command("status")
@click.pass_obj
def speech_status(state: CliContext) -> None:
    """Show the recognition queue: jobs by kind and state, failures, greetings awaiting calls."""
    with state.sessions().begin() as session:
        for line in queue_status(session).lines():
            click.echo(line)


@speech.command("check")
@click.option("--sample", type=click.Path(exists=True, dir_okay=False),
              help="A 16-bit mono WAV to transcribe (default: a bundled Polish greeting).")
@click.pass_obj
def speech_check(state: CliContext, sample: str | None) -> None:
    """Load the model, transcribe a sample with timing, list names the model does not know.

    Exit status 3 when there is no model or it does not load; 4 when it loads but is not a
    Polish model (it lacks "dzień", "dobry" or "dziękuję"): its greetings would mean nothing.
    """
    settings = state.settings
    problem = model_problem(settings)
    if problem is not None:
        click.echo(f"speech: {problem}", err=True)
        sys.exit(NO_SPEECH)
    assert settings.speech.model_path is not None
    try:
        engine = VoskEngine.load(settings.speech.model_path)
    except SpeechUnavailableError as exc:
        click.echo(f"speech: {exc}", err=True)
        sys.exit(NO_SPEECH)
    wav = sample or str(resources.files("etykieta.speech") / "samples" / "greeting_pl_8k.wav")
    directory = Directory(settings)
    vocabulary = {word for ext in _extensions(settings)
                  for phrase in expected_phrases(settings, directory, ext)
                  for word in phrase.split()}
    report = engine.check(wav, sorted(vocabulary))
    click.echo(f"model: {report.model_path} (loaded in {report.load_s:.1f} s, "
               f"{report.sample_rate} Hz, unknown-word token {report.unknown_token})")
    click.echo(f"sample: {report.sample_path}: {report.audio_s:.1f} s transcribed in "
               f"{report.transcribe_s:.2f} s (real-time factor {report.real_time_factor:.2f})")
    if not report.polish:
        click.echo(f"transcript (meaningless: not a Polish model): {report.transcript.text!r}")
        click.echo(f"speech: warning: {report.model_path} is not a Polish model: its vocabulary "
                   f"lacks {', '.join(repr(w) for w in report.missing_polish)}; greetings "
                   f"judged with it mean nothing (production uses vosk-model-small-pl-0.22, "
                   f"see README)", err=True)
        sys.exit(NOT_POLISH)
    click.echo(f"transcript: {report.transcript.text!r}")
    if report.missing_words:
        click.echo("not in the model's vocabulary (matched fuzzily in the free transcript): "
                   + ", ".join(report.missing_words))


def _extensions(settings: Settings) -> list[str | None]:
    return [s.extension for s in settings.staff] or [None]

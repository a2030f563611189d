"""``etykieta audio`` and ``etykieta speech …``: hear a call again, run and check recognition.

Registered on the main group with ``main.add_command(audio)`` and ``main.add_command(speech)``;
the settings and the database come from the main group's :class:`~etykieta.cli_context.CliContext`.
"""

from __future__ import annotations

import sys
from importlib import resources

import click

from ..cli_context import CliContext, run_speech
from ..config import Directory, Settings
from .recognizer import SpeechUnavailableError, VoskEngine
from .reread import AudioUnavailableError, audio_for_call
from .service import expected_phrases, model_problem, queue_status
from .wav import write_wav


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
    """Judge the greetings waiting in the queue (jobs left running by a crash included)."""
    run_speech(state, limit)


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
    """Load the model, transcribe a sample with timing, list names the model does not know."""
    settings = state.settings
    problem = model_problem(settings)
    if problem is not None:
        click.echo(f"speech: {problem}", err=True)
        sys.exit(3)
    assert settings.speech.model_path is not None
    try:
        engine = VoskEngine.load(settings.speech.model_path)
    except SpeechUnavailableError as exc:
        click.echo(f"speech: {exc}", err=True)
        sys.exit(3)
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
    click.echo(f"transcript: {report.transcript.text!r}")
    if report.missing_words:
        click.echo("not in the model's vocabulary (matched fuzzily in the free transcript): "
                   + ", ".join(report.missing_words))


def _extensions(settings: Settings) -> list[str | None]:
    return [s.extension for s in settings.staff] or [None]

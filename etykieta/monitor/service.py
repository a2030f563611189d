"""``etykieta monitor``: the signalling core on a live capture, with speech judged as it goes.

Three threads: the capture's reader (in the adapter, `etykieta.telephony.capture.live`), this
loop, which feeds the sans-I/O :class:`SignallingAnalyzer` and writes finished calls, and the
speech thread, which drains the recognition queue through worker processes
(`SpeechRunner.serve`). Only this loop touches the analyzer.

- Time is capture time: a packet's timestamp, and between packets the last one's timestamp
  plus the wall-clock time since it arrived, so a replayed stream runs its timers as the live
  one did.
- A greeting is judged at answer + ``[speech] window_s``, not at hang-up: the opening window
  of the leg the caller heard answered is queued as an ``opening`` job (or judged from the
  audio alone: ``silent``, ``no_audio``, ``unsupported_codec``) while the call goes on; the
  closing window follows at hang-up for T10. The audio waits in the database until judged and
  is then dropped unless ``keep_audio`` is on.
- A call is written as soon as the core finishes it (``flush_s``), and stored once: rows are
  unique by Call-ID and start time. With a `Journal` (the default live), every SIP packet is
  also appended to it; a monitor that is killed, or stopped while calls go on, replays the
  journal when it starts again and follows those calls to their end — what was said while
  nobody listened is missing, so such a greeting reads ``not_checked`` with the reason.
  Without a journal a stop stores the open calls as they stand (legs end ``unknown``), as
  ``ingest`` does at the end of a file.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session, sessionmaker

from ..clock import utc_now
from ..config import Settings
from ..speech.audio.collector import MediaCollector
from ..speech.engine.workers import RecognitionPool
from ..speech.greeting.gate import greeting_applies
from ..storage.captures import CaptureCounts, NewCapture, finish_capture, open_captures
from ..storage.repository import expire_callbacks
from ..storage.writer import BATCH_CALLS, CallWriter, Finished
from ..telephony.analyzer import SignallingAnalyzer
from ..telephony.capture.journal import JOURNAL_MARGIN_S, PRUNE_EVERY_S, Journal
from ..telephony.capture.source import PacketSource, SourceStats
from ..telephony.numbers import Directory
from ..telephony.packets import CapturedPacket
from .mail import MailService
from .speech import PoolFactory, RunSummary, SpeechRunner

log = logging.getLogger(__name__)
TICK_S = 0.5
"""How long the loop waits for a packet before it runs the timers on its own."""
FLUSH_S = 0.0
"""Finished calls are written at least this often (0: as soon as they finish; an office
finishes a few calls a minute, so there is nothing to gain by holding them)."""
EXPIRE_EVERY_S = 60.0
"""How often (wall clock) pending callbacks past their deadline are marked missed."""
OPENING_CHECK_S = 0.25
"""How often (capture time) opening windows are looked for."""


@dataclass(slots=True)
class MonitorStats:
    """What one run of the monitor did; printed when it stops."""

    packets: int = 0
    replayed: int = 0
    """Packets of the journal replayed at start (the previous run's open calls)."""
    calls: int = 0
    added: int = 0
    openings_queued: int = 0
    openings_decided: int = 0
    greetings_queued_at_end: int = 0
    speech: RunSummary = field(default_factory=RunSummary)
    speech_error: str | None = None
    source: SourceStats | None = None
    journal_errors: int = 0

    def line(self) -> str:
        replayed = f" (+{self.replayed} replayed from the journal)" if self.replayed else ""
        text = (f"monitor: {self.packets} packets{replayed}, {self.calls} calls "
                f"({self.added} new); "
                f"greetings: {self.openings_queued} queued at answer + window, "
                f"{self.openings_decided} decided from the audio alone, "
                f"{self.greetings_queued_at_end} queued at hang-up; {self.speech.line()}")
        if self.speech_error:
            text += f" (speech stopped: {self.speech_error})"
        source = self.source
        if source is not None and (source.dropped_upstream or source.dropped_behind):
            text += (f"; packets lost: {source.dropped_upstream or 0} by {source.upstream}, "
                     f"{source.dropped_behind} while the monitor fell behind")
        if self.journal_errors:
            text += f"; {self.journal_errors} packets could not be journaled"
        if source is not None and source.errors:
            text += "; capture damaged: " + "; ".join(source.errors)
        return text


class Monitor:
    """Runs the signalling core on a live source until told to stop."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session],
                 source: PacketSource, *, directory: Directory | None = None,
                 speech: bool = True, drain: bool = False,
                 pool_factory: PoolFactory = RecognitionPool, flush_s: float = FLUSH_S,
                 clock: Callable[[], float] = time.monotonic,
                 on_started: Callable[[str], None] | None = None,
                 journal: Journal | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.source = source
        self.directory = directory or Directory(settings)
        self.writer = CallWriter(settings, sessions, clock=utc_now,
                                 directory=self.directory, live=True)
        self.runner = (SpeechRunner(settings, sessions, directory=self.directory,
                                    pool_factory=pool_factory)
                       if speech and self.writer.model_problem is None else None)
        self.drain = drain
        """At the end of the source (not on a stop), judge every queued greeting first."""
        self.on_started = on_started
        """Told the source's name once it delivers packets (the CLI says so on stderr)."""
        self.journal = journal
        """SIP seen live, kept on disk until its calls are stored (None: no crash safety)."""
        self.flush_s = flush_s
        self.clock = clock
        self.stats = MonitorStats()
        self.collector = MediaCollector(settings.speech.window_s,
                                        settings.speech.closing_window_s)
        self.analyzer = SignallingAnalyzer(settings, self.directory, media=self.collector)
        self._last_ts = 0.0  # the newest packet's capture time
        self._first_replayed = 0.0
        self._replayed = 0
        self._wake = threading.Event()
        self._finish_speech = threading.Event()
        self._halt_speech = threading.Event()

    def run(self, stop: threading.Event) -> MonitorStats:
        """Capture, analyse and store until ``stop`` is set or the source ends.

        With a journal, what it holds is replayed first: the calls the previous run was
        following are picked up, and those it had stored are not stored again.
        """
        self.source.start()  # CaptureUnavailableError before anything is stored
        capture_id = self._capture_row()
        speech = self._start_speech()
        mail = MailService.start_if_configured(self.settings, self.sessions)  # weekly, reminders
        pending: list[Finished] = self._replay_journal()
        after_replay = self._replayed > 0
        if after_replay:  # no audio of the replayed calls until the first live packet
            self.writer.gaps.append((self._first_replayed, math.inf))
        if self.on_started is not None:
            self.on_started(self.source.name)
        last_flush = self.clock()
        next_check = next_prune = 0.0
        next_expiry = self.clock()
        arrived = self.clock()
        try:
            for packet in self.source.packets(TICK_S):
                if packet is None:
                    now = self._last_ts + (self.clock() - arrived) if self._last_ts else 0.0
                    finished = self.analyzer.handle_timer(now) if now else []
                    if self.journal is not None:
                        self.journal.sync()
                else:
                    if after_replay:
                        self.writer.gaps[-1] = (self._first_replayed, packet.timestamp)
                        after_replay = False
                    self.stats.packets += 1
                    now = self._last_ts = packet.timestamp
                    arrived = self.clock()
                    finished = self.analyzer.receive(packet)
                    if self.journal is not None and self.analyzer.last_frame_was_signalling:
                        self._journal(packet)
                pending.extend((r, self.collector.take(r)) for r in finished)
                if now >= next_check:
                    next_check = now + OPENING_CHECK_S
                    self._judge_openings(now)
                if pending and (len(pending) >= BATCH_CALLS
                                or self.clock() - last_flush >= self.flush_s):
                    self._store(pending, capture_id)
                    pending, last_flush = [], self.clock()
                if self.clock() >= next_expiry:  # deadlines pass on the wall clock (T8)
                    next_expiry = self.clock() + EXPIRE_EVERY_S
                    self._expire_callbacks()
                if self.journal is not None and now >= next_prune:
                    next_prune = now + PRUNE_EVERY_S
                    oldest = self.analyzer.oldest_open_start()
                    self.journal.prune((now if oldest is None else oldest) - JOURNAL_MARGIN_S)
                if stop.is_set():
                    break
        finally:
            self.source.stop()
            self.stats.source = self.source.source_stats()
            pending.extend(self._at_stop())
            self._store(pending, capture_id)
            self._finish_capture_row(capture_id)
            (self._finish_speech if self.drain and not stop.is_set()
             else self._halt_speech).set()
            self._wake.set()
            if speech is not None:
                speech.join()
            if mail is not None:
                mail.stop()
        return self.stats

    def _expire_callbacks(self) -> None:
        """Callbacks whose deadline has passed without a call back are missed (T8)."""
        with self.sessions.begin() as session:
            expire_callbacks(session, utc_now())

    def _journal(self, packet: CapturedPacket) -> None:
        """Append to the journal; a failing disk costs crash safety, never the monitoring."""
        assert self.journal is not None
        try:
            self.journal.append(packet)
        except OSError as exc:
            self.stats.journal_errors += 1
            if self.stats.journal_errors == 1:
                log.error("journal: %s: calls open if the monitor dies now would be lost", exc)

    def _replay_journal(self) -> list[Finished]:
        """Feed the journal's packets to the analyzer; the calls they finish."""
        finished: list[Finished] = []
        if self.journal is None:
            return finished
        for packet in self.journal.replay():
            if not self._replayed:
                self._first_replayed = packet.timestamp
            self._replayed += 1
            self._last_ts = max(self._last_ts, packet.timestamp)
            finished.extend((r, self.collector.take(r)) for r in self.analyzer.receive(packet))
        self.stats.replayed = self._replayed
        for problem in self.journal.problems:
            log.warning("journal: %s", problem)
        return finished

    def _at_stop(self) -> list[Finished]:
        """The calls to store when the monitor stops.

        Without a journal, every call still going on is stored as it stands (open legs end
        ``unknown``), and as final: nothing will continue it. With one, calls whose legs have
        all ended are stored now, and those still going on are left in the journal for the
        next start to follow to their end.
        """
        if self.journal is None:
            return [(r, self.collector.take(r)) for r in
                    (replace(r, in_progress=False) for r in self.analyzer.close())]
        ended = self.analyzer.finish_ended(self._last_ts)
        self.journal.close()
        return [(r, self.collector.take(r)) for r in ended]

    def _judge_openings(self, now: float) -> None:
        """Queue the opening windows that are complete, for the legs the caller heard answer."""
        for audio in self.collector.due_openings(now):
            record = self.analyzer.preview(audio.leg_call_id)
            if (record is None or not greeting_applies(record)
                    or record.answering_call_id != audio.leg_call_id
                    or audio.opening is None):
                continue  # not the employee's leg (e.g. a trunk leg): judged at hang-up
            fate = self.writer.queue_opening(audio, record.answered_by, audio.opening.start)
            if fate == "queued":
                self.stats.openings_queued += 1
                self._wake.set()
            elif fate == "decided":
                self.stats.openings_decided += 1

    def _store(self, pending: list[Finished], capture_id: int) -> None:
        written = self.writer.store(pending, capture_id)
        self.stats.calls += written.calls
        self.stats.added += written.added
        self.stats.greetings_queued_at_end += written.greetings_queued
        if written.added:
            self._wake.set()  # closing windows and calls judged at hang-up

    def _start_speech(self) -> threading.Thread | None:
        if self.runner is None:
            return None
        thread = threading.Thread(target=self._speech_main, name="etykieta-speech", daemon=True)
        thread.start()
        return thread

    def _speech_main(self) -> None:
        assert self.runner is not None
        try:
            self.runner.serve(self._finish_speech, self._halt_speech, self._wake,
                              self.stats.speech)
        except Exception as exc:  # the model or the workers failed: signalling goes on
            self.stats.speech_error = str(exc)
            log.error("speech recognition stopped: %s; jobs stay queued for "
                      "`etykieta speech run`", exc)

    def _capture_row(self) -> int:
        with self.sessions.begin() as session:
            return open_captures(session, [NewCapture(self.source.name)],
                                 ingested_at=utc_now())[0]

    def _finish_capture_row(self, capture_id: int) -> None:
        core = self.analyzer.stats
        pipeline = core.pipeline
        with self.sessions.begin() as session:
            finish_capture(session, capture_id, CaptureCounts(
                self.stats.packets, pipeline.sip_messages, self.stats.calls, self.stats.added,
                core.unparsable, pipeline.malformed, core.assembler.ambiguous_links))

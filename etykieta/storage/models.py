"""The metrics database: captures, calls, their legs and transfers, callback obligations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Capture(Base):
    """One ingested capture file, with what could and could not be read."""

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(Text, index=True)
    size: Mapped[int] = mapped_column(BigInteger)  # bytes: a capture may exceed 2 GiB
    mtime: Mapped[float | None] = mapped_column(Float)
    """The file's modification time when it was read (``ingest --follow`` reads a file again
    only if it changed)."""
    stream: Mapped[str | None] = mapped_column(String(200))
    """The ingest stream the file belongs to (``ingest --stream``); None for the live monitor."""
    ingested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """First and last packet time: which files hold the audio of a given moment."""
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """When reading reached the end of the file (None: it never did, e.g. a killed ingest)."""
    packets: Mapped[int] = mapped_column(Integer, default=0)
    sip_messages: Mapped[int] = mapped_column(Integer, default=0)
    calls_found: Mapped[int] = mapped_column(Integer, default=0)
    calls_added: Mapped[int] = mapped_column(Integer, default=0)
    unparsable: Mapped[int] = mapped_column(Integer, default=0)
    malformed_packets: Mapped[int] = mapped_column(Integer, default=0)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    ambiguous_links: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[str] = mapped_column(Text, default="")


class Call(Base):
    """A call as a person counts it (the caller-facing leg plus every leg linked to it)."""

    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("call_id", "started_at", name="uq_calls_call_id_started"),
        # a unit's calls of a period, in order (migration 0008: it replaced ix_calls_unit)
        Index("ix_calls_unit_started_at", "unit", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(255), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    direction: Mapped[str] = mapped_column(String(16))
    caller: Mapped[str] = mapped_column(String(64))
    caller_e164: Mapped[str] = mapped_column(String(64), index=True)
    dialed: Mapped[str] = mapped_column(String(64))
    dialed_e164: Mapped[str] = mapped_column(String(64), index=True)
    unit: Mapped[str | None] = mapped_column(String(200))
    answered_by: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ring_seconds: Mapped[float | None] = mapped_column(Float)
    rings: Mapped[int | None] = mapped_column(Integer)
    within_target: Mapped[bool | None] = mapped_column(Boolean)
    post_dial_delay_s: Mapped[float | None] = mapped_column(Float)
    final_status: Mapped[int | None] = mapped_column(Integer)
    end_cause: Mapped[str | None] = mapped_column(String(32))
    link: Mapped[str] = mapped_column(String(16))
    holds: Mapped[int] = mapped_column(Integer, default=0)
    in_progress: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    """The input ended while the call was still going on: the record is the call as it stood
    then, and the next capture file of the same stream continues (and replaces) it."""
    caller_name: Mapped[str | None] = mapped_column(String(200))
    """The caller's display name as it came (From, or P-Asserted-Identity)."""
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    """Unanswered calls: how long the caller waited before the call ended unanswered."""
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))

    legs: Mapped[list[Leg]] = relationship(back_populates="call", cascade="all, delete-orphan",
                                           order_by="Leg.started_at")
    transfers: Mapped[list[Transfer]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="Transfer.seq")
    callback: Mapped[CallbackObligation | None] = relationship(
        back_populates="call", cascade="all, delete-orphan")
    media: Mapped[CallMedia | None] = relationship(back_populates="call",
                                                   cascade="all, delete-orphan")
    greeting: Mapped[Greeting | None] = relationship(back_populates="call",
                                                     cascade="all, delete-orphan")
    speech_jobs: Mapped[list[SpeechJob]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="SpeechJob.id")
    dispute: Mapped[Dispute | None] = relationship(back_populates="call",
                                                   cascade="all, delete-orphan")


class Leg(Base):
    """One SIP dialog of a call; where its packets are in the capture (for drill-down)."""

    __tablename__ = "legs"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[str] = mapped_column(String(255), index=True)
    role: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    caller: Mapped[str] = mapped_column(String(64))
    callee: Mapped[str] = mapped_column(String(64))
    extension: Mapped[str | None] = mapped_column(String(32))
    final_status: Mapped[int | None] = mapped_column(Integer)
    end_cause: Mapped[str | None] = mapped_column(String(32))
    transport: Mapped[str] = mapped_column(String(8))
    src: Mapped[str] = mapped_column(String(64))
    dst: Mapped[str] = mapped_column(String(64))
    first_packet: Mapped[int] = mapped_column(Integer)
    last_packet: Mapped[int] = mapped_column(Integer)
    retransmissions: Mapped[int] = mapped_column(Integer, default=0)
    ladder: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    """The SIP messages that decided the leg, once each (see `etykieta.telephony.ladder`);
    None for a leg stored before they were kept."""

    call: Mapped[Call] = relationship(back_populates="legs")


class Transfer(Base):
    """One transfer attempt (T4–T6)."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    from_extension: Mapped[str | None] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    call: Mapped[Call] = relationship(back_populates="transfers")


class CallbackObligation(Base):
    """A unit's duty to call a caller back (T6–T8), opened by a missed call or failed transfer."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"),
                                         unique=True)
    unit: Mapped[str] = mapped_column(String(200), index=True)
    number: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(32), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    call: Mapped[Call] = relationship(back_populates="callback")


class CallMedia(Base):
    """Where the answering employee's audio of a call is, so it can be read again."""

    __tablename__ = "call_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"),
                                         unique=True)
    leg_call_id: Mapped[str] = mapped_column(String(255))
    destination: Mapped[str | None] = mapped_column(String(64))  # "ip:port" the phone sent to
    payload_types: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    codec: Mapped[str | None] = mapped_column(String(32))
    packets: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)  # why there is no audio

    call: Mapped[Call] = relationship(back_populates="media")


class Greeting(Base):
    """The greeting verdict of an answered call (T1, T2, T9, T10) and what it rests on."""

    __tablename__ = "greetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_pk: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"),
                                                unique=True)
    """None while the live monitor has judged the greeting of a call that is still going on:
    ``leg_call_id`` and ``answered_at`` then name the answering leg until the call is stored."""
    leg_call_id: Mapped[str | None] = mapped_column(String(255), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    verdict: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    transcript: Mapped[str | None] = mapped_column(Text)
    grammar_transcript: Mapped[str | None] = mapped_column(Text)
    first_word_s: Mapped[float | None] = mapped_column(Float)
    syllables_per_s: Mapped[float | None] = mapped_column(Float)
    too_fast: Mapped[bool | None] = mapped_column(Boolean)
    casual_words: Mapped[list[str]] = mapped_column(JSON, default=list)
    thanked: Mapped[bool | None] = mapped_column(Boolean)
    order_ok: Mapped[bool | None] = mapped_column(Boolean)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # elements, words
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime)

    call: Mapped[Call | None] = relationship(back_populates="greeting")


class SpeechJob(Base):
    """Audio waiting for recognition: the queue survives restarts (``speech run``).

    ``kind``: ``call`` (a stored call's opening and closing windows, from ``ingest``);
    ``opening`` (the live monitor's opening window, queued at answer + ``window_s`` while the
    call goes on, so ``call_pk`` is None until the call is stored; ``leg_call_id``,
    ``answered_at`` and ``extension`` say whose it is); ``closing`` (that call's closing window,
    queued at hang-up; it completes the greeting's ``thanked``, T10).
    """

    __tablename__ = "speech_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_pk: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"),
                                                index=True)
    kind: Mapped[str] = mapped_column(String(16), default="call", server_default="call")
    leg_call_id: Mapped[str | None] = mapped_column(String(255), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    extension: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued running done failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    sample_rate: Mapped[int] = mapped_column(Integer)
    opening: Mapped[bytes | None] = mapped_column(LargeBinary)  # zlib(int16 LE), until judged
    closing: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    call: Mapped[Call | None] = relationship(back_populates="speech_jobs")


class IngestStream(Base):
    """One capture point whose files ``ingest`` reads in turn (``ingest --stream``).

    The calls still going on at the end of the last input live on in ``carry`` until the next
    file continues them: their SIP since the oldest of them began, and the audio of their
    greeting windows, as one zlib-compressed pcap (see `etykieta.ingest.carry`). It is written
    in the same transaction as the calls of that input, so a crash never separates the two.
    """

    __tablename__ = "ingest_streams"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    carry: Mapped[bytes | None] = mapped_column(LargeBinary)
    carry_packets: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    resume_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """The last packet time read from the stream."""
    open_calls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class User(Base):
    """Someone who may log in to the web application (``etykieta users``).

    ``role`` is ``admin``, ``supervisor`` (of ``units``, by name) or ``staff`` (the person at
    ``extension``). A removed user keeps the row, with ``disabled_at``, so that the audit log's
    names stay unambiguous; ``session_epoch`` grows when the password changes or the user is
    removed, which ends every session signed before.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    units: Mapped[list[str]] = mapped_column(JSON, default=list)
    extension: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AuditEntry(Base):
    """Who did what, when: logins, exports, overrides, changes to users."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    who: Mapped[str] = mapped_column(String(64), index=True)
    """A username, or ``cli`` for the command line."""
    action: Mapped[str] = mapped_column(String(32), index=True)
    address: Mapped[str | None] = mapped_column(String(64))
    """The client's address for what came over the web."""
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LoginFailure(Base):
    """A failed login, kept while it still slows down the next attempts (per name, per address)."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)


class Dispute(Base):
    """An employee's dispute of a call's greeting verdict, and the supervisor's decision.

    ``status``: ``open`` (filed, not decided), ``confirmed`` (the machine's verdict stands) or
    ``overridden`` (``verdict`` is the supervisor's, and reports count it instead of the
    greeting's). ``machine_verdict`` is the greeting's verdict when the dispute was filed; every
    step is a `DisputeEvent`. Keyed by the call, so a greeting judged again keeps its dispute.
    """

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"),
                                         unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    machine_verdict: Mapped[str] = mapped_column(String(32))
    verdict: Mapped[str | None] = mapped_column(String(32))
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    call: Mapped[Call] = relationship(back_populates="dispute")
    events: Mapped[list[DisputeEvent]] = relationship(
        back_populates="dispute", cascade="all, delete-orphan", order_by="DisputeEvent.id")


class DisputeEvent(Base):
    """One step of a dispute: ``disputed``, ``confirmed`` or ``overridden``, by whom, when."""

    __tablename__ = "dispute_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id", ondelete="CASCADE"),
                                            index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    who: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str | None] = mapped_column(String(32))
    """The verdict the step left: the supervisor's on an override."""
    comment: Mapped[str | None] = mapped_column(Text)

    dispute: Mapped[Dispute] = relationship(back_populates="events")


class OutboxMessage(Base):
    """One e-mail of the mail face (``storage.outbox``), recorded before and after it is sent.

    ``key`` is the message's for ever (``staff_weekly/2026-W48/1201``): a key ``sent`` is never
    sent again. ``state``: ``sending`` (handed to SMTP, no answer stored yet), ``sent`` (the
    server accepted it: ``reply``, ``sent_at``), ``failed`` (``failure`` ``temporary`` or
    ``permanent``, ``error``), ``skipped`` (no message for that person: ``error`` says why).
    ``message_id`` is chosen at the first attempt and kept by every later one, so a message
    sent again after a crash can be recognised as the same one.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(64), index=True)
    extension: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(16), index=True)
    message_id: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failure: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    reply: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    """Who is sending it (``host:pid``) while ``sending``: another live process is left alone."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

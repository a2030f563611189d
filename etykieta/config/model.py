"""The validated configuration: frozen dataclasses built by :mod:`etykieta.config.loader`.

Nothing here reads files or validates user input; the loader does that and reports every
problem with its line. These classes only hold values and answer small questions about them.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

DEFAULT_DATABASE_URL = "sqlite:///var/etykieta.db"
DEFAULT_CASUAL_WORDS = ("aha", "dobra", "w porządku", "ok", "okej", "no", "halo")


class NonPersonKind(enum.Enum):
    """What answers at an extension that is not a person."""

    VOICEMAIL = "voicemail"
    IVR = "ivr"
    QUEUE = "queue"
    FAX = "fax"
    CONFERENCE = "conference"
    OTHER = "other"


class NameForm(enum.Enum):
    """How much of their name staff must say in the greeting (rule T1)."""

    FULL = "full"
    SURNAME = "surname"


@dataclass(frozen=True, slots=True)
class Organisation:
    """The office whose phones are monitored, and its national numbering plan."""

    name: str
    country_code: str
    national_number_length: int = 9


@dataclass(frozen=True, slots=True)
class RingCadence:
    """Ringback cadence and the answer target of rule T3 (Polish default: 1 s on, 4 s off).

    Rings are counted by :mod:`etykieta.telephony.rings`.
    """

    on_s: float = 1.0
    off_s: float = 4.0
    target: int = 3


@dataclass(frozen=True, slots=True)
class PbxSettings:
    """How the PBX presents numbers and links the legs of one call."""

    did_prefixes: tuple[str, ...] = ()
    outside_line_prefix: str = ""
    link_header: str = "X-Linkedid"
    link_window_s: float = 10.0
    addresses: tuple[str, ...] = ()


DEFAULT_JOURNAL_DIR = "var/journal"


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """Which SIP traffic to look at; ``sip_ports`` None means any port.

    ``interface`` and ``filter`` are for the live monitor: the interface tcpdump listens on and
    an optional BPF filter (tcpdump syntax) that narrows what it hands over. ``journal_dir``
    is where it keeps the SIP of calls not yet stored, so a restart loses none ("" = no
    journal).
    """

    sip_ports: tuple[int, ...] | None = None
    interface: str = "any"
    filter: str = ""
    journal_dir: str = DEFAULT_JOURNAL_DIR


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """When the office answers the phone: weekdays, opening times, holidays, closed days.

    The arithmetic on these hours lives in ``etykieta.callbacks.calendar``.
    """

    timezone: str = "Europe/Warsaw"
    days: frozenset[int] = frozenset(range(5))  # date.weekday() numbers, Monday = 0
    open: dt.time = dt.time(7, 30)
    close: dt.time = dt.time(15, 30)
    holidays: str = "PL"  # a country code known to the `holidays` package; "" = none
    closed: frozenset[dt.date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        """The office's time zone."""
        return ZoneInfo(self.timezone)


class RemindWho(enum.Enum):
    """Who gets a callback reminder (``[callbacks] remind``)."""

    STAFF = "staff"  # the unit's staff with an e-mail (supervisors included)
    SUPERVISORS = "supervisors"  # the unit's supervisors only


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """Rules T6–T8: how soon a callback is due, counted in business hours.

    ``remind_before_business_minutes``: a duty still pending this long (business time) before
    its ``due_at`` is reminded of by e-mail, once; None = no reminders.
    """

    due_within_business_hours: float = 4.0
    remind_before_business_minutes: float | None = None
    remind: RemindWho = RemindWho.STAFF


@dataclass(frozen=True, slots=True)
class SpeechSettings:
    """Speech recognition of greetings and closings."""

    model_path: str | None = None
    window_s: float = 10.0
    closing_window_s: float = 10.0
    keep_audio: bool = False
    workers: int = 2
    recognizer_calls: int = 1
    """Recognition jobs one recognizer decodes before a fresh one replaces it: 1 is a recognizer
    per job; more trades worker memory (its graph cache) for speed (benchmarks/speech.py)."""


@dataclass(frozen=True, slots=True)
class GreetingSettings:
    """What the greeting check (rules T1, T2, T9) expects."""

    require_office: bool = False
    name: NameForm = NameForm.FULL
    casual_words: tuple[str, ...] = DEFAULT_CASUAL_WORDS
    max_syllables_per_s: float = 6.0


@dataclass(frozen=True, slots=True)
class WeeklyAt:
    """When in the week (office time) the weekly e-mails go out: ``"mon 07:00"``."""

    weekday: int = 0  # date.weekday(), Monday = 0
    time: dt.time = dt.time(7, 0)

    def __str__(self) -> str:
        return f"{WEEKDAY_NAMES[self.weekday]} {self.time:%H:%M}"


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """How reports colour the share answered by the target ring (T3): green from
    ``green_pct``, amber from ``amber_pct``, red below it, as supervisors' tools show it;
    ``weekly_at``: when the long-running service sends the weekly e-mails."""

    green_pct: float = 90.0
    amber_pct: float = 80.0
    weekly_at: WeeklyAt = field(default_factory=WeeklyAt)


class SmtpSecurity(enum.Enum):
    """How the connection to the SMTP server is protected (``[smtp] security``)."""

    STARTTLS = "starttls"  # plain connect, then STARTTLS (submission, port 587)
    SSL = "ssl"  # TLS from the first byte (port 465)
    NONE = "none"  # no TLS: only for a relay on this machine or a trusted network


SMTP_PORTS = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.SSL: 465, SmtpSecurity.NONE: 587}


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The server the e-mails go through; ``host`` "" = no ``[smtp]`` table, nothing is sent.

    The password is never in the configuration: ``password_file`` names a file holding it,
    read when a message is sent. ``ca_file`` (optional) is a PEM file of the certificate
    authorities to trust instead of the system's (a city hall's own CA).
    """

    host: str = ""
    port: int = 587
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password_file: str | None = None
    sender: str = ""
    ca_file: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.host)


DEFAULT_SECRET_FILE = "var/web-secret"


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The web application (``etykieta serve``).

    ``public_url`` is the address users open (behind a reverse proxy: the proxy's); an
    ``https://`` one marks the session cookie Secure. The key that signs session cookies is
    kept in ``secret_file``, never in the configuration itself. ``trust_proxy_user_header``
    names a header a reverse proxy sets to the logged-in user's name (single sign-on); "" = off.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    secret_file: str = DEFAULT_SECRET_FILE
    trust_proxy_user_header: str = ""

    @property
    def https(self) -> bool:
        """Users reach the application over HTTPS."""
        return self.public_url.startswith("https://")


@dataclass(frozen=True, slots=True)
class ExtensionRange:
    """Extensions ``low``..``high`` inclusive, all with the same number of digits."""

    low: str
    high: str

    @classmethod
    def parse(cls, text: str) -> ExtensionRange:
        """Parse ``"1201"`` or ``"1201-1299"``; raise ``ValueError`` saying what is wrong."""
        low, sep, high = (part.strip() for part in text.partition("-"))
        if not sep:
            high = low
        if not (low.isdigit() and high.isdigit() and low.isascii() and high.isascii()):
            raise ValueError(f"'{text}' is not an extension (digits) or a range like 1201-1299")
        if len(low) != len(high):
            raise ValueError(f"range {text} mixes {len(low)}- and {len(high)}-digit extensions")
        if int(low) > int(high):
            raise ValueError(f"range {low}-{high} is reversed")
        return cls(low, high)

    def __contains__(self, extension: object) -> bool:
        return (
            isinstance(extension, str)
            and len(extension) == len(self.low)
            and extension.isdigit()
            and self.low <= extension <= self.high
        )

    def overlaps(self, other: ExtensionRange) -> bool:
        """True if the two ranges share an extension."""
        return len(self.low) == len(other.low) and self.low <= other.high and other.low <= self.high

    def __str__(self) -> str:
        return self.low if self.low == self.high else f"{self.low}-{self.high}"


@dataclass(frozen=True, slots=True)
class Unit:
    """A wydział, biuro, referat or dział; ``aliases`` always includes ``name`` first."""

    name: str
    extensions: tuple[ExtensionRange, ...]
    aliases: tuple[str, ...] = ()
    supervisors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        others = tuple(alias for alias in self.aliases if alias != self.name)
        object.__setattr__(self, "aliases", (self.name, *others))

    def has_extension(self, extension: str) -> bool:
        """True if ``extension`` falls in one of the unit's ranges."""
        return any(extension in rng for rng in self.extensions)


@dataclass(frozen=True, slots=True)
class Staff:
    """A person who answers an extension."""

    extension: str
    first_name: str
    last_name: str
    unit: str
    email: str | None = None
    salutation: str | None = None
    """How letters address them ("Pani Anna", "Pan Jan"): gives the grammatical gender Polish
    needs; without it, messages use gender-neutral phrasing (never guessed from the name)."""

    @property
    def full_name(self) -> str:
        """First and last name, as said in a greeting ("Ewa Kowalska")."""
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True, slots=True)
class NonPerson:
    """An extension answered by a machine or shared by many (voicemail, IVR, queue, …)."""

    extension: str
    kind: NonPersonKind
    unit: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration; ``source`` is the file it came from, if any."""

    organisation: Organisation
    rings: RingCadence = field(default_factory=RingCadence)
    database_url: str = DEFAULT_DATABASE_URL
    pbx: PbxSettings = field(default_factory=PbxSettings)
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    callbacks: CallbackPolicy = field(default_factory=CallbackPolicy)
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    greeting: GreetingSettings = field(default_factory=GreetingSettings)
    web: WebSettings = field(default_factory=WebSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    units: tuple[Unit, ...] = ()
    staff: tuple[Staff, ...] = ()
    non_person: tuple[NonPerson, ...] = ()
    source: str | None = None

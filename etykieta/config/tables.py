"""The single ``[table]``s of the configuration, each read into its settings dataclass."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import zoneinfo

import holidays

from .model import (
    DEFAULT_CASUAL_WORDS,
    DEFAULT_DATABASE_URL,
    DEFAULT_JOURNAL_DIR,
    DEFAULT_SECRET_FILE,
    SMTP_PORTS,
    WEEKDAY_NAMES,
    BusinessHours,
    CallbackPolicy,
    CaptureSettings,
    GreetingSettings,
    NameForm,
    Organisation,
    PbxSettings,
    RemindWho,
    ReportSettings,
    RingCadence,
    SmtpSecurity,
    SmtpSettings,
    SpeechSettings,
    WebSettings,
    WeeklyAt,
)
from .reader import DIGITS, Section, describe, is_int, suggest

# The keys of every table; a key not listed is reported as unknown.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "organisation": ("name", "country_code", "national_number_length"),
    "rings": ("on_s", "off_s", "target"),
    "database": ("url",),
    "pbx": ("did_prefixes", "outside_line_prefix", "link_header", "link_window_s", "addresses"),
    "capture": ("sip_ports", "interface", "filter", "journal_dir"),
    "business_hours": ("timezone", "days", "open", "close", "holidays", "closed"),
    "callbacks": ("due_within_business_hours", "remind_before_business_minutes", "remind"),
    "speech": ("model_path", "window_s", "closing_window_s", "keep_audio", "workers",
               "recognizer_calls"),
    "greeting": ("require_office", "name", "casual_words", "max_syllables_per_s"),
    "web": ("host", "port", "public_url", "secret_file", "trust_proxy_user_header"),
    "reports": ("green_pct", "amber_pct", "weekly_at"),
    # "password" is known only to say where the password goes instead (smtp() below)
    "smtp": ("host", "port", "security", "username", "password_file", "sender", "ca_file",
             "password"),
}

_COUNTRY_CODE = re.compile(r"[0-9]{1,3}")
_DID_PREFIX = re.compile(r"\+?[0-9]+")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_DB_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://.*")
_HEADER_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_PUBLIC_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")
_WEEKLY_AT = re.compile(r"\s*([a-z]{3})\s+([0-9]{1,2}):([0-9]{2})\s*", re.IGNORECASE)
_HOST = re.compile(r"[A-Za-z0-9.:_-]+|\[[0-9A-Fa-f:.]+\]")
_ADDR_SPEC = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+")
_SENDER = re.compile(r"(?:(?P<name>[^<>]*?)\s*<(?P<bracketed>[^<>]+)>|(?P<bare>[^<>\s]+))")


def organisation(section: Section) -> Organisation:
    if not section.data:
        message = "required table [organisation] with name and country_code is missing"
        section.problems.add(section.path, message)
        return Organisation("", "")
    name = section.required_text("name")
    country_code = section.required_text("country_code")
    if country_code is not None and not _COUNTRY_CODE.fullmatch(country_code):
        section.problem("country_code", f'must be 1-3 digits such as "48", got {country_code!r}')
    length = section.integer("national_number_length", 9, minimum=4, maximum=14)
    return Organisation(name or "", country_code or "", length)


def rings(section: Section) -> RingCadence:
    return RingCadence(
        on_s=section.real("on_s", 1.0, minimum=0, strict=True),
        off_s=section.real("off_s", 4.0, minimum=0, strict=False),
        target=section.integer("target", 3, minimum=1),
    )


def database_url(section: Section) -> str:
    url = section.text("url", DEFAULT_DATABASE_URL)
    if not _DB_URL.fullmatch(url):
        section.problem("url", f"must be a database URL like {DEFAULT_DATABASE_URL}, got {url!r}")
        return DEFAULT_DATABASE_URL
    return url


def pbx(section: Section) -> PbxSettings:
    prefixes = section.texts("did_prefixes") or []
    for prefix in prefixes:
        if not _DID_PREFIX.fullmatch(prefix):
            section.problem("did_prefixes", f"{prefix!r} must be digits with an optional '+'")
    outside = section.text("outside_line_prefix", "")
    if outside and not DIGITS.fullmatch(outside):
        section.problem("outside_line_prefix", f"must be digits or empty, got {outside!r}")
    header = section.text("link_header", "X-Linkedid")
    if not _HEADER_TOKEN.fullmatch(header):
        section.problem("link_header", f"must be a SIP header name, got {header!r}")
    addresses = section.texts("addresses") or []
    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            section.problem("addresses", f"{address!r} is not an IP address")
    return PbxSettings(
        did_prefixes=tuple(prefixes),
        outside_line_prefix=outside,
        link_header=header,
        link_window_s=section.real("link_window_s", 10.0, minimum=0, strict=True),
        addresses=tuple(addresses),
    )


def capture(section: Section) -> CaptureSettings:
    interface = section.text("interface", "any")
    if not interface.strip() or any(c.isspace() for c in interface):
        section.problem("interface", f'must be an interface name such as "eth0" or "any", '
                        f"got {interface!r}")
        interface = "any"
    capture_filter = section.text("filter", "")
    journal_dir = section.text("journal_dir", DEFAULT_JOURNAL_DIR)
    ports = section.items("sip_ports", is_int, "integers")
    if ports is None:
        return CaptureSettings(None, interface, capture_filter, journal_dir)
    valid = tuple(port for port in ports if isinstance(port, int) and 1 <= port <= 65535)
    for port in ports:
        if port not in valid:
            section.problem("sip_ports", f"port {port} is outside 1..65535")
    if not ports:
        section.problem("sip_ports", "must not be empty (leave the key out to accept any port)")
    return CaptureSettings(valid or None, interface, capture_filter, journal_dir)


def _clock(section: Section, key: str, default: dt.time) -> dt.time:
    value = section.data.get(key)
    if isinstance(value, dt.time):  # TOML local time: open = 07:30:00
        return value
    if isinstance(value, str) and (match := _HHMM.fullmatch(value)):
        return dt.time(int(match.group(1)), int(match.group(2)))
    if value is not None:
        section.problem(key, f'must be a time "HH:MM" such as "07:30", got {describe(value)}')
    return default


def _day(value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value  # TOML local date: closed = [2026-12-31]
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f'{describe(value)} is not a date "YYYY-MM-DD"')


def business_hours(section: Section) -> BusinessHours:
    zone = section.text("timezone", "Europe/Warsaw")
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        hint = suggest(zone, zoneinfo.available_timezones())
        section.problem("timezone", f"unknown time zone {zone!r}{hint}")
        zone = "Europe/Warsaw"
    written = section.texts("days")
    day_names = [name.lower() for name in (WEEKDAY_NAMES[:5] if written is None else written)]
    for name in day_names:
        if name not in WEEKDAY_NAMES:
            section.problem("days", f"unknown day {name!r}, use {', '.join(WEEKDAY_NAMES)}")
    if not day_names:
        section.problem("days", "must name at least one day")
    opens = _clock(section, "open", dt.time(7, 30))
    closes = _clock(section, "close", dt.time(15, 30))
    if opens >= closes:
        section.problem("close", f"must be after open ({opens:%H:%M}), got {closes:%H:%M}")
    country = section.text("holidays", "PL")
    if country and country not in (countries := holidays.list_supported_countries()):
        hint = suggest(country.upper(), countries)
        section.problem("holidays", f"the holidays package does not know {country!r}{hint}")
        country = ""
    closed = section.items("closed", lambda v: True, "dates")
    return BusinessHours(
        timezone=zone,
        days=frozenset(WEEKDAY_NAMES.index(name) for name in day_names if name in WEEKDAY_NAMES),
        open=opens,
        close=closes,
        holidays=country,
        closed=frozenset(section.parsed("closed", _day, closed or [])),
    )


def callbacks(section: Section) -> CallbackPolicy:
    remind_before = None
    if "remind_before_business_minutes" in section.data:  # absent: no reminders
        remind_before = section.real("remind_before_business_minutes", 0.0, minimum=0,
                                     strict=True) or None
    who = section.text("remind", RemindWho.STAFF.value)
    if who not in {item.value for item in RemindWho}:
        section.problem("remind", f'must be "staff" or "supervisors", got {who!r}')
        who = RemindWho.STAFF.value
    return CallbackPolicy(
        due_within_business_hours=section.real(
            "due_within_business_hours", 4.0, minimum=0, strict=True
        ),
        remind_before_business_minutes=remind_before,
        remind=RemindWho(who),
    )


def speech(section: Section) -> SpeechSettings:
    return SpeechSettings(
        model_path=section.optional_text("model_path"),
        window_s=section.real("window_s", 10.0, minimum=0, strict=True),
        closing_window_s=section.real("closing_window_s", 10.0, minimum=0, strict=True),
        keep_audio=section.flag("keep_audio", False),
        workers=section.integer("workers", 2, minimum=1),
        recognizer_calls=section.integer("recognizer_calls", 1, minimum=1),
    )


def greeting(section: Section) -> GreetingSettings:
    form = section.text("name", NameForm.FULL.value)
    if form not in {item.value for item in NameForm}:
        section.problem("name", f'must be "full" or "surname", got {form!r}')
        form = NameForm.FULL.value
    words = section.texts("casual_words")
    for word in words or []:
        if not word.strip():
            section.problem("casual_words", "must not contain an empty word")
    return GreetingSettings(
        require_office=section.flag("require_office", False),
        name=NameForm(form),
        casual_words=DEFAULT_CASUAL_WORDS
        if words is None
        else tuple(w for w in words if w.strip()),
        max_syllables_per_s=section.real("max_syllables_per_s", 6.0, minimum=0, strict=True),
    )


def web(section: Section) -> WebSettings:
    host = section.text("host", "127.0.0.1")
    if not host.strip() or any(c.isspace() for c in host):
        section.problem("host", f'must be an address to listen on such as "127.0.0.1" or '
                        f'"0.0.0.0", got {host!r}')
        host = "127.0.0.1"
    public_url = section.text("public_url", "")
    if public_url and not _PUBLIC_URL.fullmatch(public_url):
        section.problem("public_url", "must be the address users open, such as "
                        f'"https://etykieta.um.example.pl/", got {public_url!r}')
        public_url = ""
    secret_file = section.text("secret_file", DEFAULT_SECRET_FILE)
    if not secret_file.strip():
        section.problem("secret_file", "must be a file path (leave the key out for "
                        f"{DEFAULT_SECRET_FILE!r})")
        secret_file = DEFAULT_SECRET_FILE
    header = section.text("trust_proxy_user_header", "")
    if header and not _HEADER_TOKEN.fullmatch(header):
        section.problem("trust_proxy_user_header",
                        f'must be an HTTP header name such as "X-Remote-User", got {header!r}')
        header = ""
    return WebSettings(host=host, port=section.integer("port", 8080, minimum=1, maximum=65535),
                       public_url=public_url.rstrip("/"), secret_file=secret_file,
                       trust_proxy_user_header=header)


def reports(section: Section) -> ReportSettings:
    shares = {}
    for key, default in (("green_pct", 90.0), ("amber_pct", 80.0)):
        value = section.real(key, default, minimum=0, strict=False)
        if value > 100:
            section.problem(key, f"must be a percentage, at most 100, got {value:g}")
            value = default
        shares[key] = value
    if shares["amber_pct"] > shares["green_pct"]:
        section.problem("amber_pct", f"must not be above green_pct ({shares['green_pct']:g}), "
                        f"got {shares['amber_pct']:g}")
        shares = {"green_pct": 90.0, "amber_pct": 80.0}
    return ReportSettings(**shares, weekly_at=_weekly_at(section))


def _weekly_at(section: Section) -> WeeklyAt:
    """``weekly_at = "mon 07:00"``: a day of the week and a time, in office time."""
    value = section.text("weekly_at", "mon 07:00")
    match = _WEEKLY_AT.fullmatch(value)
    day = match.group(1).lower() if match else ""
    if match and day in WEEKDAY_NAMES and int(match.group(2)) < 24 and int(match.group(3)) < 60:
        return WeeklyAt(WEEKDAY_NAMES.index(day), dt.time(int(match.group(2)),
                                                           int(match.group(3))))
    section.problem("weekly_at", f'must be a day and a time such as "mon 07:00" (days: '
                    f"{', '.join(WEEKDAY_NAMES)}), got {value!r}")
    return WeeklyAt()


def smtp(section: Section) -> SmtpSettings:
    """``[smtp]``: absent, nothing is sent; present, ``host`` and ``sender`` are required."""
    if "password" in section.data:
        section.problem("password", "the password must not be written in the configuration: "
                        "put it in a file only etykieta can read and name that file in "
                        "password_file")
    if not section.data:
        return SmtpSettings()
    host = section.required_text("host") or ""
    if host and not _HOST.fullmatch(host):
        section.problem("host", f'must be a host name or address such as "smtp.um.example.pl", '
                        f"got {host!r}")
    security = section.text("security", SmtpSecurity.STARTTLS.value)
    if security not in {item.value for item in SmtpSecurity}:
        section.problem("security", f'must be "starttls", "ssl" or "none", got {security!r}')
        security = SmtpSecurity.STARTTLS.value
    chosen = SmtpSecurity(security)
    port = section.integer("port", SMTP_PORTS[chosen], minimum=1, maximum=65535)
    username = section.optional_text("username")
    password_file = section.optional_text("password_file")
    if username is not None and password_file is None:
        section.problem("username", "needs password_file (the file that holds the password)")
    if password_file is not None and username is None:
        section.problem("password_file", "needs username (whose password it holds)")
    sender = section.required_text("sender") or ""
    match = _SENDER.fullmatch(sender.strip()) if sender else None
    address = (match.group("bracketed") or match.group("bare")) if match else ""
    if sender and not _ADDR_SPEC.fullmatch(address.strip()):
        section.problem("sender", 'must be an address such as "Etykieta <etykieta@um.example.pl>"'
                        f" or etykieta@um.example.pl, got {sender!r}")
    return SmtpSettings(host=host, port=port, security=chosen, username=username,
                        password_file=password_file, sender=sender.strip(),
                        ca_file=section.optional_text("ca_file"))

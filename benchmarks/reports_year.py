"""A synthetic year of a large city hall's calls, written straight into the metrics database.

Used by ``benchmarks/reports.py``; run alone it only prints what it would build
(``.venv/bin/python benchmarks/reports_year.py [--calls N] [--seed S]``).

The city hall: 40 units (wydziały, biura, referaty) of 3-47 people, 400 staff in all. Unit *i*
has the extensions 2000+100i … 2000+100i+99: its group number (2000+100i, a hunt group), its
staff from +01, its voicemail at +99. The calls are those of 2025-12-01 to 2026-11-30 (office
time, Europe/Warsaw), about ``calls`` of them:

- **Days**: business days (Polish holidays and weekends closed) carry the calls, Monday 1.30×,
  Friday 0.75× a Wednesday, March 1.2× and August 0.75× a September, the day after a closed day
  1.15×; closed days get 1.5 % of a weekday, inbound only (voicemail, no answer, given up).
- **Hours**: 97 % of a business day's calls arrive 07:30-15:30 with the intensity of
  ``make_day_capture.arrival_rate`` (a peak near 09:15, a smaller one after lunch), the rest
  06:30-07:30 and 15:30-18:00 (inbound, to a closed office).
- **Directions and outcomes**: ``make_day_capture``'s mix (70 % inbound, 20 % outbound, 10 %
  internal; inbound 73 % answered, 7 % voicemail, 10 % abandoned, 5 % busy, 5 % no answer), plus
  0.5 % rejected, 0.3 % failed and 0.1 % unknown. Units differ: a unit's staffing shifts its
  answered share by up to ±9 points and its rings.
- **Rings**: the answering ring is drawn from ``make_day_capture.ANSWER_RING``, later at busy
  hours and in slow units; the ring time lies anywhere in that ring of the 1 s on / 4 s off
  cadence, so ``rings = floor(ring_seconds / 5) + 1`` and ``within_target = rings <= 3``.
  Voicemail answers on ring 4.
- **Legs**: the caller's leg and the PBX's leg to the phone (B2BUA), a transfer leg per transfer
  attempt, a consultation leg per attended transfer; each with its ladder (``legs.ladder``, as
  ``telephony.ladder`` keeps it): INVITE, 180, the final response, CANCEL or BYE.
- **Transfers**: 6 % of answered inbound calls (2 % of internal), blind/attended/pbx 50/30/20;
  22 % of attempts fail (busy, no answer, caller hung up, rejected, no target leg, unknown), a
  tenth of transferred calls try twice.
- **Callbacks**: every unanswered inbound call from a number that can be called back, and every
  call whose last transfer failed (owed by the target's unit), due 4 business hours later
  (``BusinessCalendar``): done 55 %, late 12 %, caller called again 15 %, still open 18 % (pending
  if due after 2026-12-01 10:00, else missed).
- **Media and greetings**: every answered inbound or internal call has a ``call_media`` row and,
  but for the last calls of the year (still queued for recognition), a greeting: no audio 2.5 %,
  unsupported codec (G.729) 1 %, silent 2 %, not checked 3 %, unclear 4 %, the rest complete,
  partial or no greeting by the employee's habits; missing elements, first word, syllables per
  second (too fast above 6), casual words, closing thanks; details with the matched words and
  their times as the recogniser stores them. Recognised greetings have a done speech job.

Everything is seeded: each day draws from ``random.Random(f"{seed}:{day}")``, the city hall from
``random.Random(seed)``, so the same seed gives the same rows.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_day_capture as day_capture  # noqa: E402

ZONE = ZoneInfo("Europe/Warsaw")
FIRST_DAY, END_DAY = date(2025, 12, 1), date(2026, 12, 1)  # [first, end) in office time
AS_OF = datetime(2026, 12, 1, 10, 0, tzinfo=ZONE)
"""The instant callback statuses are judged at (pending until due, then missed)."""
OPEN_AT, CLOSE_AT = time(7, 30), time(15, 30)
DAY_MINUTES = 8 * 60
UNITS = 40
STAFF = 400
CALLS = 1_000_000
DID_PREFIX = "+4874886"
BATCH_DAYS = 3
"""Days written per transaction (~12,000 calls)."""

UNIT_NAMES = (
    ("Wydział Komunikacji", "Komunikacji"),
    ("Wydział Podatków i Opłat Lokalnych", "Podatków"),
    ("Biuro Obsługi Mieszkańców", "BOM"),
    ("Urząd Stanu Cywilnego", "USC"),
    ("Wydział Spraw Obywatelskich", "Spraw Obywatelskich"),
    ("Wydział Architektury i Budownictwa", "Architektury"),
    ("Wydział Gospodarki Nieruchomościami", "Nieruchomości"),
    ("Wydział Polityki Społecznej", "Polityki Społecznej"),
    ("Wydział Edukacji", "Edukacji"),
    ("Wydział Ochrony Środowiska", "Środowiska"),
    ("Wydział Dróg i Transportu", "Dróg"),
    ("Wydział Gospodarki Komunalnej", "Gospodarki Komunalnej"),
    ("Wydział Mieszkalnictwa", "Mieszkalnictwa"),
    ("Wydział Działalności Gospodarczej", "Działalności Gospodarczej"),
    ("Straż Miejska", "Straży Miejskiej"),
    ("Wydział Geodezji i Kartografii", "Geodezji"),
    ("Wydział Planowania Przestrzennego", "Planowania"),
    ("Wydział Finansowy", "Finansowy"),
    ("Wydział Budżetu", "Budżetu"),
    ("Wydział Inwestycji", "Inwestycji"),
    ("Wydział Zamówień Publicznych", "Zamówień"),
    ("Wydział Kultury i Sportu", "Kultury"),
    ("Wydział Zdrowia", "Zdrowia"),
    ("Wydział Zarządzania Kryzysowego", "Zarządzania Kryzysowego"),
    ("Wydział Organizacyjny", "Organizacyjny"),
    ("Wydział Księgowości", "Księgowości"),
    ("Wydział Ochrony Zabytków", "Zabytków"),
    ("Wydział Rolnictwa", "Rolnictwa"),
    ("Biuro Rady Miejskiej", "Biuro Rady"),
    ("Biuro Prawne", "Prawne"),
    ("Biuro Promocji", "Promocji"),
    ("Biuro Informatyki", "Informatyki"),
    ("Biuro Funduszy Europejskich", "Funduszy"),
    ("Biuro Audytu Wewnętrznego", "Audytu"),
    ("Biuro Kontroli", "Kontroli"),
    ("Biuro Rzecznika Prasowego", "Rzecznika"),
    ("Biuro Zarządzania Projektami", "Projektów"),
    ("Biuro Bezpieczeństwa Informacji", "Bezpieczeństwa"),
    ("Referat Kadr", "Kadr"),
    ("Referat Ewidencji Ludności", "Ewidencji"),
)
WEEKDAY_FACTOR = (1.30, 1.10, 1.00, 0.95, 0.75, 0.0, 0.0)
MONTH_FACTOR = {1: 1.15, 2: 1.05, 3: 1.20, 4: 1.05, 5: 0.95, 6: 0.95, 7: 0.80, 8: 0.75,
                9: 1.00, 10: 1.05, 11: 1.00, 12: 0.90}
CLOSED_DAY_FACTOR = 0.015
OUTSIDE_HOURS_SHARE = 0.03
OUTCOMES = {
    direction: {**shares, "rejected": 0.005, "failed": 0.003, "unknown": 0.001}
    for direction, shares in day_capture.OUTCOMES.items()}
AFTER_HOURS_OUTCOMES = {"voicemail": 0.6, "no_answer": 0.25, "abandoned": 0.15}
FINAL_STATUS = {"answered": 200, "voicemail": 200, "abandoned": 487, "busy": 486,
                "no_answer": 480, "rejected": 603, "failed": 503, "unknown": None}
END_CAUSE = {"abandoned": "caller_cancel", "busy": "final_response",
             "no_answer": "final_response", "rejected": "final_response",
             "failed": "final_response", "unknown": "capture_ended"}
TRANSFER_KINDS = {"blind": 0.5, "attended": 0.3, "pbx": 0.2}
TRANSFER_FAILS = 0.22
TRANSFER_REASONS = {"busy": 0.35, "no_answer": 0.35, "caller_hung_up": 0.2, "rejected": 0.05,
                    "no_target_leg": 0.03, "unknown": 0.02}
CALLBACK_CLOSED = {"done": 0.55, "late": 0.12, "caller_called_again": 0.15}  # else open
ELEMENTS = ("unit", "office", "name", "dzien_dobry")
MISSING_ODDS = {"unit": 0.2, "office": 0.45, "name": 0.3, "dzien_dobry": 0.25}
CASUAL = ("aha", "dobra", "w porządku", "ok", "okej", "no", "halo")
MAX_SYLLABLES_PER_S = 6.0
CALLER_NAMES = ("Jan Kowalski", "Anna Nowak", "Kancelaria Radcy Prawnego", "PHU Budex",
                "Spółdzielnia Mieszkaniowa", "Tomasz Wiśniewski", "Szkoła Podstawowa nr 3",
                "Urząd Skarbowy", "Biuro Rachunkowe Bilans", "Żaneta Dąbrowska", "Auto-Serwis",
                "Wspólnota Mieszkaniowa", "=SUMA(A1:A9)", '<script>alert("x")</script>')
MOBILE = ("50", "51", "53", "57", "60", "66", "69", "72", "78", "79", "88")
LANDLINE = ("74", "71", "22", "58", "61", "12")
SBC, PBX = "10.20.0.1:5060", "10.20.0.10:5060"
RING_CYCLE_S = 5.0


# -- the city hall -----------------------------------------------------------------------------
@dataclass(slots=True)
class Person:
    extension: str
    first_name: str
    last_name: str
    unit: int
    load: float  # share of the unit's direct calls
    complete: float  # how often the greeting is whole
    too_fast: float  # mean syllables per second
    casual: float
    thanks: float


@dataclass(slots=True)
class Unit:
    index: int
    name: str
    alias: str
    weight: float  # share of the city hall's calls
    skill: float  # -1 (understaffed) … +1
    staff: list[Person] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)

    @property
    def base(self) -> int:
        return 2000 + 100 * self.index

    @property
    def group(self) -> str:
        return str(self.base)

    @property
    def voicemail(self) -> str:
        return str(self.base + 99)


def city_hall(seed: int) -> list[Unit]:
    """40 units, Zipf-weighted calls, 400 people shared out by the units' sizes."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) ** 0.9 for i in range(UNITS)]
    total = sum(weights)
    units = [Unit(i, name, alias, w / total, max(-1.0, min(1.0, rng.gauss(0, 0.45))))
             for i, ((name, alias), w) in enumerate(zip(UNIT_NAMES, weights, strict=True))]
    sizes = [w ** 0.7 for w in weights]
    scale = (STAFF - 3 * UNITS) / sum(sizes)
    counts = [3 + math.floor(s * scale) for s in sizes]
    for i in sorted(range(UNITS), key=lambda i: sizes[i] * scale % 1, reverse=True):
        if sum(counts) >= STAFF:
            break
        counts[i] += 1
    for unit, count in zip(units, counts, strict=True):
        culture = rng.uniform(0.35, 0.85)
        for k in range(count):
            female = rng.random() < 0.62
            stem, adjectival = rng.choice(day_capture.SURNAMES)
            last = stem + ("a" if female else "i") if adjectival else stem
            first = rng.choice(day_capture.FIRST_NAMES[0 if female else 1])
            unit.staff.append(Person(
                str(unit.base + 1 + k), first, last, unit.index, rng.lognormvariate(0, 0.5),
                max(0.1, min(0.97, rng.gauss(culture, 0.15))), rng.gauss(4.9, 0.6),
                rng.betavariate(1.2, 12), rng.uniform(0.4, 0.95)))
        unit.loads = [p.load for p in unit.staff]
    return units


def config_toml(units: list[Unit], database_url: str) -> str:
    """The matching ``etykieta.toml``: lab.toml's organisation, hours and callbacks, these units
    (group number, staff range, voicemail), their people; the first of each unit supervises."""
    lines = [
        "# Generated by benchmarks/reports_year.py: benchmarks/reports.py's synthetic city hall.",
        "", "[organisation]", 'name = "Urząd Miejski w Wałbrzychu"', 'country_code = "48"',
        "national_number_length = 9", "", "[rings]", "on_s = 1.0", "off_s = 4.0", "target = 3",
        "", "[database]", f'url = "{database_url}"', "", "[pbx]",
        'did_prefixes = ["+4874886", "4874886", "074886", "74886"]', 'link_header = "X-Linkedid"',
        "", "[business_hours]", 'timezone = "Europe/Warsaw"',
        'days = ["mon", "tue", "wed", "thu", "fri"]', 'open = "07:30"', 'close = "15:30"',
        'holidays = "PL"', "", "[callbacks]", "due_within_business_hours = 4"]
    for unit in units:
        lines += ["", "[[units]]", f'name = "{unit.name}"', f'aliases = ["{unit.alias}"]',
                  f'extensions = ["{unit.base + 1}-{unit.base + 99}", "{unit.group}"]',
                  f'supervisors = ["{unit.staff[0].extension}"]']
    for unit in units:
        lines += ["", "[[non_person]]", f'extension = "{unit.voicemail}"', 'kind = "voicemail"',
                  f'unit = "{unit.name}"']
        lines += ["", "[[non_person]]", f'extension = "{unit.group}"', 'kind = "queue"',
                  f'unit = "{unit.name}"', f'name = "Kolejka: {unit.alias}"']
    for unit in units:
        for person in unit.staff:
            email = (f"{person.first_name}.{person.last_name}.{person.extension}@um.example.pl"
                     .lower().translate(day_capture.ASCII))
            lines += ["", "[[staff]]", f'extension = "{person.extension}"',
                      f'first_name = "{person.first_name}"', f'last_name = "{person.last_name}"',
                      f'unit = "{unit.name}"', f'email = "{email}"']
    return "\n".join(lines) + "\n"


# -- the days ------------------------------------------------------------------------------------
def business_calendar() -> Any:
    from etykieta.callbacks import BusinessCalendar

    return BusinessCalendar(timezone="Europe/Warsaw", days=["mon", "tue", "wed", "thu", "fri"],
                            open_at=OPEN_AT, close_at=CLOSE_AT, holiday_country="PL")


def days() -> Iterator[date]:
    day = FIRST_DAY
    while day < END_DAY:
        yield day
        day += timedelta(days=1)


def day_calls(calendar: Any, seed: int, total: int) -> list[tuple[date, int, bool]]:
    """Each day, its number of calls and whether the office is open; they add up to ``total``."""
    rng = random.Random(f"{seed}:days")
    weights, previous_open = [], True
    for day in days():
        is_open = calendar.is_business_day(day)
        if is_open:
            w = WEEKDAY_FACTOR[day.weekday()] * MONTH_FACTOR[day.month]
            w *= (1.0 if previous_open else 1.15) * rng.lognormvariate(0, 0.08)
        else:
            w = CLOSED_DAY_FACTOR
        weights.append((day, w, is_open))
        previous_open = is_open
    scale = total / sum(w for _, w, _ in weights)
    out, carried, made = [], 0.0, 0
    for day, w, is_open in weights:
        carried += w * scale
        n = round(carried) - made
        made += n
        out.append((day, n, is_open))
    return out


def local(day: date, minutes: float) -> datetime:
    """``minutes`` after midnight of ``day`` in office time, as a UTC instant."""
    wall = datetime.combine(day, time(0)) + timedelta(minutes=minutes)
    return wall.replace(tzinfo=ZONE).astimezone(UTC)


def arrival_minutes(rng: random.Random, n: int, is_open: bool) -> list[tuple[float, bool]]:
    """(minute after midnight, inside opening hours) of ``n`` calls, sorted."""
    out = []
    opening = OPEN_AT.hour * 60 + OPEN_AT.minute
    for _ in range(n):
        if not is_open:
            out.append((rng.uniform(8 * 60, 18 * 60), False))
        elif rng.random() < OUTSIDE_HOURS_SHARE:
            early = rng.random() < 0.33
            out.append((rng.uniform(6.5 * 60, opening) if early
                        else rng.uniform(15.5 * 60, 18 * 60), False))
        else:
            while True:
                minute = rng.uniform(0, DAY_MINUTES)
                if rng.uniform(0, 1.5) < day_capture.arrival_rate(minute):
                    out.append((opening + minute, True))
                    break
    out.sort()
    return out


REASONS = {180: "Ringing", 200: "OK", 480: "Temporarily Unavailable", 486: "Busy Here",
           487: "Request Terminated", 503: "Service Unavailable", 603: "Decline"}


def ladder(started: datetime, answered_at: datetime | None, ended: datetime,
           final_status: int | None, end_cause: str, src: str, dst: str) -> list[dict[str, Any]]:
    """A leg's ladder as ``LadderStep.to_dict`` stores it: INVITE, 180, the final response,
    then the CANCEL of a caller who gave up or the BYE of an answered call."""
    at = started.timestamp()

    def step(seconds: float, method: str | None, status: int | None, *, back: bool = False,
             cseq_method: str = "INVITE", in_dialog: bool = False) -> dict[str, Any]:
        return {"at": round(seconds, 6), "src": dst if back else src,
                "dst": src if back else dst, "hop": 1, "method": method, "status": status,
                "reason": REASONS.get(status or 0) if status else None, "cseq": 1 if
                cseq_method != "BYE" else 2, "cseq_method": cseq_method, "note": None,
                "in_dialog": in_dialog, "tag": "t1" if status else None}

    end = ended.timestamp()
    steps = [step(at, "INVITE", None)]
    if final_status is None or final_status in (200, 480, 487):
        steps.append(step(at + 0.2, None, 180, back=True))
    if end_cause == "caller_cancel":
        steps.append(step(end - 0.01, "CANCEL", None, cseq_method="CANCEL"))
    if final_status is not None:
        answer = answered_at.timestamp() if answered_at is not None else end
        steps.append(step(answer, None, final_status, back=True))
    if answered_at is not None and end_cause != "final_response":
        steps.append(step(end, "BYE", None, back=end_cause == "callee_bye",
                          cseq_method="BYE", in_dialog=True))
    return steps


# -- one year, streamed --------------------------------------------------------------------------
@dataclass(slots=True)
class Totals:
    """What the generator wrote, counted as it went (for the printout and checks)."""

    rows: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    directions: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    callbacks: Counter[str] = field(default_factory=Counter)


class Year:
    """Generates the year's rows a few days at a time: ``batches()`` yields {table: [row]}."""

    def __init__(self, seed: int = 1, calls: int = CALLS) -> None:
        self.seed = seed
        self.units = city_hall(seed)
        self.people = {p.extension: p for u in self.units for p in u.staff}
        self.calendar = business_calendar()
        self.plan = day_calls(self.calendar, seed, calls)
        self.unit_weights = [u.weight for u in self.units]
        self.totals = Totals()
        self.ids: Counter[str] = Counter()
        self.packet = 0
        self.frequent = [self._new_number(random.Random(f"{seed}:frequent"))
                         for _ in range(20_000)]
        self.last_greeted_at = self._queue_after()
        self._greeting_cache: dict[tuple[str, int, int], tuple[str, dict[str, Any]]] = {}
        self._due_cache: dict[datetime, datetime] = {}

    def _queue_after(self) -> datetime:
        """Greetings of calls answered after this are still queued at the end of the year."""
        last_open = max(d for d, n, is_open in self.plan if is_open and n)
        return local(last_open, 13 * 60 + 30)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def batches(self) -> Iterator[dict[str, list[dict[str, Any]]]]:
        batch: dict[str, list[dict[str, Any]]] = {}
        for k, (day, n, is_open) in enumerate(self.plan):
            self._day(day, n, is_open, batch)
            if (k + 1) % BATCH_DAYS == 0:
                yield batch
                batch = {}
        if batch:
            yield batch
        yield {"ingest_streams": [{
            "name": "pbx1", "carry": None, "carry_packets": 0,
            "resume_at": local(END_DAY, -6 * 60), "open_calls": 0,
            "updated_at": local(END_DAY, -6 * 60 + 5)}]}

    # a day ---------------------------------------------------------------------------------
    def _day(self, day: date, n: int, is_open: bool, out: dict[str, list[dict[str, Any]]]
             ) -> None:
        if not n:
            return
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        capture_id = self.next_id("captures")
        minutes = arrival_minutes(rng, n, is_open)
        first_at, calls_before = local(day, minutes[0][0]), self.ids["calls"]
        out.setdefault("captures", [])
        weekday_load = WEEKDAY_FACTOR[day.weekday()]
        last_end = first_at
        for minute, inside in minutes:
            started = local(day, minute)
            load = (day_capture.arrival_rate(minute - OPEN_AT.hour * 60 - OPEN_AT.minute)
                    / 1.3 * weekday_load if inside else 0.0)
            end = self._call(rng, started, inside, load, capture_id, out)
            last_end = max(last_end, end)
        packets = self.packet
        calls = self.ids["calls"] - calls_before
        out["captures"].append({
            "id": capture_id, "path": f"/var/spool/etykieta/pbx1/trace_{day:%Y%m%d}.pcap",
            # a day's file with RTP is ~310 kB a call; captures.size is an INTEGER, which
            # PostgreSQL keeps in 32 bits: a file of 2 GiB or more cannot be recorded there
            "size": min(calls * 310_000, 2**31 - 1),
            "mtime": (last_end + timedelta(minutes=2)).timestamp(),
            "stream": "pbx1", "ingested_at": last_end + timedelta(minutes=5),
            "first_at": first_at, "last_at": last_end, "finished_at": last_end
            + timedelta(minutes=6), "packets": packets, "sip_messages": calls * 9,
            "calls_found": calls, "calls_added": calls, "unparsable": 0,
            "malformed_packets": 0, "truncated": False, "ambiguous_links": 0, "errors": ""})
        self.totals.rows["captures"] += 1

    def _new_number(self, rng: random.Random) -> str:
        prefix = rng.choice(MOBILE if rng.random() < 0.7 else LANDLINE)
        return prefix + f"{rng.randrange(10 ** 7):07d}"

    def _external(self, rng: random.Random) -> tuple[str, str]:
        """(as it came, E.164) of a caller: a frequent caller, a new one, or hidden."""
        r = rng.random()
        if r < 0.015:
            return "anonymous", "anonymous"
        national = rng.choice(self.frequent) if r < 0.3 else self._new_number(rng)
        return (national if rng.random() < 0.2 else "+48" + national), "+48" + national

    def _person(self, rng: random.Random, unit: Unit) -> Person:
        return rng.choices(unit.staff, weights=unit.loads)[0]

    def _call(self, rng: random.Random, started: datetime, inside: bool, load: float,
              capture_id: int, out: dict[str, list[dict[str, Any]]]) -> datetime:
        """One call and its rows; returns when it ended."""
        rand = rng.random
        call_pk = self.next_id("calls")
        units = self.units
        unit = rng.choices(units, weights=self.unit_weights)[0]
        direction = day_capture.pick(rng, day_capture.DIRECTIONS) if inside else "inbound"
        if not inside:
            outcome = day_capture.pick(rng, AFTER_HOURS_OUTCOMES)
        else:
            outcome = day_capture.pick(rng, OUTCOMES[direction])
            if outcome == "answered" and unit.skill < 0 and rand() < -0.12 * unit.skill:
                outcome = "abandoned"
            elif outcome in ("abandoned", "no_answer") and rand() < 0.5 * max(unit.skill, 0):
                outcome = "answered"
        caller_name = None
        rung: str | None  # the extension the PBX rang
        answered_by: str | None = None
        if direction == "inbound":
            caller, caller_e164 = self._external(rng)
            if outcome == "voicemail" or rand() < 0.3:
                dialed_ext = unit.group
            else:
                dialed_ext = self._person(rng, unit).extension
            rung = dialed_ext if dialed_ext != unit.group else self._person(rng, unit).extension
            dialed = (DID_PREFIX if rand() < 0.8 else "74886") + dialed_ext
            dialed_e164 = DID_PREFIX + dialed_ext
            if rand() < 0.3:
                caller_name = rng.choice(CALLER_NAMES[:-2] if rand() < 0.999 else CALLER_NAMES)
            call_unit = unit
            if outcome == "answered":
                answered_by = rung if rand() < 0.95 else self._person(rng, unit).extension
            elif outcome == "voicemail":
                answered_by = unit.voicemail
        elif direction == "outbound":
            person = self._person(rng, unit)
            caller = caller_e164 = person.extension
            number = self._new_number(rng)
            dialed, dialed_e164 = ("0" + number, "+48" + number)
            rung = None
            call_unit = unit
            if outcome == "voicemail":
                outcome = "answered"
            if outcome == "answered":
                answered_by = dialed_e164  # an outside number picked up
        else:
            person = self._person(rng, unit)
            caller = caller_e164 = person.extension
            callee_unit = unit if rand() < 0.5 else rng.choices(units,
                                                                 weights=self.unit_weights)[0]
            callee = self._person(rng, callee_unit)
            if callee is person:
                callee = callee_unit.staff[(callee_unit.staff.index(person) + 1)
                                           % len(callee_unit.staff)]
            dialed = dialed_e164 = rung = callee.extension
            call_unit = callee_unit
            if outcome == "voicemail":
                outcome = "answered"
            if outcome == "answered":
                answered_by = callee.extension
        pdd = round(rng.uniform(0.05, 0.6), 3)
        ring_s = answered_at = wait = None
        rings = within = None
        if outcome == "answered":
            ring = day_capture.pick(rng, day_capture.ANSWER_RING)
            if rand() < 0.25 * load + 0.15 * max(-unit.skill, 0):
                ring += 1 if rand() < 0.7 else 2
            elif unit.skill > 0.3 and ring > 1 and rand() < 0.3:
                ring -= 1
            ring_s = round((ring - 1) * RING_CYCLE_S + rng.uniform(0.02, 4.98), 3)
        elif outcome == "voicemail":
            ring_s = round(3 * RING_CYCLE_S + rng.uniform(0.02, 1.0), 3)
        elif outcome == "abandoned":
            wait = round(min(rng.expovariate(1 / 12) + 2.0, 60.0), 3)
        elif outcome == "busy":
            wait = round(rng.uniform(0.05, 0.5), 3)
        elif outcome == "no_answer":
            wait = round(rng.uniform(30.0, 45.0), 3)
        elif outcome == "rejected":
            wait = round(rng.uniform(0.5, 6.0), 3)
        elif outcome == "failed":
            wait = round(rng.uniform(0.5, 32.0), 3)
        if ring_s is not None:
            rings = math.floor(ring_s / RING_CYCLE_S) + 1
            answered_at = started + timedelta(seconds=pdd + ring_s)
            within = rings <= 3 if outcome == "answered" else None
            talk = 1.0 + rng.expovariate(1 / (150.0 if outcome == "answered" else 25.0))
            ended = answered_at + timedelta(seconds=talk)
        elif outcome == "unknown":
            ended = started + timedelta(seconds=rng.uniform(1, 40))
        else:
            ended = started + timedelta(seconds=pdd + (wait or 0.0) + 0.01)
        call_id = f"{rng.getrandbits(64):016x}-{call_pk}@{SBC.split(':')[0]}"
        # transfers (T4-T6)
        transfers = []
        if outcome == "answered" and answered_at is not None and (
                (direction == "inbound" and rand() < 0.06)
                or (direction == "internal" and rand() < 0.02)):
            attempts = 2 if rand() < 0.1 else 1
            at = answered_at + timedelta(seconds=rng.uniform(10, 90))
            for seq in range(attempts):
                failed = seq < attempts - 1 or rand() < TRANSFER_FAILS
                target_unit = unit if rand() < 0.4 else rng.choices(
                    units, weights=self.unit_weights)[0]
                target = self._person(rng, target_unit).extension
                failed_at = at + timedelta(seconds=rng.uniform(1, 25)) if failed else None
                transfers.append({
                    "id": self.next_id("transfers"), "call_pk": call_pk, "seq": seq,
                    "kind": day_capture.pick(rng, TRANSFER_KINDS),
                    "from_extension": answered_by, "target": target,
                    "outcome": "failed" if failed else "connected",
                    "reason": day_capture.pick(rng, TRANSFER_REASONS) if failed else None,
                    "at": at, "failed_at": failed_at})
                at = (failed_at or at) + timedelta(seconds=rng.uniform(5, 30))
            ended = max(ended, at + timedelta(seconds=rng.uniform(10, 200)))
        final_status = FINAL_STATUS[outcome]
        end_cause = (END_CAUSE[outcome] if outcome in END_CAUSE
                     else "caller_bye" if rand() < 0.55 else "callee_bye")
        link = "refer" if transfers else "header"
        out.setdefault("calls", []).append({
            "id": call_pk, "call_id": call_id, "started_at": started, "ended_at": ended,
            "direction": direction, "caller": caller, "caller_e164": caller_e164,
            "dialed": dialed, "dialed_e164": dialed_e164, "unit": call_unit.name,
            "answered_by": answered_by, "outcome": outcome, "answered_at": answered_at,
            "ring_seconds": ring_s, "rings": rings, "within_target": within,
            "post_dial_delay_s": pdd, "final_status": final_status, "end_cause": end_cause,
            "link": link, "holds": 1 if answered_at is not None and rand() < 0.05 else 0,
            "in_progress": False, "caller_name": caller_name, "wait_seconds": wait,
            "capture_id": capture_id})
        totals = self.totals
        totals.rows["calls"] += 1
        totals.outcomes[outcome] += 1
        totals.directions[direction] += 1
        self._legs(rng, call_pk, call_id, started, answered_at, ended, caller, dialed, rung,
                   final_status, end_cause, transfers, out)
        if transfers:
            out.setdefault("transfers", []).extend(transfers)
            totals.rows["transfers"] += len(transfers)
        self._callback(rng, call_pk, direction, outcome, caller_e164, call_unit, ended,
                       transfers, out)
        if outcome == "answered" and direction in ("inbound", "internal") and answered_by:
            assert answered_at is not None
            self._greeting(rng, call_pk, answered_by, answered_at, ended, out)
        return ended

    def _legs(self, rng: random.Random, call_pk: int, call_id: str, started: datetime,
              answered_at: datetime | None, ended: datetime, caller: str, dialed: str,
              rung: str | None, final_status: int | None, end_cause: str,
              transfers: list[dict[str, Any]], out: dict[str, list[dict[str, Any]]]) -> None:
        legs = out.setdefault("legs", [])
        n = 10 + int(rng.random() * 6)
        phone_ip = f"10.30.{int(rung or 0) // 100 % 256}.{int(rung or 0) % 100 + 1}:5060"
        first = self.packet + 1
        common = {"call_pk": call_pk, "caller": caller, "final_status": final_status,
                  "end_cause": end_cause, "ended_at": ended}
        ladders = {side: ladder(started, answered_at, ended, final_status, end_cause, *hop)
                   for side, hop in (("caller", (SBC, PBX)), ("phone", (PBX, phone_ip)))}
        legs.append({**common, "id": self.next_id("legs"), "call_id": call_id, "role": "caller",
                     "ladder": ladders["caller"],
                     "started_at": started, "answered_at": answered_at, "callee": dialed,
                     "extension": rung, "transport": "UDP", "src": SBC, "dst": PBX,
                     "first_packet": first, "last_packet": first + n,
                     "retransmissions": 1 if rng.random() < 0.04 else 0})
        legs.append({**common, "id": self.next_id("legs"),
                     "call_id": f"{rng.getrandbits(128):032x}", "role": "phone",
                     "ladder": ladders["phone"],
                     "started_at": started + timedelta(milliseconds=2),
                     "answered_at": answered_at, "callee": rung or dialed, "extension": rung,
                     "transport": "UDP" if rng.random() < 0.9 else "TCP", "src": PBX,
                     "dst": phone_ip if rung else SBC, "first_packet": first + 2,
                     "last_packet": first + n + 2, "retransmissions": 0})
        for t in transfers:
            roles = ("consultation", "transfer") if t["kind"] == "attended" else ("transfer",)
            for role in roles:
                legs.append({**common, "id": self.next_id("legs"),
                             "call_id": f"{rng.getrandbits(128):032x}", "role": role,
                             "ladder": ladder(t["at"], None if t["failed_at"] else t["at"],
                                              t["failed_at"] or ended,
                                              486 if t["reason"] == "busy" else
                                              480 if t["failed_at"] else 200,
                                              "final_response" if t["failed_at"]
                                              else "callee_bye", PBX, PBX),
                             "started_at": t["at"], "answered_at": None if t["failed_at"]
                             else t["at"] + timedelta(seconds=rng.uniform(2, 12)),
                             "ended_at": t["failed_at"] or ended, "callee": t["target"],
                             "extension": t["target"], "transport": "UDP", "src": PBX,
                             "dst": PBX, "first_packet": first + n + 3,
                             "last_packet": first + n + 12, "retransmissions": 0,
                             "final_status": 486 if t["reason"] == "busy" else
                             480 if t["failed_at"] else 200})
        self.packet = first + n + 14
        self.totals.rows["legs"] += 2 + sum(2 if t["kind"] == "attended" else 1
                                            for t in transfers)

    def _due(self, opened: datetime) -> datetime:
        key = opened.replace(second=0, microsecond=0)
        due = self._due_cache.get(key)
        if due is None:
            due = self._due_cache[key] = self.calendar.add_business_time(key, 4)
        return due + (opened - key)

    def _callback(self, rng: random.Random, call_pk: int, direction: str, outcome: str,
                  number: str, unit: Unit, ended: datetime, transfers: list[dict[str, Any]],
                  out: dict[str, list[dict[str, Any]]]) -> None:
        if direction != "inbound" or not number.startswith("+"):
            return
        if outcome in ("abandoned", "busy", "no_answer", "rejected", "voicemail"):
            opened, owner, reason = ended, unit.name, "missed_call"
        elif transfers and transfers[-1]["outcome"] == "failed":
            last = transfers[-1]
            opened, reason = last["failed_at"], "failed_transfer"
            owner = self.units[self.people[last["target"]].unit].name
        else:
            return
        due = self._due(opened)
        # the last day's duties are mostly still open: the worklist has something to show
        r = rng.random() if AS_OF - opened > timedelta(hours=24) else rng.uniform(0.5, 1.1)
        attempts, done_at = 0, None
        if r < CALLBACK_CLOSED["done"]:
            status = "done"
            attempts = 1 if rng.random() < 0.8 else 2
            done_at = opened + (due - opened) * rng.uniform(0.05, 0.95)
        elif r < CALLBACK_CLOSED["done"] + CALLBACK_CLOSED["late"]:
            status = "late"
            attempts = rng.choice((1, 1, 2, 3))
            done_at = due + timedelta(hours=rng.uniform(0.2, 30))
        elif r < sum(CALLBACK_CLOSED.values()):
            status = "caller_called_again"
            attempts = rng.choice((0, 0, 1))
            done_at = opened + timedelta(minutes=rng.uniform(3, 180))
        else:
            status = "pending" if due > AS_OF else "missed"
            attempts = rng.choice((0, 0, 0, 1, 2))
        if done_at is not None and done_at > AS_OF:
            status, done_at = ("pending" if due > AS_OF else "missed"), None
        out.setdefault("callbacks", []).append({
            "id": self.next_id("callbacks"), "call_pk": call_pk, "unit": owner,
            "number": number, "reason": reason, "opened_at": opened, "due_at": due,
            "status": status, "attempts": attempts, "done_at": done_at})
        self.totals.rows["callbacks"] += 1
        self.totals.callbacks[status] += 1

    # greetings ---------------------------------------------------------------------------------
    def _greeting(self, rng: random.Random, call_pk: int, extension: str, answered_at: datetime,
                  ended: datetime, out: dict[str, list[dict[str, Any]]]) -> None:
        rand = rng.random
        person = self.people.get(extension)
        r = rand()
        codec = "PCMA" if r < 0.86 else "PCMU" if r < 0.985 else "G729"
        no_rtp = rand() < 0.025
        packets = 0 if no_rtp else int((ended - answered_at).total_seconds() * 50)
        out.setdefault("call_media", []).append({
            "id": self.next_id("call_media"), "call_pk": call_pk,
            "leg_call_id": f"{rng.getrandbits(128):032x}",
            "destination": f"10.20.0.10:{20000 + 2 * rng.randrange(5000)}",
            "payload_types": {"8": ["PCMA", 8000], "0": ["PCMU", 8000],
                              "101": ["TELEPHONE-EVENT", 8000]} if codec != "G729"
            else {"18": ["G729", 8000], "101": ["TELEPHONE-EVENT", 8000]},
            "answered_at": answered_at, "ended_at": ended,
            "codec": None if no_rtp else codec, "packets": packets, "reason": None})
        self.totals.rows["call_media"] += 1
        checked = ended + timedelta(seconds=rng.uniform(20, 300))
        job: dict[str, Any] | None = None
        if answered_at > self.last_greeted_at and not no_rtp and codec != "G729":
            # still in the speech queue at the end of the year: no verdict yet
            out.setdefault("speech_jobs", []).append(self._job(
                rng, call_pk, "queued", ended, None, opening=rng.randbytes(24_000)))
            self.totals.verdicts["(queued)"] += 1
            return
        missing: list[str] = []
        transcript = reason = None
        first_word = sps = order_ok = None
        too_fast, casual, thanked = False, [], None
        details: dict[str, Any] = {"elements": dict.fromkeys(ELEMENTS), "mean_conf": None}
        if no_rtp:
            verdict, reason = "no_audio", "no RTP from the answering phone in the capture"
        elif codec == "G729":
            verdict, reason = "unsupported_codec", "codec G729 is not supported"
        elif (r := rand()) < 0.02:
            verdict, reason = "silent", "no speech in the opening window"
        elif r < 0.05 or person is None:
            verdict = "not_checked"
            cause = "recognition_failed" if rand() < 0.4 else "no_model"
            reason = ("speech recognition failed" if cause == "recognition_failed"
                      else "no speech model configured")
            details["cause"] = cause
            if cause == "recognition_failed":
                job = self._job(rng, call_pk, "failed", ended, checked)
        else:
            if r < 0.09:
                verdict = "unclear"
                missing = list(ELEMENTS)
            elif rand() < person.complete:
                verdict = "complete"
            else:
                missing = [e for e in ELEMENTS if rand() < MISSING_ODDS[e]]
                if rand() < 0.2 or len(missing) == len(ELEMENTS):
                    verdict, missing = "no_greeting", list(ELEMENTS)
                else:
                    verdict = "partial"
                    if not missing:
                        missing = [rng.choice(ELEMENTS)]
            variant = int(rand() * 8)
            transcript, details = self._transcript(person, missing, variant,
                                                   unclear=verdict == "unclear")
            first_word = details["first_word_s"]
            sps = round(rng.gauss(person.too_fast, 0.55), 2)
            too_fast = sps > MAX_SYLLABLES_PER_S
            if rand() < person.casual:
                casual = rng.sample(CASUAL, 1 if rand() < 0.8 else 2)
            thanked = None if rand() < 0.08 else rand() < person.thanks
            order_ok = rand() < 0.95 if verdict == "complete" else (
                None if verdict in ("no_greeting", "unclear") else rand() < 0.8)
            if verdict == "unclear":
                reason = "mean word confidence 0.41 is too low to judge"
            job = self._job(rng, call_pk, "done", ended, checked)
        if job is not None:
            out.setdefault("speech_jobs", []).append(job)
        out.setdefault("greetings", []).append({
            "id": self.next_id("greetings"), "call_pk": call_pk, "leg_call_id": None,
            "answered_at": None, "verdict": verdict, "reason": reason, "missing": missing,
            "transcript": transcript, "grammar_transcript": transcript,
            "first_word_s": first_word, "syllables_per_s": sps, "too_fast": too_fast,
            "casual_words": casual, "thanked": thanked, "order_ok": order_ok,
            "details": {"elements": details["elements"], "mean_conf": details["mean_conf"],
                        **({"cause": details["cause"]} if "cause" in details else {})},
            "checked_at": checked})
        self.totals.rows["greetings"] += 1
        self.totals.verdicts[verdict] += 1

    def _job(self, rng: random.Random, call_pk: int, status: str, ended: datetime,
             finished: datetime | None, opening: bytes | None = None) -> dict[str, Any]:
        self.totals.rows["speech_jobs"] += 1
        return {"id": self.next_id("speech_jobs"), "call_pk": call_pk, "kind": "call",
                "leg_call_id": None, "answered_at": None, "extension": None, "status": status,
                "attempts": 0 if status == "queued" else 1,
                "error": "recognizer worker died (exit -11)" if status == "failed" else None,
                "sample_rate": 8000, "opening": opening, "closing": None,
                "created_at": ended + timedelta(seconds=rng.uniform(5, 15)),
                "finished_at": finished}

    def _transcript(self, person: Person | None, missing: list[str], variant: int, *,
                    unclear: bool) -> tuple[str, dict[str, Any]]:
        """The words heard and the details a recogniser stores for them (cached per person,
        missing elements and one of 8 timings)."""
        assert person is not None
        mask = sum(1 << i for i, e in enumerate(ELEMENTS) if e in missing) | (16 * unclear)
        key = (person.extension, mask, variant)
        cached = self._greeting_cache.get(key)
        if cached is not None:
            return cached
        unit = self.units[person.unit]
        phrases = {"unit": unit.name.lower().split(), "office": ["urząd", "miejski"],
                   "name": [person.first_name.lower(), person.last_name.lower()],
                   "dzien_dobry": ["dzień", "dobry"]}
        order = ("unit", "office", "name", "dzien_dobry")
        t = 0.3 + 0.3 * variant
        first_word_s = round(t, 2)
        words, elements = [], dict.fromkeys(ELEMENTS)
        spoken = [e for e in order if unclear or e not in missing]
        if unclear:
            spoken = ["dzien_dobry"]
        if not spoken or (missing and len(missing) == len(ELEMENTS) and not unclear):
            spoken_words = [["tak", "słucham"]]
        else:
            spoken_words = [phrases[e] for e in spoken]
        for index, group in enumerate(spoken_words):
            element_words = []
            for text in group:
                end = t + 0.12 + 0.07 * len(text)
                conf = 0.41 if unclear else round(0.82 + 0.17 * ((len(text) * 7 + variant) % 10)
                                                  / 10, 3)
                word = {"conf": conf, "end": round(end, 2), "start": round(t, 2), "word": text}
                element_words.append(word)
                words.append(text)
                t = end + 0.05
            name = spoken[index] if index < len(spoken) and spoken_words[0][0] != "tak" else None
            if name is not None and not unclear:
                elements[name] = {"source": "free", "text": " ".join(group),
                                  "start": element_words[0]["start"],
                                  "end": element_words[-1]["end"], "words": element_words}
            t += 0.2
        result = (" ".join(words), {"elements": elements, "first_word_s": first_word_s,
                                    "mean_conf": 0.41 if unclear else 0.9})
        self._greeting_cache[key] = result
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import time as clock
    started = clock.perf_counter()
    year = Year(args.seed, args.calls)
    for _ in year.batches():
        pass
    t = year.totals
    print(f"{t.rows['calls']:,} calls in {clock.perf_counter() - started:.1f} s; "
          f"rows {dict(t.rows)}")
    print(f"outcomes {dict(t.outcomes)}\ndirections {dict(t.directions)}")
    print(f"verdicts {dict(t.verdicts)}\ncallbacks {dict(t.callbacks)}")
    print("units", [(u.alias, len(u.staff)) for u in year.units])


if __name__ == "__main__":
    main()

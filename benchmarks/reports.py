"""Report queries, builders, exports and web pages over a synthetic year, on SQLite and PostgreSQL.

Run: ``.venv/bin/python benchmarks/reports.py [--calls N] [--backends sqlite,postgresql]
[--repeats 20] [--keep DIR | --reuse DIR] [--explain] [--index SPEC]...``.

1. **Build**: ``benchmarks/reports_year.py``'s year of a 40-unit, 400-person city hall (about
   1,000,000 calls, with legs, transfers, callbacks, media, greetings and speech jobs) is written
   straight into a fresh database of each backend, batch by batch (SQLAlchemy Core
   ``executemany`` on SQLite, ``COPY`` on PostgreSQL), after the schema is made by the real
   migrations (``storage.db.upgrade``). PostgreSQL gets a database of its own on the local
   server (``etykieta_bench_reports``, owned by the test suite's role from
   ``scripts/ensure-postgres.sh``), dropped at the end unless ``--keep``; it is ``VACUUM
   ANALYZE``d after the build, as autovacuum would have done to a year-old database. SQLite is
   not analysed: Etykieta never runs ``ANALYZE`` there. The build's wall time and each
   database's size are printed.
2. **Measure**: every measurement set runs in a fresh child process that opens the database as
   the application does (``storage.db.make_engine``), runs the measured call once untimed
   (warm-up: the OS page cache then holds what it reads; the machine has far more RAM than
   either database), then ``--repeats`` times timed; p50 and p95 are nearest-rank over those
   runs. The sets: ``storage.queries`` ``unit_call_counts``, ``unit_callback_counts``,
   ``greeting_counts`` for a week, a month and the year; ``list_calls`` pages of 50 (the first
   of the month, keyset pages deep in it, and the same for one unit); the month's CSV export
   through ``etykieta calls --format csv`` in a subprocess per run (fresh process: start-up
   included), and its renderer alone; and, once they exist, the ``report units`` builder and
   the web pages over real HTTP (uvicorn in a subprocess, logged in).
3. **Compare**: each figure against the goal of 1 s per page (``p95 / 1 s``). ``--explain``
   prints each query's plan (``EXPLAIN QUERY PLAN``; ``EXPLAIN (ANALYZE, BUFFERS)``);
   ``--index 'calls(unit, started_at, id)'`` measures again with that index created (prototype
   only: dropped afterwards unless ``--keep``).

The machine's load average is printed next to every figure set; run it under ``nice``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import reports_year as year_data  # noqa: E402

GOAL_S = 1.0
PG_DATABASE = "etykieta_bench_reports"
PAGE = 50
ZONE = year_data.ZONE
AS_OF = year_data.AS_OF
PERIODS = {  # office-time dates, [since, until)
    "week": (date(2026, 11, 23), date(2026, 11, 30)),
    "month": (date(2026, 11, 1), date(2026, 12, 1)),
    "year": (year_data.FIRST_DAY, year_data.END_DAY),
}
BIG_UNIT = year_data.UNIT_NAMES[0][0]  # the unit with the most calls
SEED = 1


def period_utc(name: str) -> tuple[datetime, datetime]:
    since, until = PERIODS[name]
    return (datetime.combine(since, clock_time(0), tzinfo=ZONE).astimezone(UTC),
            datetime.combine(until, clock_time(0), tzinfo=ZONE).astimezone(UTC))


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


# -- the build (child) -------------------------------------------------------------------------
def build(url: str, calls: int, seed: int) -> dict[str, Any]:
    """Schema by the migrations, then the year's rows, batch by batch; timings and sizes."""
    from sqlalchemy import text

    from etykieta.storage.db import make_engine, upgrade
    from etykieta.storage.models import Base

    engine = make_engine(url)
    started = time.perf_counter()
    upgrade(engine)
    schema_s = time.perf_counter() - started
    year = year_data.Year(seed, calls)
    tables = Base.metadata.tables
    postgres = engine.dialect.name == "postgresql"
    generate_s = write_s = 0.0
    batches = year.batches()
    raw = engine.raw_connection() if postgres else None
    while True:
        t0 = time.perf_counter()
        batch = next(batches, None)
        t1 = time.perf_counter()
        generate_s += t1 - t0
        if batch is None:
            break
        order = [name for name in ("captures", "ingest_streams", "calls", "legs", "transfers",
                                   "callbacks", "call_media", "greetings", "speech_jobs")
                 if batch.get(name)]
        if raw is not None:
            copy_batch(raw, tables, batch, order)
        else:
            with engine.begin() as conn:
                for name in order:
                    conn.execute(tables[name].insert(), batch[name])
        write_s += time.perf_counter() - t1
    t2 = time.perf_counter()
    if raw is not None:
        raw.close()
        with engine.connect() as conn:
            for name in ("captures", "calls", "legs", "transfers", "callbacks", "call_media",
                         "greetings", "speech_jobs"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"(SELECT coalesce(max(id), 1) FROM {name}))"))
            conn.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finish_s = time.perf_counter() - t2
    t = year.totals
    return {"schema_s": schema_s, "generate_s": generate_s, "write_s": write_s,
            "finish_s": finish_s, "total_s": time.perf_counter() - started,
            "rows": dict(t.rows), "outcomes": dict(t.outcomes), "directions": dict(t.directions),
            "verdicts": dict(t.verdicts), "callbacks": dict(t.callbacks),
            "sizes": database_sizes(engine)}


def copy_batch(raw: Any, tables: Any, batch: dict[str, list[dict[str, Any]]],
               order: list[str]) -> None:
    """One batch as PostgreSQL ``COPY … FROM STDIN``, one transaction."""
    from sqlalchemy import JSON

    with raw.cursor() as cursor:
        for name in order:
            columns = [c.name for c in tables[name].columns]
            json_columns = {c.name for c in tables[name].columns if isinstance(c.type, JSON)}
            statement = f"COPY {name} ({', '.join(columns)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                for row in batch[name]:  # a column the year does not fill is NULL
                    copy.write_row([json.dumps(row[c], ensure_ascii=False)
                                    if c in json_columns and row.get(c) is not None
                                    else row.get(c) for c in columns])
    raw.commit()


def database_sizes(engine: Any) -> dict[str, Any]:
    """Bytes of the whole database and of each table with its indexes."""
    from sqlalchemy import text

    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            total = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
            rows = conn.execute(text(
                "SELECT relname, pg_table_size(oid), pg_indexes_size(oid) FROM pg_class "
                "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")).all()
            tables = {name: {"table": t, "indexes": i} for name, t, i in rows}
        else:
            path = engine.url.database
            total = sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))
            tables = {}
            try:
                rows = conn.exec_driver_sql(
                    "SELECT coalesce(m.tbl_name, d.name), m.type, sum(d.pgsize) FROM dbstat d "
                    "LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1, 2").all()
                for name, kind, size in rows:
                    entry = tables.setdefault(name, {"table": 0, "indexes": 0})
                    entry["indexes" if kind == "index" else "table"] += size
            except Exception:  # noqa: BLE001 - dbstat is an optional SQLite module
                pass
    return {"total": total, "tables": tables}


# -- the measured calls (child) ------------------------------------------------------------------
@dataclass
class Context:
    sessions: Any
    url: str
    config: Path
    seed: int


def busiest_person(seed: int) -> str:
    """The extension of the person of the biggest unit who gets the most direct calls."""
    unit = year_data.city_hall(seed)[0]
    return max(unit.staff, key=lambda p: p.load).extension


def storage_queries(ctx: Context, name: str) -> Callable[[], int]:
    """A measured call of ``storage.queries``: ``NAME:PERIOD``, e.g. ``greeting_counts:year``;
    ``list_calls:VARIANT`` (a page of 50 of the month: ``first``, ``deep`` (after the key of
    the call half-way through the month), ``late`` (95 % through), ``unit_…`` of the biggest
    unit, ``person_…`` of its busiest person: the calls that rang or were answered at the
    extension); ``callback_worklist:unit`` (the biggest unit's open duties, all of them) and
    ``callback_worklist:all`` (everyone's, the first 50)."""
    from sqlalchemy import func, select

    from etykieta.storage import queries
    from etykieta.storage.models import Call

    query, _, variant = name.partition(":")
    if query == "callback_worklist":
        units = [BIG_UNIT] if variant == "unit" else None
        limit = None if variant == "unit" else PAGE

        def worklist() -> int:
            with ctx.sessions() as session:
                return len(queries.callback_worklist(session, as_of=AS_OF, units=units,
                                                     limit=limit))
        return worklist
    if query == "list_calls":
        since, until = period_utc("month")
        scope, _, where_in = variant.rpartition("_")
        filters: dict[str, Any] = {}
        where = [Call.started_at >= since, Call.started_at < until]
        if scope == "unit":
            filters["unit"] = BIG_UNIT
            where.append(Call.unit == BIG_UNIT)
        elif scope == "person":
            filters["extension"] = busiest_person(ctx.seed)
            where.append(queries.rang_at(filters["extension"]))
        position = {"first": 0, "deep": 0.5, "late": 0.95}[where_in]
        after = None
        with ctx.sessions() as session:
            total = session.execute(select(func.count()).where(*where)).scalar_one()
            if position:
                row = session.execute(select(Call.started_at, Call.id).where(*where)
                                      .order_by(Call.started_at, Call.id)
                                      .offset(int(total * position)).limit(1)).one()
                after = (row[0], row[1])

        def run() -> int:
            with ctx.sessions() as session:
                return len(queries.list_calls(session, as_of=AS_OF, since=since, until=until,
                                              after=after, limit=PAGE, **filters))
        return run
    since, until = period_utc(variant)
    function = getattr(queries, query)
    extra = {"as_of": AS_OF} if query == "unit_callback_counts" else {}

    def run_counts() -> int:
        with ctx.sessions() as session:
            return len(function(session, since=since, until=until, **extra))
    return run_counts


def export_calls(ctx: Context, name: str) -> Callable[[], int]:
    """``export:list`` — the month's calls through ``list_calls`` (no page); ``export:render`` —
    ``render_csv`` of those rows alone (fetched once, outside the timing)."""
    from etykieta.config import load_settings
    from etykieta.reports.calls_export import render_csv
    from etykieta.storage.queries import list_calls
    from etykieta.telephony.numbers import Directory

    since, until = period_utc("month")
    settings = load_settings(ctx.config)
    directory = Directory(settings)

    def fetch() -> list[Any]:
        with ctx.sessions() as session:
            return list_calls(session, as_of=AS_OF, since=since, until=until)
    if name == "export:list":
        return lambda: len(fetch())
    rows = fetch()
    return lambda: len(rows) + 0 * len(render_csv(rows, zone=ZONE, directory=directory,
                                                  dialect="standard"))


def unit_reports(ctx: Context, name: str) -> Callable[[], int]:
    """``report_units:PERIOD`` — the per-unit report of every unit with its employees, as
    ``report units`` and the organisation page build it (``storage.report_queries`` and
    ``reports.units``); ``report_unit:PERIOD`` — the biggest unit's, as its page does."""
    from etykieta.config import load_settings
    from etykieta.reports.units import Period, build_unit_reports, report_scope
    from etykieta.storage.report_queries import report_counts
    from etykieta.telephony.numbers import Directory

    settings = load_settings(ctx.config)
    directory = Directory(settings)
    kind, _, period = name.partition(":")
    scope = report_scope(settings, Period(*period_utc(period)), as_of=AS_OF,
                         unit=BIG_UNIT if kind == "report_unit" else None)

    def run() -> int:
        with ctx.sessions.begin() as session:
            counts = report_counts(session, scope)
        return len(build_unit_reports(counts, directory, scope))
    return run


SETS: dict[str, Callable[[Context, str], Callable[[], int]]] = {
    **{f"report_units:{p}": unit_reports for p in PERIODS},
    **{f"report_unit:{p}": unit_reports for p in PERIODS},
    **{f"{q}:{p}": storage_queries for q in ("unit_call_counts", "unit_callback_counts",
                                             "greeting_counts") for p in PERIODS},
    **{f"list_calls:{v}": storage_queries
       for v in ("first", "deep", "late", "unit_first", "unit_deep", "person_first",
                 "person_deep")},
    "callback_worklist:unit": storage_queries,
    "callback_worklist:all": storage_queries,
    "export:list": export_calls,
    "export:render": export_calls,
}


def measure(url: str, config: Path, name: str, repeats: int, seed: int
            ) -> dict[str, Any]:
    from etykieta.storage.db import make_engine, make_sessionmaker

    engine = make_engine(url, create=False)
    ctx = Context(make_sessionmaker(engine), url, config, seed)
    load_before = load()
    run = SETS[name](ctx, name)
    t0 = time.perf_counter()
    size = run()
    first = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        runs.append(time.perf_counter() - t0)
    return {"first": first, "runs": runs, "size": size, "load": f"{load_before} → {load()}"}


def explain(url: str, config: Path, names: list[str], seed: int) -> str:
    """Each measured set's SQL statements (captured while it runs once) with their plans."""
    from sqlalchemy import event

    from etykieta.storage.db import make_engine, make_sessionmaker

    engine = make_engine(url, create=False)
    ctx = Context(make_sessionmaker(engine), url, config, seed)
    postgres = engine.dialect.name == "postgresql"
    out = []
    for name in names:
        run = SETS[name](ctx, name)
        captured: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool, captured: list[tuple[str, Any]] = captured) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                captured.append((statement, parameters))
        event.listen(engine, "before_cursor_execute", capture)
        run()
        event.remove(engine, "before_cursor_execute", capture)
        for statement, parameters in captured:
            with engine.connect() as conn:
                if postgres:
                    cursor = conn.connection.cursor()
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                    plan = "\n".join(r[0] for r in cursor.fetchall())
                else:
                    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                parameters).all()
                    plan = "\n".join(f"{'  ' * depth(rows, r)}{r[3]}" for r in rows)
            out.append(f"--- {name} [{engine.dialect.name}]\n{one_line(statement)}\n{plan}\n")
    return "\n".join(out)


def depth(rows: list[Any], row: Any) -> int:
    parents = {r[0]: r[1] for r in rows}
    d, parent = 0, row[1]
    while parent in parents:
        d, parent = d + 1, parents[parent]
    return d


def one_line(statement: str) -> str:
    return re.sub(r"\s+", " ", statement).strip()[:600]


def run_sql(url: str, statements: list[str]) -> dict[str, Any]:
    from sqlalchemy import text

    from etykieta.storage.db import make_engine

    engine = make_engine(url, create=False)
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return {"seconds": time.perf_counter() - started, "sizes": database_sizes(engine)}


def child_main(args: argparse.Namespace) -> None:
    if args.child == "build":
        result = build(args.url, args.calls, args.seed)
    elif args.child == "measure":
        result = measure(args.url, args.config, args.set, args.repeats, args.seed)
    elif args.child == "explain":
        print(explain(args.url, args.config, args.set.split(","), args.seed))
        return
    else:
        result = run_sql(args.url, json.loads(args.set))
    print(json.dumps(result, default=str))


# -- the parent ----------------------------------------------------------------------------------
def child(kind: str, url: str, *extra: str) -> Any:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--url", url,
               "--seed", str(SEED), *extra]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{kind} child failed ({done.returncode}):\n{done.stderr}")
    return done.stdout if kind == "explain" else json.loads(done.stdout)


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def postgres_url(given: str | None) -> str:
    """A URL of the benchmark's own database on the local server (created here): the test
    suite's server and role (``--pg-url``, else ``scripts/ensure-postgres.sh``)."""
    if given:
        return given.rsplit("/", 1)[0] + "/" + PG_DATABASE
    done = subprocess.run(["bash", str(ROOT / "scripts" / "ensure-postgres.sh")],
                          capture_output=True, text=True, cwd=ROOT)
    test_url = done.stdout.strip()
    if done.returncode or not test_url:
        raise SystemExit(f"no PostgreSQL for the benchmark: {done.stderr.strip()}")
    return test_url.rsplit("/", 1)[0] + "/" + PG_DATABASE


def postgres_admin(sql: str) -> None:
    """``sql`` as the server's superuser (peer login of the postgres OS user; needs root)."""
    subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v",
                    "ON_ERROR_STOP=1", "-d", "postgres", "-c", sql], check=True, cwd="/")


def create_postgres(url: str) -> None:
    role = url.split("//", 1)[1].split(":", 1)[0]
    postgres_admin(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
    postgres_admin(f"CREATE DATABASE {PG_DATABASE} OWNER {role}")


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def print_build(backend: str, result: dict[str, Any], wall: float) -> None:
    rows = result["rows"]
    print(f"\n== build, {backend}: {rows['calls']:,} calls in {wall:.0f} s "
          f"(schema {result['schema_s']:.1f} s, generating {result['generate_s']:.0f} s, "
          f"writing {result['write_s']:.0f} s, "
          f"{'VACUUM ANALYZE' if backend == 'postgresql' else 'WAL checkpoint'} "
          f"{result['finish_s']:.0f} s); database {mb(result['sizes']['total'])}")
    print("   rows: " + ", ".join(f"{name} {n:,}" for name, n in rows.items()))
    tables = result["sizes"]["tables"]
    if tables:
        big = sorted(tables.items(), key=lambda kv: -(kv[1]["table"] + kv[1]["indexes"]))[:8]
        print("   sizes (table + indexes): " + ", ".join(
            f"{name} {mb(s['table'])} + {mb(s['indexes'])}" for name, s in big))


def print_table(results: list[dict[str, Any]]) -> None:
    print(f"\n{'measured':34}{'backend':>11}{'rows':>8}{'first s':>9}{'p50 s':>9}{'p95 s':>9}"
          f"{'p95/goal':>10}  load (1/5/15 min, before → after)")
    for r in results:
        ratio = r["p95"] / GOAL_S
        flag = "  MISSES" if ratio > 1 else ""
        print(f"{r['name']:34}{r['backend']:>11}{r['size']:>8,}{r['first']:>9.3f}"
              f"{r['p50']:>9.3f}{r['p95']:>9.3f}{ratio:>9.2f}{flag:8}  {r['load']}")


def dates(period: str) -> tuple[str, ...]:
    since, until = PERIODS[period]
    return "--since", since.isoformat(), "--until", until.isoformat()


CLI_RUNS: dict[str, tuple[str, ...]] = {  # label: the command's arguments (--as-of added)
    "cli calls csv, month": ("calls", "--format", "csv", *dates("month")),
    "cli calls csv, a day without calls": ("calls", "--format", "csv", "--since", "2030-01-01",
                                           "--until", "2030-01-02"),
    **{f"cli report units json, {p}": ("report", "units", "--format", "json", *dates(p))
       for p in PERIODS},
    f"cli report units json, {BIG_UNIT}, month": ("report", "units", "--format", "json",
                                                  "--unit", BIG_UNIT, *dates("month")),
    "cli report units xlsx, month": ("report", "units", "--format", "xlsx", *dates("month")),
}


def cli_run(url: str, config: Path, repeats: int, folder: Path, arguments: tuple[str, ...]
            ) -> dict[str, Any]:
    """``etykieta ARGUMENTS --as-of AS_OF``, a fresh process per run (start-up included),
    standard output into a file; one untimed run first. ``size``: the output's lines (of a
    text format) or bytes."""
    out = folder / "cli.out"
    command = [str(Path(sys.executable).parent / "etykieta"), "--config", str(config), "--db",
               url, *arguments, "--as-of", AS_OF.isoformat()]
    load_before = load()
    runs = []
    for _ in range(repeats + 1):
        with open(out, "wb") as sink:
            t0 = time.perf_counter()
            subprocess.run(command, stdout=sink, check=True)
            runs.append(time.perf_counter() - t0)
    data = out.read_bytes()
    size = len(data) if "xlsx" in arguments else data.count(b"\n")
    return {"first": runs[0], "runs": runs[1:], "size": size,
            "load": f"{load_before} → {load()}"}


# -- the web pages over real HTTP (parent) ----------------------------------------------------
WEB_PASSWORD = "bench-reports-password"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def etykieta(config: Path, url: str, *arguments: str, stdin: str | None = None
             ) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "etykieta"), "--config", str(config), "--db",
               url, *arguments]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, check=True)


PAGES: tuple[tuple[str, str], ...] = (
    # (label, path): timed when the application has a route for the path; {unit}, {person}
    # and {call} are the biggest unit, its busiest person and one of their calls of the month
    ("organisation, week", "/?week=2026-W48"),
    ("organisation, month", "/?month=2026-11"),
    ("organisation, year", "/?since=2025-12-01&until=2026-11-30"),
    ("unit, week", "/units/{unit}?week=2026-W48"),
    ("unit, month", "/units/{unit}?month=2026-11"),
    ("unit, year", "/units/{unit}?since=2025-12-01&until=2026-11-30"),
    ("employee, week", "/staff/{person}?week=2026-W48"),
    ("employee, month", "/staff/{person}?month=2026-11"),
    ("talk sheet, month", "/staff/{person}/talk?month=2026-11"),
    ("call", "/calls/{call}"),
    ("calls, month", "/calls?month=2026-11"),
    ("calls, month, unit", "/calls?month=2026-11&unit={unit}"),
    ("calls, month, person", "/calls?month=2026-11&person={person}"),
    ("calls, month, no answer", "/calls?month=2026-11&outcome=no_answer"),
    ("callbacks", "/callbacks"),
    ("callbacks, unit", "/callbacks?unit={unit}"),
    ("report units xlsx, month", "/report/units.xlsx?month=2026-11"),
    ("api units, week", "/api/units?since=2026-11-23&until=2026-11-30"),
    ("api units, month, unit", "/api/units?since=2026-11-01&until=2026-12-01&unit={unit}"),
    ("api calls, a day, unit", "/api/calls?since=2026-11-30&until=2026-12-01&unit={unit}"),
    ("api callbacks, unit", "/api/callbacks?unit={unit}"),
)
"""The pages the goal is about; the month's CSV export is timed as well (:data:`EXPORTS`)."""
EXPORTS: tuple[tuple[str, str], ...] = (
    ("calls csv, month", "/calls.csv?month=2026-11"),
    ("calls xlsx, month", "/calls.xlsx?month=2026-11"),
)


def page_values(url: str, seed: int) -> dict[str, str]:
    """What the paths of :data:`PAGES` name: the biggest unit, its busiest person, and the
    person's first call of the month with a transfer (its row id, as the call page takes)."""
    from urllib.parse import quote

    from sqlalchemy import select

    from etykieta.storage.db import make_engine
    from etykieta.storage.models import Call, Transfer

    person = busiest_person(seed)
    since, until = period_utc("month")
    engine = make_engine(url, create=False)
    with engine.connect() as conn:
        call = conn.execute(select(Call.id).join(Transfer, Transfer.call_pk == Call.id)
                            .where(Call.answered_by == person, Call.started_at >= since,
                                   Call.started_at < until)
                            .order_by(Call.started_at).limit(1)).scalar_one()
    engine.dispose()
    return {"unit": quote(BIG_UNIT, safe=""), "person": person, "call": str(call)}


def routed_pages(config: Path, url: str, pages: tuple[tuple[str, str], ...],
                 values: dict[str, str]) -> tuple[list[tuple[str, str]], list[str]]:
    """The pages of ``pages`` the application has a route for, their paths filled in; and the
    GET routes no page is timed on (printed, so that a new page is not forgotten)."""
    from starlette.routing import Match, Route

    from etykieta.config import load_settings
    from etykieta.reports.web import create_app
    from etykieta.storage.db import make_engine, make_sessionmaker

    engine = make_engine(url, create=False)
    app = create_app(load_settings(config), make_sessionmaker(engine), secret="benchmark")
    routes = [r for r in app.routes if isinstance(r, Route) and "GET" in (r.methods or ())]

    def route_of(path: str) -> Route | None:
        scope = {"type": "http", "method": "GET", "path": path.split("?")[0], "root_path": ""}
        return next((r for r in routes if r.matches(scope)[0] is Match.FULL), None)

    found = [(label, path.format(**values)) for label, path in pages]
    timed = [(label, path) for label, path in found if route_of(path) is not None]
    covered = {id(route_of(path)) for _, path in timed}
    engine.dispose()
    untimed = [r.path for r in routes if id(r) not in covered and r.path != "/login"]
    missing = [path for _, path in found if route_of(path) is None]
    if missing:
        print("  no route (yet) for: " + ", ".join(missing), flush=True)
    return timed, untimed


def web_pages(url: str, config: Path, repeats: int, folder: Path, backend: str,
              only: str | None, seed: int) -> list[dict[str, Any]]:
    """Each page of :data:`PAGES` (and :data:`EXPORTS`) the application has, through
    ``etykieta serve`` (uvicorn) in a subprocess on 127.0.0.1, logged in as an admin: one
    untimed request, then ``repeats`` timed ones (the whole response read)."""
    import httpx

    values = page_values(url, seed)
    timed, untimed = routed_pages(config, url, PAGES + EXPORTS, values)
    if untimed:
        print("  routes not timed: " + ", ".join(untimed), flush=True)
    user = f"bench{int(time.time())}"
    etykieta(config, url, "users", "add", user, "--role", "admin", "--password-stdin",
             stdin=WEB_PASSWORD + "\n")
    port = free_port()
    results = []
    with open(folder / f"serve-{backend}.log", "w") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "etykieta"), "--config", str(config), "--db",
             url, "serve", "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=log)
        try:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
            log_in(client, user)
            for label, path in timed:
                if selected(f"web {label}", only):
                    results.append(time_page(client, f"web {label}", path, repeats, backend))
        finally:
            server.terminate()
            server.wait(30)
    return results


def log_in(client: Any, user: str) -> None:
    """Wait for the server, then log in through the login form (its hidden fields too)."""
    import httpx

    for _ in range(240):
        try:
            client.get("/login")
            break
        except httpx.TransportError:
            time.sleep(0.5)
    login_page = client.get("/login").text
    fields = dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*'
                             r'value="([^"]*)"', login_page))
    answer = client.post("/login", data={**fields, "username": user,
                                         "password": WEB_PASSWORD})
    if answer.status_code >= 400:
        raise SystemExit(f"login failed: {answer.status_code} {answer.text[:300]}")


def time_page(client: Any, name: str, path: str, repeats: int, backend: str
              ) -> dict[str, Any]:
    """One untimed request, then ``repeats`` timed ones; a page that does not answer 200 is
    an error of the benchmark run, not a figure."""
    load_before = load()
    t0 = time.perf_counter()
    first = client.get(path)
    first_s = time.perf_counter() - t0
    if first.status_code != 200:
        raise SystemExit(f"{name}: {path} answered {first.status_code}: {first.text[:500]}")
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        response = client.get(path)
        response.read()
        runs.append(time.perf_counter() - t0)
    result = summarised(name, backend, {"first": first_s, "runs": runs,
                                        "size": len(first.content),
                                        "load": f"{load_before} → {load()}"})
    print(f"  {name}: {path} p50 {result['p50']:.3f} s, p95 {result['p95']:.3f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=year_data.CALLS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="build into DIR (SQLite file, config) and keep it and the "
                             f"PostgreSQL database {PG_DATABASE}")
    parser.add_argument("--reuse", type=Path, metavar="DIR",
                        help="measure what --keep DIR built, without building")
    parser.add_argument("--only", help="comma-separated measurement sets (prefixes), e.g. "
                                       "greeting_counts,list_calls:deep,cli")
    parser.add_argument("--explain", action="store_true", help="print the plans too")
    parser.add_argument("--index", action="append", default=[], metavar="SPEC",
                        help="after the baseline, create index SPEC (e.g. "
                             "'calls(unit, started_at, id)') and measure again")
    parser.add_argument("--sql", action="append", default=[], metavar="SQL",
                        help="run SQL (e.g. a prototype rollup table) before measuring again")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--pg-url", help="the PostgreSQL server and role to use (its database "
                        f"name is replaced by {PG_DATABASE}); default: scripts/ensure-postgres.sh")
    parser.add_argument("--child", choices=("build", "measure", "explain", "sql"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--set", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global SEED
    SEED = args.seed
    if args.child:
        child_main(args)
        return
    folder = args.reuse or args.keep or Path(tempfile.mkdtemp(prefix="etykieta-reports-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        run_benchmark(args, folder)
    finally:
        if not (args.keep or args.reuse):
            shutil.rmtree(folder, ignore_errors=True)


def run_benchmark(args: argparse.Namespace, folder: Path) -> None:
    backends = args.backends.split(",")
    urls = {"sqlite": f"sqlite:///{folder / 'year.db'}"}
    if "postgresql" in backends:
        urls["postgresql"] = postgres_url(args.pg_url)
    units = year_data.city_hall(args.seed)
    config = folder / "year.toml"
    config.write_text(year_data.config_toml(units, urls["sqlite"])
                      + f'\n[web]\nsecret_file = "{folder / "session.key"}"\n', encoding="utf-8")
    print(f"machine: {os.cpu_count()} CPUs, load {load()}; {args.calls:,} calls, seed "
          f"{args.seed}; {folder}")
    results: list[dict[str, Any]] = []
    dropped: list[str] = []
    try:
        for backend in backends:
            url = urls[backend]
            if not args.reuse:
                if backend == "postgresql":
                    create_postgres(url)
                    dropped.append(url)
                else:
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{folder / 'year.db'}{suffix}").unlink(missing_ok=True)
                print(f"building the year on {backend} (load {load()}) …", flush=True)
                t0 = time.perf_counter()
                built = child("build", url, "--calls", str(args.calls), "--seed",
                              str(args.seed))
                print_build(backend, built, time.perf_counter() - t0)
                (folder / f"build-{backend}.json").write_text(json.dumps(built, indent=1))
            results += measure_all(args, backend, url, config, folder, "")
            if args.index or args.sql:
                statements = [index_sql(spec, k) for k, spec in enumerate(args.index)]
                statements += args.sql
                done = child("sql", url, "--set", json.dumps(statements))
                print(f"\n{backend}: {'; '.join(statements)} in {done['seconds']:.1f} s, "
                      f"database now {mb(done['sizes']['total'])}")
                results += measure_all(args, backend, url, config, folder, " +index")
                if not args.keep:
                    drops = [f"DROP INDEX IF EXISTS ix_bench_{k}" for k in range(len(args.index))]
                    child("sql", url, "--set", json.dumps(drops))
        print_table(results)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))
    finally:
        if not (args.keep or args.reuse):
            for _ in dropped:
                postgres_admin(f"DROP DATABASE IF EXISTS {PG_DATABASE}")


def index_sql(spec: str, k: int) -> str:
    table, _, columns = spec.partition("(")
    return f"CREATE INDEX ix_bench_{k} ON {table.strip()} ({columns.rstrip(') ')})"


def web_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("etykieta.reports.web") is not None


def selected(name: str, only: str | None) -> bool:
    return only is None or any(name.startswith(p) for p in only.split(","))


def measure_all(args: argparse.Namespace, backend: str, url: str, config: Path, folder: Path,
                label: str) -> list[dict[str, Any]]:
    results = []
    names = [name for name in SETS if selected(name, args.only)]
    if args.explain and names:
        print(f"\n== plans, {backend}{label}\n" + child("explain", url, "--config", str(config),
                                                        "--set", ",".join(names)))
    for name in names:
        print(f"{backend}{label}: {name} …", flush=True)
        r = child("measure", url, "--config", str(config), "--set", name,
                  "--repeats", str(args.repeats))
        results.append(summarised(f"{name}{label}", backend, r))
    for name, arguments in CLI_RUNS.items():
        if selected(name, args.only):
            print(f"{backend}{label}: {name} …", flush=True)
            r = cli_run(url, config, args.repeats, folder, arguments)
            results.append(summarised(f"{name}{label}", backend, r))
    if web_available() and (args.only is None
                            or any(p.startswith("web") for p in args.only.split(","))):
        print(f"{backend}{label}: web pages …", flush=True)
        results += web_pages(url, config, args.repeats, folder, backend, args.only,
                             args.seed)
    return results


def summarised(name: str, backend: str, r: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "backend": backend, "size": r["size"], "first": r["first"],
            "p50": nearest_rank(r["runs"], 0.5), "p95": nearest_rank(r["runs"], 0.95),
            "runs": r["runs"], "load": r["load"]}


if __name__ == "__main__":
    main()

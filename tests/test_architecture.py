"""The package's layering, checked by reading every module's imports and clock reads (issue 9).

- The pure parts — the telephony core (not its capture adapters), speech (not its engine
  adapters), callbacks, config and reports (not their web and mail faces) — import nothing
  that touches the database (SQLAlchemy, ``etykieta.storage``).
- The file shell (``ingest``) stores through ``storage`` and runs no SQL of its own: it may
  hold a session, not build a query or touch a model.
- Only the adapters (``telephony.capture``, ``speech.engine``), the long-running services
  (``monitor``) and the web and mail faces touch sockets, subprocesses, threads or signals
  (``socket``'s address conversions aside: they are parsing, not I/O).
- The wall clock is read in one place, ``etykieta.clock`` (and by the adapters, the services
  and the faces, which measure time for themselves); everything else is given a clock.
- One import style: inside the package, its own modules are imported relatively.
- No module grows past ~500 lines.

The rules are read from the source (``ast``), not by importing it, so a violation anywhere —
a function-level import included — is found.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "etykieta"
MAX_LINES = 520
"""~500 lines: a little slack, no more (STYLE habit 6)."""

PURE = ("etykieta.telephony", "etykieta.speech", "etykieta.callbacks", "etykieta.config",
        "etykieta.reports")
ADAPTERS = ("etykieta.telephony.capture", "etykieta.speech.engine")
FACES = ("etykieta.reports.web", "etykieta.reports.mail")
DATABASE = ("sqlalchemy", "alembic", "psycopg", "sqlite3", "etykieta.storage")
SQL = ("sqlalchemy", "alembic", "psycopg", "sqlite3", "etykieta.storage.models")
SESSIONS = ("sqlalchemy.orm",)
"""What a shell may take from SQLAlchemy: the session types it passes to storage."""
SYSTEM = ("socket", "subprocess", "threading", "multiprocessing", "concurrent", "signal",
          "selectors", "asyncio")
SOCKET_ADDRESSES = frozenset({"inet_ntop", "inet_pton", "inet_aton", "inet_ntoa", "AF_INET",
                              "AF_INET6"})
CLOCKS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
          ("date", "today"), ("time", "time"), ("time", "monotonic"), ("time", "perf_counter"),
          ("time", "time_ns"), ("time", "monotonic_ns")}
SHELLS = ("etykieta.ingest",)
MAY_USE_THE_DATABASE = ("etykieta.storage", "etykieta.monitor", "etykieta.cli", *FACES)
MAY_USE_THE_SYSTEM = (*ADAPTERS, "etykieta.monitor", *FACES)
MAY_READ_THE_CLOCK = ("etykieta.clock", *ADAPTERS, "etykieta.monitor", *FACES)


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # Alembic's own layout
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


MODULES = list(_modules())


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _imports(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute name) of everything ``module`` imports, relative imports resolved."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:  # ``from etykieta import storage``
                yield node.lineno, f"{name}.{alias.name}"


def _clock_reads(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in CLOCKS):
            yield node.lineno, f"{node.value.id}.{node.attr}"


def _socket_for_addresses_only(path: Path) -> bool:
    """Whether a module uses ``socket`` only to convert addresses (``socket.inet_pton`` …)."""
    tree = ast.parse(path.read_text(), str(path))
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id == "socket"}
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and node.module == "socket" for alias in node.names}
    return (used | imported) <= SOCKET_ADDRESSES


def _violations(allowed: tuple[str, ...], names: tuple[str, ...], *,
                except_names: tuple[str, ...] = ()) -> list[str]:
    found = []
    for module, path in MODULES:
        if _within(module, allowed):
            continue
        for line, name in _imports(module, path):
            if not _within(name, names) or _within(name, except_names):
                continue
            if name == "socket" and _socket_for_addresses_only(path):
                continue
            found.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    return found


def test_the_pure_parts_do_not_touch_the_database() -> None:
    pure = [m for m, _ in MODULES if _within(m, PURE) and not _within(m, (*ADAPTERS, *FACES))]
    assert pure, "no pure module found: the package layout changed"
    assert _violations((*MAY_USE_THE_DATABASE, *SHELLS), DATABASE) == []


def test_the_file_shell_runs_no_sql_of_its_own() -> None:
    shell = [(m, p) for m, p in MODULES if _within(m, SHELLS)]
    assert shell, "no shell module found: the package layout changed"
    assert [v for v in _violations(MAY_USE_THE_DATABASE, SQL, except_names=SESSIONS)
            if v.startswith("etykieta/ingest/")] == []


def test_only_adapters_and_services_touch_sockets_subprocesses_threads_and_signals() -> None:
    assert _violations(MAY_USE_THE_SYSTEM, SYSTEM) == []


def test_the_wall_clock_is_read_in_one_place() -> None:
    found = [f"{path.relative_to(PACKAGE.parent)}:{line} reads {what}"
             for module, path in MODULES if not _within(module, MAY_READ_THE_CLOCK)
             for line, what in _clock_reads(path)]
    assert found == []


def test_one_import_style_relative_within_the_package() -> None:
    """Alembic's env.py, loaded as a script rather than a module, is left out of MODULES."""
    absolute = [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                for _, path in MODULES for node in ast.walk(ast.parse(path.read_text()))
                if (isinstance(node, ast.ImportFrom) and not node.level
                    and (node.module or "").split(".")[0] == "etykieta")
                or (isinstance(node, ast.Import)
                    and any(a.name.split(".")[0] == "etykieta" for a in node.names))]
    assert absolute == []


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_no_module_is_asking_to_be_split(module: str, path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines"


def test_the_rules_find_what_they_forbid(tmp_path: Path) -> None:
    """The checker itself: a relative import, a function-level import, a clock read, and
    ``socket`` for addresses (allowed) against ``socket`` for sockets (not)."""
    sample = tmp_path / "sample.py"
    sample.write_text("from ..storage.models import Call\n"
                      "def f():\n    import subprocess\n    return datetime.now(UTC)\n")
    names = [name for _, name in _imports("etykieta.speech.sample", sample)]
    assert "etykieta.storage.models" in names and "subprocess" in names
    assert [what for _, what in _clock_reads(sample)] == ["datetime.now"]
    addresses = tmp_path / "addresses.py"
    addresses.write_text("import socket\nsocket.inet_pton(socket.AF_INET6, '::1')\n")
    assert _socket_for_addresses_only(addresses)
    connects = tmp_path / "connects.py"
    connects.write_text("import socket\nsocket.create_connection(('127.0.0.1', 5060))\n")
    assert not _socket_for_addresses_only(connects)

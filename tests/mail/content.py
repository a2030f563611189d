"""The demo captures in a database for the mail content tests, with a test copy of the lab's
config that gives more staff e-mail addresses, a salutation and the dashboard's address."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from etykieta.cli import main
from etykieta.config import Settings, load_settings

from ..conftest import LAB_CONFIG
from ..web.conftest import DEMO_CAPTURES

PUBLIC_URL = "https://etykieta.um.example.pl"


def mail_config(folder: Path) -> Path:
    """lab.toml with Ewa Wiśniewska (1203) given an e-mail, Anna Kowalska a salutation, and
    ``[web] public_url``; Katarzyna Wójcik (1302) keeps none."""
    text = LAB_CONFIG.read_text()
    text = text.replace('last_name = "Wiśniewska"\nunit = "Wydział Komunikacji"\n',
                        'last_name = "Wiśniewska"\nunit = "Wydział Komunikacji"\n'
                        'email = "ewa.wisniewska@um.example.pl"\n')
    text = text.replace('email = "anna.kowalska@um.example.pl"\n',
                        'email = "anna.kowalska@um.example.pl"\nsalutation = "Pani Anna"\n')
    text = re.sub(r"\[callbacks\]", f'[web]\npublic_url = "{PUBLIC_URL}"\n\n[callbacks]', text)
    path = folder / "mail.toml"
    path.write_text(text)
    return path


def run(config: Path, db_url: str, *args: str) -> str:
    result = CliRunner().invoke(main, ["--config", str(config), "--db", db_url, *args])
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


@dataclass
class Demo:
    db_url: str
    config: Path
    settings: Settings

    def calls(self, *args: str) -> list[dict[str, Any]]:
        """``etykieta calls --format json`` (the facts the tests count from)."""
        return json.loads(run(self.config, self.db_url, "calls", "--format", "json", *args))


def demo(db_url: str, folder: Path) -> Iterator[Demo]:
    config = mail_config(folder)
    run(config, db_url, "db", "upgrade")
    run(config, db_url, "ingest", *map(str, DEMO_CAPTURES))
    yield Demo(db_url, config, load_settings(config))


def with_smtp(site: Demo, port: int, *,
              sender: str = "Etykieta – UM <etykieta@um.example.pl>") -> Path:
    """The demo's config with ``[smtp]`` pointing at the test's server on 127.0.0.1."""
    config = site.config.with_name("smtp.toml")
    config.write_text(site.config.read_text() + f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\n'
                      f'security = "none"\nsender = "{sender}"\n')
    return config

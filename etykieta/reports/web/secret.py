"""The key that signs session cookies: kept in ``[web] secret_file``, never in the config.

Made on the first start (32 random bytes, URL-safe, mode 0600) when the file is missing.
Replacing or deleting the file logs everyone out.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

MIN_LENGTH = 32


class SecretFileError(OSError):
    """The secret file cannot be read or made, or holds too short a key."""


def load_or_create_secret(path: str | os.PathLike[str]) -> tuple[str, bool]:
    """``(key, created)``: the key in ``path``, or a new one written there (0600)."""
    file = Path(path)
    try:
        key = file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return _create(file), True
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretFileError(f"cannot read the session key file {file}: {exc}") from exc
    if len(key) < MIN_LENGTH:
        raise SecretFileError(f"the session key file {file} holds {len(key)} characters, fewer "
                              f"than {MIN_LENGTH}: delete it and a new one is made")
    return key, False


def readable_by_others(path: str | os.PathLike[str]) -> bool:
    """The file may be read by its group or by anyone: worth a warning."""
    return bool(Path(path).stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def _create(file: Path) -> str:
    key = secrets.token_urlsafe(MIN_LENGTH)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
    except OSError as exc:
        raise SecretFileError(f"cannot make the session key file {file}: "
                              f"{exc.strerror or exc}") from exc
    return key

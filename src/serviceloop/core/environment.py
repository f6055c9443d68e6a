"""What the settings and the ``serviceloop`` command read from the environment before Django starts.

Kept free of Django imports: ``settings.py`` imports it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["MSG_MISSING_KEY", "data_dir", "demo_secret_key", "flag"]

SECRET_KEY_FILE = "secret_key"  # noqa: S105  (a file name)
MSG_MISSING_KEY = (
    "SERVICELOOP_SECRET_KEY is not set. With SERVICELOOP_DEBUG off ServiceLoop refuses to start "
    "without it: it signs sessions, password-reset and survey links. Set it to a long random "
    "value kept out of the repository, e.g. the output of "
    "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`. "
    "(`serviceloop demo` and `make demo` create their own key in the data folder.)"
)


def data_dir() -> Path:
    """``SERVICELOOP_DATA_DIR`` (database, uploads), by default ``./var``; created owner-only."""
    path = Path(os.environ.get("SERVICELOOP_DATA_DIR", Path.cwd() / "var")).resolve()
    path.mkdir(mode=0o750, parents=True, exist_ok=True)
    return path


def flag(name: str, default: bool) -> bool:
    """A yes/no environment variable: 1/true/yes/on or 0/false/no/off (any case)."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}={raw!r}: use 1 or 0")


def demo_secret_key(folder: Path) -> str:
    """The demo's own secret key, made once in ``folder`` with owner-only permissions (0600)."""
    path = folder / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        key = secrets.token_urlsafe(50)
        handle.write(key + "\n")
    return key

"""What the settings and the ``serviceloop`` command read from the environment before Django starts.

Kept free of Django imports: ``settings.py`` imports it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = [
    "DEFAULT_LIMITS",
    "MSG_MISSING_KEY",
    "data_dir",
    "demo_secret_key",
    "flag",
    "limits_from_env",
]

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


# Input limits (name -> default), each changeable by SERVICELOOP_LIMIT_<NAME>; applied by
# ``core.limits`` before anything is written.
DEFAULT_LIMITS: dict[str, int] = {
    "CASE_TITLE_CHARS": 200,  # at most the column's 200
    "CASE_DESCRIPTION_CHARS": 20_000,
    "MESSAGE_BODY_CHARS": 20_000,
    "ATTRIBUTES_BYTES": 16_384,  # the JSON text of a case's attributes
    "ATTRIBUTES_KEYS": 100,  # keys of every object inside, all levels together
    "ATTRIBUTES_DEPTH": 5,  # {"a": 1} is 1 deep, {"a": {"b": [1]}} 3; at most 64
    "ATTRIBUTES_ARRAY_ITEMS": 100,  # items of any one array
    "ATTRIBUTE_KEY_CHARS": 50,
    "FILES_PER_REQUEST": 10,
    "REQUEST_BYTES": 32 * 1024 * 1024,  # a whole request, files included
    "BODY_BYTES": 2 * 1024 * 1024,  # a request's body without its files (JSON, form fields)
    "PROCESS_YAML_DEPTH": 20,  # nesting of a process definition
    "PROCESS_YAML_BYTES": 512 * 1024,  # a process definition; at most 512 KiB
}
_LIMIT_CEILINGS = {
    "CASE_TITLE_CHARS": 200,
    "ATTRIBUTES_DEPTH": 64,
    "ATTRIBUTE_KEY_CHARS": 50,
    "PROCESS_YAML_BYTES": 512 * 1024,
}


def limits_from_env() -> dict[str, int]:
    """``DEFAULT_LIMITS`` with the values set in the environment; a bad value stops the start."""
    limits = {}
    for name, default in DEFAULT_LIMITS.items():
        variable = f"SERVICELOOP_LIMIT_{name}"
        raw = os.environ.get(variable, "").strip()
        try:
            value = int(raw) if raw else default
        except ValueError:
            raise ValueError(f"{variable}={raw!r}: give a whole number") from None
        ceiling = _LIMIT_CEILINGS.get(name)
        if value < 1 or (ceiling is not None and value > ceiling):
            top = f" and at most {ceiling}" if ceiling else ""
            raise ValueError(f"{variable}={value}: must be at least 1{top}")
        limits[name] = value
    return limits

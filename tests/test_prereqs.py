"""`make test` names what the machine lacks and how to get it (scripts/prereqs.sh)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "prereqs.sh"


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (our own script)
        [str(SCRIPT), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_missing_browser_is_named_with_how_to_get_it(tmp_path):
    result = _run("sqlite", SERVICELOOP_CHROMIUM=str(tmp_path / "no-chromium"))
    assert result.returncode == 1
    assert "chromium" in result.stderr
    assert "apt-get install chromium" in result.stderr
    assert "SERVICELOOP_CHROMIUM" in result.stderr


def test_a_missing_python_is_named(tmp_path):
    result = _run("sqlite", PYTHON=str(tmp_path / "no-python"))
    assert result.returncode == 1
    assert "Python 3.11" in result.stderr
    assert "apt-get install python3 python3-venv" in result.stderr


def test_an_equipped_machine_passes_silently():
    chromium = Path(os.environ.get("SERVICELOOP_CHROMIUM", "/usr/bin/chromium"))
    if not chromium.exists() or not list(Path("/usr/lib/postgresql").glob("*/bin")):
        # This machine lacks them: the script must say so rather than pass.
        assert _run("all").returncode == 1
        return
    result = _run("all")
    assert (result.returncode, result.stderr) == (0, "")

"""Production defaults: no start without a secret key, HTTPS-only cookies and HSTS, a configurable
proxy header, no test host, a clean ``check --deploy``, and owner-only files on disk."""

from __future__ import annotations

import os
import runpy
import secrets
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from serviceloop import settings as project_settings
from serviceloop.core.environment import MSG_MISSING_KEY, demo_secret_key

SERVICELOOP = Path(sys.executable).parent / "serviceloop"
SETTINGS_FILE = project_settings.__file__
_OURS = ("SERVICELOOP_", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The process environment without any of ours, plus a production-like configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env |= {
        "SERVICELOOP_DATA_DIR": str(tmp_path / "data"),
        "SERVICELOOP_SECRET_KEY": secrets.token_urlsafe(50),
        "SERVICELOOP_ALLOWED_HOSTS": "help.example.com",
    }
    return env | extra


def _settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[str, Any]:
    """Evaluate settings.py afresh under ``env`` (the running Django keeps its own settings)."""
    for name in list(os.environ):
        if name.startswith(_OURS):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith(_OURS):
            monkeypatch.setenv(name, value)
    return runpy.run_path(SETTINGS_FILE)


def test_without_a_secret_key_and_debug_off_settings_refuse(monkeypatch, tmp_path):
    env = _production_env(tmp_path)
    del env["SERVICELOOP_SECRET_KEY"]
    with pytest.raises(ImproperlyConfigured, match="SERVICELOOP_SECRET_KEY is not set"):
        _settings(monkeypatch, env)


def test_the_server_command_refuses_to_start_without_a_secret_key(tmp_path):
    env = _production_env(tmp_path)
    del env["SERVICELOOP_SECRET_KEY"]
    done = subprocess.run(  # noqa: S603  (our own command)
        [SERVICELOOP, "manage", "check"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert MSG_MISSING_KEY.splitlines()[0][:60] in done.stderr


def test_debug_on_runs_without_a_key(monkeypatch, tmp_path):
    env = _production_env(tmp_path, SERVICELOOP_DEBUG="1")
    del env["SERVICELOOP_SECRET_KEY"]
    assert _settings(monkeypatch, env)["SECRET_KEY"]


def test_production_defaults_are_https_only(monkeypatch, tmp_path):
    conf = _settings(monkeypatch, _production_env(tmp_path))
    assert conf["DEBUG"] is False
    assert conf["SESSION_COOKIE_SECURE"] and conf["CSRF_COOKIE_SECURE"]
    assert conf["SESSION_COOKIE_HTTPONLY"]
    assert conf["SECURE_SSL_REDIRECT"]
    assert conf["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert conf["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert conf["ALLOWED_HOSTS"] == ["help.example.com"]
    assert conf["FILE_UPLOAD_PERMISSIONS"] & 0o027 == 0


def test_testserver_is_not_an_allowed_host_by_default(monkeypatch, tmp_path):
    env = _production_env(tmp_path)
    del env["SERVICELOOP_ALLOWED_HOSTS"]
    assert "testserver" not in _settings(monkeypatch, env)["ALLOWED_HOSTS"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("X-Forwarded-Protocol", ("HTTP_X_FORWARDED_PROTOCOL", "https")),
        ("", None),
    ],
    ids=["other-header", "no-proxy"],
)
def test_proxy_header_comes_from_the_environment(monkeypatch, tmp_path, header, expected):
    env = _production_env(tmp_path, SERVICELOOP_PROXY_SSL_HEADER=header)
    assert _settings(monkeypatch, env)["SECURE_PROXY_SSL_HEADER"] == expected


def test_plain_http_mode_drops_secure_cookies_and_hsts(monkeypatch, tmp_path):
    conf = _settings(monkeypatch, _production_env(tmp_path, SERVICELOOP_HTTPS="0"))
    assert not conf["SESSION_COOKIE_SECURE"] and conf["SECURE_HSTS_SECONDS"] == 0
    assert conf["SECURE_PROXY_SSL_HEADER"] is None


def test_check_deploy_is_clean_in_a_production_like_environment(tmp_path):
    done = subprocess.run(  # noqa: S603  (our own command)
        [SERVICELOOP, "manage", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_a_new_sqlite_database_and_data_folder_are_owner_only(tmp_path):
    """Created under the common umask 022, the files still hide from other local users."""
    env = _production_env(tmp_path)
    done = subprocess.run(  # noqa: S603  (our own command)
        [SERVICELOOP, "manage", "migrate", "-v", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert done.returncode == 0, done.stderr
    data = tmp_path / "data"
    for path in (data / "serviceloop.sqlite3", *data.glob("serviceloop.sqlite3-*")):
        assert stat.S_IMODE(path.stat().st_mode) & 0o027 == 0, path
    assert stat.S_IMODE(data.stat().st_mode) & 0o027 == 0


def test_demo_key_is_made_once_and_owner_only(tmp_path):
    key = demo_secret_key(tmp_path)
    assert len(key) >= 50
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert demo_secret_key(tmp_path) == key


@pytest.mark.django_db
def test_uploaded_files_are_owner_only(settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from serviceloop.cases.services import attachment_add
    from tests.factories import CaseFactory, CustomerFactory, build_process_version

    build_process_version(is_default=True)
    settings.MEDIA_ROOT = tmp_path / "media"
    customer = CustomerFactory()
    case = CaseFactory(customer=customer, actor=customer.user)
    old = os.umask(0o022)
    try:
        attachment = attachment_add(
            case=case,
            uploaded_by=customer.user,
            file=SimpleUploadedFile("a.txt", b"hello", content_type="text/plain"),
        )
    finally:
        os.umask(old)
    path = Path(attachment.file.path)
    assert stat.S_IMODE(path.stat().st_mode) & 0o037 == 0
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o027 == 0

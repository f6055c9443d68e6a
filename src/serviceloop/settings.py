"""Django settings for ServiceLoop.

Everything that differs between the demo, the tests and production comes from the environment:
``DATABASE_URL`` (``sqlite:///path`` or ``postgres://user:pass@host:port/db``),
``SERVICELOOP_DATA_DIR`` (database, uploads), ``SERVICELOOP_SECRET_KEY``, ``SERVICELOOP_DEBUG``,
``SERVICELOOP_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("SERVICELOOP_DATA_DIR", Path.cwd() / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = os.environ.get("SERVICELOOP_DEBUG", "0") == "1"
SECRET_KEY = os.environ.get("SERVICELOOP_SECRET_KEY", "insecure-dev-key-change-me-in-production")
ALLOWED_HOSTS = os.environ.get("SERVICELOOP_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(
    ","
)


def _database(url: str) -> dict[str, object]:
    """Turn ``DATABASE_URL`` into a Django database dict; SQLite is tuned for concurrent writers."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parsed.path.lstrip("/"),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            # Server-side binding lets psycopg prepare statements it sees 5 times, so PostgreSQL
            # plans them once per connection instead of on every request (planning the joins was
            # most of the database's CPU). Prepared statements live and die with the connection
            # (CONN_MAX_AGE), psycopg keeps at most 100 per connection, and the suite passes with
            # it. SERVICELOOP_PG_PREPARED=0 turns it off behind a transaction-pooling PgBouncer
            # (before 1.21), which cannot keep a connection's prepared statements.
            "OPTIONS": (
                {"server_side_binding": True, "prepare_threshold": 5}
                if os.environ.get("SERVICELOOP_PG_PREPARED", "1") != "0"
                else {}
            ),
        }
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path) or str(DATA_DIR / "serviceloop.sqlite3")
        return {
            "ENGINE": "serviceloop.core.sqlite",  # + owner-only files, flush of append-only tables
            "NAME": path,
            # WAL lets readers run beside one writer; IMMEDIATE takes the write lock at BEGIN so two
            # writers queue on the busy timeout instead of failing with "database is locked".
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;PRAGMA busy_timeout=30000;"
                ),
            },
            "TEST": {"NAME": str(DATA_DIR / "test-serviceloop.sqlite3")},
        }
    raise ValueError(
        f"DATABASE_URL: unsupported scheme {parsed.scheme!r} (use sqlite:// or postgres://)"
    )


DATABASES = {
    "default": _database(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'serviceloop.sqlite3'}")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "ninja",  # serves the Swagger UI assets from its static folder, not a CDN
    "serviceloop.core",
    "serviceloop.accounts",
    "serviceloop.customers",
    "serviceloop.processes",
    "serviceloop.cases",
    "serviceloop.insights",
    "serviceloop.evaluation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "serviceloop.urls"
WSGI_APPLICATION = "serviceloop.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("SERVICELOOP_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("简体中文"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("SERVICELOOP_TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True

# Uploads live outside the web root and are only served through a view that checks access.
MEDIA_ROOT = DATA_DIR / "attachments"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ATTACHMENT_MAX_BYTES = int(
    os.environ.get("SERVICELOOP_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))
)
ATTACHMENT_ALLOWED_TYPES = [
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag, see base.html
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'wasm-unsafe-eval'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

EMAIL_BACKEND = os.environ.get(
    "SERVICELOOP_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SERVICELOOP_LOG_LEVEL", "WARNING")},
}

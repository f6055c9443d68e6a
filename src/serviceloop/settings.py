"""Django settings for ServiceLoop.

Everything that differs between the demo, the tests and production comes from the environment:
``DATABASE_URL`` (``sqlite:///path`` or ``postgres://user:pass@host:port/db``),
``SERVICELOOP_DATA_DIR`` (database, uploads), ``SERVICELOOP_SECRET_KEY`` (required unless
``SERVICELOOP_DEBUG=1``), ``SERVICELOOP_ALLOWED_HOSTS``, ``SERVICELOOP_HTTPS`` (default 1: secure
cookies, HSTS, redirect to HTTPS; ``serviceloop demo`` sets 0 for its plain-HTTP server),
``SERVICELOOP_PROXY_SSL_HEADER`` (the header a TLS-terminating proxy sets, default
``X-Forwarded-Proto``; empty when no proxy sits in front), ``SERVICELOOP_HSTS_SECONDS`` and the
input limits ``SERVICELOOP_LIMIT_*`` (see ``INPUT_LIMITS``).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from serviceloop.core.environment import MSG_MISSING_KEY, data_dir, flag, limits_from_env

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()

DEBUG = flag("SERVICELOOP_DEBUG", False)
SECRET_KEY = os.environ.get("SERVICELOOP_SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(MSG_MISSING_KEY)
    SECRET_KEY = "insecure-debug-only-key"  # noqa: S105  (DEBUG on: a developer's machine)
# The test client's "testserver" is added by Django's test set-up, never in production.
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("SERVICELOOP_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if host.strip()
]

# Served over HTTPS (default) unless SERVICELOOP_HTTPS=0, e.g. the demo's local runserver.
HTTPS = flag("SERVICELOOP_HTTPS", True)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = int(os.environ.get("SERVICELOOP_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = flag("SERVICELOOP_HSTS_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = flag("SERVICELOOP_HSTS_PRELOAD", True)
# Behind a TLS-terminating proxy Django learns the scheme from this header (which the proxy must
# set and overwrite); SERVICELOOP_PROXY_SSL_HEADER="" when clients reach Django directly.
_proxy_header = os.environ.get("SERVICELOOP_PROXY_SSL_HEADER", "X-Forwarded-Proto" if HTTPS else "")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_header.strip().upper().replace("-", "_"), "https")
    if _proxy_header.strip()
    else None
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
            )
            # A case list joins seven tables besides its filters; past 8 the planner keeps the
            # written join order and joined every case before the search's few ids (6 s at 1M
            # cases, 9 ms with room to reorder: benchmarks/scale_pages.py).
            | {"options": "-c join_collapse_limit=12 -c from_collapse_limit=12"},
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
    "serviceloop.sla",
    "serviceloop.insights",
    "serviceloop.evaluation",
    "serviceloop.feedback",
    "serviceloop.replies",
    "serviceloop.savedviews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "serviceloop.core.middleware.RequestSizeLimitMiddleware",
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
    "serviceloop.accounts.lockout.AddressThrottleBackend",  # password spraying, every sign-in page
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("SERVICELOOP_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "serviceloop.accounts.lockout.lockout_response"  # 429 + Retry-After
# The client's address: REMOTE_ADDR, or behind SERVICELOOP_PROXY_COUNT trusted proxies the address
# the outermost of them appended to X-Forwarded-For (entries a client sends itself come before it).
TRUSTED_PROXY_COUNT = int(
    os.environ.get("SERVICELOOP_PROXY_COUNT", "1" if SECURE_PROXY_SSL_HEADER else "0")
)
AXES_CLIENT_IP_CALLABLE = "serviceloop.core.throttle.client_ip"
# Rate limits ("count/seconds") on attempts from one address, see core.throttle.
RATE_LOGIN_FAILURES_PER_ADDRESS = os.environ.get("SERVICELOOP_RATE_LOGIN_FAILURES", "30/900")
RATE_TOKEN_FAILURES_PER_ADDRESS = os.environ.get("SERVICELOOP_RATE_TOKEN_FAILURES", "20/300")
RATE_SIGNUPS_PER_ADDRESS = os.environ.get("SERVICELOOP_RATE_SIGNUPS", "5/3600")
RATE_SIGNUPS_PER_EMAIL = os.environ.get("SERVICELOOP_RATE_SIGNUPS_PER_EMAIL", "3/3600")
# API tokens expire after this many days (0: never); each token can also be given its own date.
API_TOKEN_DAYS = int(os.environ.get("SERVICELOOP_API_TOKEN_DAYS", "90"))
# Sign-up confirmation links stay valid this long (seconds).
SIGNUP_LINK_SECONDS = int(os.environ.get("SERVICELOOP_SIGNUP_LINK_SECONDS", str(3 * 24 * 3600)))

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
# Bounded input: every limit an administrator may change (SERVICELOOP_LIMIT_<NAME>, see
# core.environment.DEFAULT_LIMITS); over-limit requests get 413/422 naming the limit.
INPUT_LIMITS = limits_from_env()
DATA_UPLOAD_MAX_MEMORY_SIZE = INPUT_LIMITS["BODY_BYTES"]
# Case attributes a customer may set and read back; all others are written and read by staff only.
CUSTOMER_ATTRIBUTES = [
    name.strip()
    for name in os.environ.get("SERVICELOOP_CUSTOMER_ATTRIBUTES", "").split(",")
    if name.strip()
]
DATA_UPLOAD_MAX_NUMBER_FILES = INPUT_LIMITS["FILES_PER_REQUEST"]
# Uploads and their folders readable by the owner (and group) only, never by other local users.
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750

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

"""Settings, driven by the environment with safe local defaults.

Local mode (the default) keeps everything under ``SOKHAN_DATA_DIR``: the SQLite database, media,
the generated Django secret key and the encryption key file. Production mode
(``SOKHAN_ENV=production``) refuses to start with debug on or without an explicit secret key.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
if "PYTEST_VERSION" in os.environ and not os.environ.get("SOKHAN_DATA_DIR"):
    # A test run never touches a real data directory (its keys, its database); subprocesses that
    # the tests start inherit the same temporary one.
    os.environ["SOKHAN_DATA_DIR"] = tempfile.mkdtemp(prefix="sokhan-test-")
DATA_DIR = Path(os.environ.get("SOKHAN_DATA_DIR", Path.cwd() / "data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

ENVIRONMENT = os.environ.get("SOKHAN_ENV", "local")
PRODUCTION = ENVIRONMENT == "production"


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _env_bool("SOKHAN_DEBUG", not PRODUCTION)

_INSECURE_KEYS = {"", "changeme", "change-me", "secret", "django-insecure"}


def _secret_key() -> str:
    key = os.environ.get("SOKHAN_SECRET_KEY", "")
    if PRODUCTION:
        if DEBUG:
            raise ImproperlyConfigured("SOKHAN_DEBUG must be off when SOKHAN_ENV=production.")
        if key in _INSECURE_KEYS or key.startswith("django-insecure") or len(key) < 32:
            raise ImproperlyConfigured(
                "SOKHAN_SECRET_KEY must be set to a random value of at least 32 characters when SOKHAN_ENV=production."
            )
        return key
    if key:
        return key
    # Local mode: one random key per data directory, kept beside the database.
    path = DATA_DIR / "django-secret.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("SOKHAN_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("SOKHAN_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
BASE_URL = os.environ.get("SOKHAN_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "sokhan.core",
    "sokhan.runtime",
    "sokhan.api",
    "sokhan.web",
    "sokhan.channels",
    "sokhan.publishing",
    "sokhan.media",
    "sokhan.notifications",
    "sokhan.approvals",
    "sokhan.automation",
    "sokhan.inbox",
    "sokhan.listening",
    "sokhan.analytics",
    "sokhan.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "sokhan.web.middleware.UserLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "sokhan.web.middleware.UserTimezoneMiddleware",
]

ROOT_URLCONF = "sokhan.config.urls"
WSGI_APPLICATION = "sokhan.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sokhan.web.context.shell",
                "sokhan.channels.context.channel_alerts",
                "sokhan.notifications.context.notifications",
                "sokhan.listening.crisis_context.crisis_banner",
            ],
        },
    }
]


def _database() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        url = f"sqlite:///{DATA_DIR / 'sokhan.sqlite3'}"
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE transactions make every atomic block take the write lock up front, so the
        # worker's claim step is serialised: SQLite's "single writer" half of the claim path.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        }
        # A file, not memory, so tests can start worker processes that share the test database.
        config["TEST"] = {"NAME": str(DATA_DIR / "test-sokhan.sqlite3")}
    else:
        # Reusing a server connection across requests saves a connect per request (about half of
        # a short API request's time); health checks drop one the server has closed.
        config["CONN_MAX_AGE"] = int(os.environ.get("SOKHAN_DB_CONN_MAX_AGE", "60"))
        config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES: dict[str, Any] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("SOKHAN_CACHE_PREFIX", "sokhan"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "core.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fa", _("Persian"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("SOKHAN_STATIC_ROOT", DATA_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Front-end libraries are npm dependencies (package.json); the run command installs them.
NODE_MODULES = Path(os.environ.get("SOKHAN_NODE_MODULES", Path.cwd() / "node_modules"))
STATICFILES_DIRS: list[tuple[str, Path]] = []
if (NODE_MODULES / "htmx.org" / "dist").is_dir():
    STATICFILES_DIRS.append(("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"))
if (NODE_MODULES / "chart.js" / "dist").is_dir():
    STATICFILES_DIRS.append(("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

# Email: the console by default (links are printed where `sokhan serve` runs); SMTP when a host is set.
if os.environ.get("SOKHAN_EMAIL_HOST"):
    MAILERS: dict[str, Any] = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["SOKHAN_EMAIL_HOST"],
                "port": int(os.environ.get("SOKHAN_EMAIL_PORT", "25")),
                "username": os.environ.get("SOKHAN_EMAIL_USER", ""),
                "password": os.environ.get("SOKHAN_EMAIL_PASSWORD", ""),
                "use_tls": _env_bool("SOKHAN_EMAIL_TLS", False),
                "timeout": 20,
            },
        }
    }
else:
    MAILERS = {
        "default": {"BACKEND": os.environ.get("SOKHAN_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")}
    }
DEFAULT_FROM_EMAIL = os.environ.get("SOKHAN_EMAIL_FROM", "Sokhan <sokhan@localhost>")

# Encryption key for secrets at rest: SOKHAN_ENCRYPTION_KEY, else this file. Never the database.
ENCRYPTION_KEY_FILE = Path(os.environ.get("SOKHAN_ENCRYPTION_KEY_FILE", DATA_DIR / "encryption.key"))

# Worker runtime.
WORKER_LEASE_SECONDS = int(os.environ.get("SOKHAN_WORKER_LEASE_SECONDS", "60"))
WORKER_POLL_SECONDS = float(os.environ.get("SOKHAN_WORKER_POLL_SECONDS", "1.0"))

# --- Sentiment (sokhan.sentiment; see docs/sentiment.md) ---------------------------------------
# Which backend labels texts: "builtin" (the shipped offline model), "transformers" (a local Hugging
# Face model directory, SOKHAN_SENTIMENT_MODEL_DIR) or the dotted path of a class with
# analyze_many(texts, language). Options are passed to the class as keyword arguments, only those set.
SENTIMENT_BACKEND = os.environ.get("SOKHAN_SENTIMENT_BACKEND", "").strip() or "builtin"
SENTIMENT_OPTIONS = {
    name: os.environ[variable]
    for name, variable in (
        ("model_dir", "SOKHAN_SENTIMENT_MODEL_DIR"),
        ("labels", "SOKHAN_SENTIMENT_LABELS"),
        ("batch_size", "SOKHAN_SENTIMENT_BATCH_SIZE"),
        ("max_length", "SOKHAN_SENTIMENT_MAX_LENGTH"),
    )
    if os.environ.get(variable)
}

# API rate limit per token: requests per minute.
API_RATE_LIMIT_PER_MINUTE = int(os.environ.get("SOKHAN_API_RATE_LIMIT", "120"))

if PRODUCTION and DEBUG:  # pragma: no cover - guarded in _secret_key as well
    raise ImproperlyConfigured("SOKHAN_DEBUG must be off when SOKHAN_ENV=production.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "sokhan": {"handlers": ["console"], "level": os.environ.get("SOKHAN_LOG_LEVEL", "INFO")},
        "waitress": {"handlers": ["console"], "level": "WARNING"},
        # Django logs every task start and finish at INFO; our worker reports failures itself.
        "django.tasks": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# --- Worker runtime (owned by sokhan.runtime; see docs/runtime.md) ----------------------------
# django.tasks go to Sokhan's database queue; workers run them with leases and retries.
TASKS = {
    "default": {
        "BACKEND": "sokhan.runtime.backend.DatabaseBackend",
        "QUEUES": [],  # any queue name is accepted
        "OPTIONS": {
            "MAX_ATTEMPTS": int(os.environ.get("SOKHAN_TASK_MAX_ATTEMPTS", "5")),
            "BACKOFF_SECONDS": float(os.environ.get("SOKHAN_TASK_BACKOFF_SECONDS", "10")),
            "BACKOFF_MAX_SECONDS": float(os.environ.get("SOKHAN_TASK_BACKOFF_MAX_SECONDS", "3600")),
        },
    }
}

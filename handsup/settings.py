"""Hands Up settings: one module, driven by environment variables.

Demo mode (``HANDSUP_DEMO=1``, set by ``make demo``) turns on DEBUG, keeps a generated
secret key under ``var/`` and sends mail to the console and the demo "sent mail" page.
Everything else is production-shaped: a missing ``SECRET_KEY`` is an error, not a default.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("HANDSUP_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


TESTING = "pytest" in sys.modules or env_bool("HANDSUP_TESTING")
DEMO_MODE = env_bool("HANDSUP_DEMO")
DEBUG = env_bool("DEBUG", default=DEMO_MODE)


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if TESTING:
        return "test-only-" + "x" * 50
    if DEMO_MODE:
        # Demo installs keep one generated key so sessions survive restarts.
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file = VAR_DIR / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(50))
            key_file.chmod(0o600)
        return key_file.read_text().strip()
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set it in the environment "
        "(or run in demo mode with HANDSUP_DEMO=1)."
    )


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if (DEBUG or TESTING) else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "handsup.core.admin_site.HandsUpAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "django_tasks_db",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "anymail",
    "handsup.core",
    "handsup.accounts",
    "handsup.groups",
    "handsup.places",
    "handsup.people",
    "handsup.privacy",
    "handsup.imports",
    "handsup.messaging",
    "handsup.needs",
    "handsup.stories",
    "handsup.platform",
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
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "handsup.accounts.middleware.RequireMFAForPrivilegedRoles",
    "handsup.privacy.notice.AskForFreshConsent",
    # One ApiCall row for every call made with an API token, whatever its status.
    "handsup.platform.api_auth.RecordApiCalls",
]

ROOT_URLCONF = "handsup.urls"
WSGI_APPLICATION = "handsup.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "handsup" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "handsup.core.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# SQLite (WAL) under var/ by default; PostgreSQL when DATABASE_URL is set.
_database_url = os.environ.get("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # A fresh checkout has no var/ yet; SQLite can create the file but not its folder.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("HANDSUP_SQLITE_PATH", str(VAR_DIR / "handsup.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA busy_timeout=20000; PRAGMA foreign_keys=ON;"
                ),
            },
            "TEST": {"NAME": os.environ.get("HANDSUP_SQLITE_TEST_PATH") or None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared by every process (rate limits, allauth). ---------------------------
_redis_url = os.environ.get("REDIS_URL")
if _redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_url,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "handsup_cache",
        }
    }

# --- Background tasks -----------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "scheduled"],
    }
}

# --- Auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Django's and allauth's backends, loading each request's user with their roles.
AUTHENTICATION_BACKENDS = [
    "handsup.accounts.backends.RolesModelBackend",
    "handsup.accounts.backends.RolesAccountBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing cost is not what the tests measure.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# People can start helping before they click the link; discoverability waits for it.
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
# "Email me a sign-in code": anyone may log in with a short code sent to their address
# (people who chose no password need it); MFA still follows for those who have it.
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
ACCOUNT_ADAPTER = "handsup.accounts.adapter.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Hands Up] "
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Hands Up"
MFA_ADAPTER = "handsup.accounts.adapter.MFAAdapter"

# --- Email ----------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Hands Up <no-reply@handsup.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if TESTING:
    _mail_backend = "django.core.mail.backends.locmem.EmailBackend"
elif DEMO_MODE:
    _mail_backend = "handsup.core.mail.DemoEmailBackend"
else:
    _mail_backend = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
_mail_options: dict[str, object] = {}
if _mail_backend.endswith("smtp.EmailBackend"):
    _mail_options = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("EMAIL_PORT", "25")),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS"),
        "timeout": 30,
    }
MAILERS = {"default": {"BACKEND": _mail_backend, "OPTIONS": _mail_options}}
# `handsup demo` runs a local SMTP server and tells its worker the port: the outbox is
# then delivered over real SMTP, and what arrives shows on the demo mail page.
HANDSUP_DEMO_SMTP_PORT = int(os.environ.get("HANDSUP_DEMO_SMTP_PORT", "0"))
if DEMO_MODE and not TESTING and HANDSUP_DEMO_SMTP_PORT:
    MAILERS["outbox"] = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": HANDSUP_DEMO_SMTP_PORT, "timeout": 10},
    }
    HANDSUP_DELIVERY_MAILER = "outbox"
# The in-process matching indexes (needs/index.py, needs/needs_index.py) serve the
# "needs for me" page; off, it takes the database path. Off in tests unless a test
# turns it on: an index outlives the transaction a test rolls back.
MATCHING_INDEX = env_bool("HANDSUP_MATCHING_INDEX", default=not TESTING)
# Delivery (messaging/delivery.py): sent rows are marked after this many sends or this
# many seconds after the first unmarked one, whichever comes first. That is also the
# crash window: a worker killed inside it sends those again, with the same Message-ID.
HANDSUP_DELIVERY_MARK_EVERY = int(os.environ.get("HANDSUP_DELIVERY_MARK_EVERY", "100"))
HANDSUP_DELIVERY_MARK_SECONDS = float(os.environ.get("HANDSUP_DELIVERY_MARK_SECONDS", "0.25"))
# Pre-built MIME on Django's SMTP backend's connection (messaging/fastmail.py).
HANDSUP_DELIVERY_PREBUILT_MIME = env_bool("HANDSUP_DELIVERY_PREBUILT_MIME", default=True)

# Bounces and complaints from a mail provider through django-anymail: any ANYMAIL_*
# variable becomes an ANYMAIL setting (ANYMAIL_WEBHOOK_SECRET="user:password",
# ANYMAIL_POSTMARK_SERVER_TOKEN=…). Its webhooks (/anymail/<provider>/tracking/) are
# mounted only when a provider is configured: an anymail EMAIL_BACKEND, or
# ANYMAIL_WEBHOOKS=1 (e.g. the outbox relays over SMTP through the provider).
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_") and name != "ANYMAIL_WEBHOOKS"
}
ANYMAIL_WEBHOOKS = env_bool("ANYMAIL_WEBHOOKS", default=_mail_backend.startswith("anymail."))
if ANYMAIL_WEBHOOKS and not ANYMAIL.get("WEBHOOK_SECRET"):
    raise ImproperlyConfigured(
        "The mail provider's webhooks are on but ANYMAIL_WEBHOOK_SECRET is not set: set it "
        "to a random user:password and give the provider the URL with it."
    )

# --- Files ----------------------------------------------------------------------------
# Public files (logos, published story images) have URLs; private files (imports,
# exports) have none and are served only through permission-checked views.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "handsup" / "static"]
_s3_bucket = os.environ.get("S3_BUCKET")
if _s3_bucket:
    _s3_options = {
        "bucket_name": _s3_bucket,
        "endpoint_url": os.environ.get("S3_ENDPOINT_URL") or None,
        "region_name": os.environ.get("S3_REGION") or None,
    }
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**_s3_options, "location": "public", "querystring_auth": False},
        },
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**_s3_options, "location": "private", "querystring_auth": True},
        },
    }
else:
    STORAGES = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": MEDIA_ROOT / "public", "base_url": MEDIA_URL},
        },
        "private": {
            "BACKEND": "handsup.core.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": MEDIA_ROOT / "private"},
        },
    }
STORAGES["staticfiles"] = {
    "BACKEND": (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
        if (DEBUG or TESTING)
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 5_242_880

# --- Security -------------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
_https = env_bool("HTTPS", default=not (DEBUG or TESTING))
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = _https and env_bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if _https else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None

# --- Internationalisation: every user-facing string is marked from the start. ---------
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", _("English"))]
LOCALE_PATHS = [BASE_DIR / "handsup" / "locale"]
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Hands Up -------------------------------------------------------------------------
HANDSUP_SCHEDULE_TICK_SECONDS = float(os.environ.get("HANDSUP_SCHEDULE_TICK_SECONDS", "5"))
# How many days a "download my data" zip stays downloadable before its file is deleted.
HANDSUP_EXPORT_DAYS = int(os.environ.get("HANDSUP_EXPORT_DAYS", "7"))
# How many stories one person may send in an hour and in a day (abuse and mistakes).
HANDSUP_STORIES_PER_HOUR = int(os.environ.get("HANDSUP_STORIES_PER_HOUR", "3"))
HANDSUP_STORIES_PER_DAY = int(os.environ.get("HANDSUP_STORIES_PER_DAY", "10"))
# Retention (privacy/retention.py, which checks the values, 1–120 months): a volunteer
# away this long is asked to reconfirm and erased this many days later unless they do;
# access-log rows older than this are counted per month and deleted.
HANDSUP_INACTIVE_MONTHS = int(os.environ.get("HANDSUP_INACTIVE_MONTHS", "24"))
HANDSUP_RECONFIRM_DAYS = int(os.environ.get("HANDSUP_RECONFIRM_DAYS", "30"))
# Calls one API token may make per minute (counted in the cache); past it, 429.
HANDSUP_API_RATE_PER_MINUTE = int(os.environ.get("HANDSUP_API_RATE_PER_MINUTE", "120"))
# Webhooks go only to HTTPS addresses on public networks; the demo may also send to this
# machine over plain HTTP (tests turn it on where they need it).
HANDSUP_WEBHOOKS_ALLOW_LOOPBACK_HTTP = env_bool(
    "HANDSUP_WEBHOOKS_ALLOW_LOOPBACK_HTTP", default=DEMO_MODE and not TESTING
)
# Finished webhook deliveries (some are about a person) are kept this long.
HANDSUP_WEBHOOK_LOG_DAYS = int(os.environ.get("HANDSUP_WEBHOOK_LOG_DAYS", "30"))
# How many tools one person may add to the registry in a day.
HANDSUP_TOOLS_PER_DAY = int(os.environ.get("HANDSUP_TOOLS_PER_DAY", "5"))
HANDSUP_ACCESS_LOG_MONTHS = int(os.environ.get("HANDSUP_ACCESS_LOG_MONTHS", "24"))
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "handsup": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # A line per task started and finished is noise (the outbox drains every few
        # seconds); failures come at ERROR. One handler, so a failure isn't printed twice
        # in DEBUG, where Django's own "django" handler would print it too.
        "django.tasks": {
            "handlers": ["console"],
            "level": os.environ.get("TASKS_LOG_LEVEL", "WARNING"),
            "propagate": False,
        },
    },
}

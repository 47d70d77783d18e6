"""Settings for the whole project, read from environment variables.

DEBUG defaults to off. With DEBUG off the process refuses to start unless every value a
production deployment needs (SECRET_KEY, FIELD_ENCRYPTION_KEYS, DATABASE_URL, REDIS_URL,
ALLOWED_HOSTS) is set; there are no silent defaults for those. `make run` sets DEBUG=1 and
gets the embedded default: SQLite, a filesystem broker and the provider sandbox.
"""

import base64
import hashlib
from pathlib import Path

import dj_database_url
from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured

from scheduler.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", default=False)


def _require(name: str) -> str:
    value = env_str(name)
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set when DEBUG is off (see README, 'Configuration')."
        )
    return value


# --- Core -------------------------------------------------------------------------------

if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY") or "dev-only-secret-key-never-use-in-production-0123456789"
else:
    SECRET_KEY = _require("SECRET_KEY")

# Fernet keys for encrypted model fields. The first key encrypts; all of them decrypt, so a
# new key is rotated in by putting it first and re-saving (manage.py rotate_encryption_keys).
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        _require("FIELD_ENCRYPTION_KEYS")
    # Dev only: a key derived from the dev SECRET_KEY so `make run` needs no setup.
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
    ]

# The app's own hosts. Django itself accepts any Host header because accounts' verified
# custom domains serve scheduling pages too; meetings.middleware.CustomDomainMiddleware
# refuses every host that is neither one of these nor a verified custom domain.
APP_HOSTS = env_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
if not DEBUG and not APP_HOSTS:
    _require("ALLOWED_HOSTS")
ALLOWED_HOSTS = ["*"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Public base URL of the app, used in emails and provider redirect URIs.
APP_BASE_URL = (env_str("APP_BASE_URL") or f"http://127.0.0.1:{env_int('PORT', 8000)}").rstrip("/")

# Custom domains (Settings > Domains, scheduler/domains.py): where customers point their
# domain (CNAME target, or an IP address for A/AAAA records; default APP_BASE_URL's host),
# the nameservers verification asks (default: the system's resolver), and how long a
# verified domain whose records fail keeps being served.
CUSTOM_DOMAIN_TARGET = env_str("CUSTOM_DOMAIN_TARGET") or ""
CUSTOM_DOMAIN_DNS_NAMESERVERS = env_list("CUSTOM_DOMAIN_DNS_NAMESERVERS")
CUSTOM_DOMAIN_DNS_PORT = env_int("CUSTOM_DOMAIN_DNS_PORT", 53)
CUSTOM_DOMAIN_DNS_TIMEOUT = env_float("CUSTOM_DOMAIN_DNS_TIMEOUT", 5.0)
CUSTOM_DOMAIN_GRACE_HOURS = env_int("CUSTOM_DOMAIN_GRACE_HOURS", 72)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "csp",
    "scheduler",
    "calendars",
    "crm",
    "meetings",
    "chat",
]

MIDDLEWARE = [
    "scheduler.middleware.RejectMalformedRequests",
    # The host is checked (app hosts, or an account's verified custom domain) before anything
    # answers, the https redirect included: never a redirect to an attacker-chosen host.
    "meetings.middleware.CustomDomainMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "scheduler.csp.PolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "scheduler.middleware.UserTimezoneMiddleware",
]

ROOT_URLCONF = "scheduler.urls"
WSGI_APPLICATION = "scheduler.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------

_database_url = env_str("DATABASE_URL")
if not _database_url:
    if not DEBUG:
        _require("DATABASE_URL")
    _database_url = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        _database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Shown in pg_stat_activity: which kind of process holds each connection.
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = (
        env_str("DB_APPLICATION_NAME") or "meetings"
    )
elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default serves several threads and processes (gunicorn, worker, beat):
    # WAL lets readers and the writer work side by side, IMMEDIATE takes the write lock when a
    # transaction begins (no lock-upgrade deadlocks), and writers wait instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery ------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
if not REDIS_URL and not DEBUG:
    _require("REDIS_URL")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("CACHE_URL") or REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX") or "scheduler",
            # Fail fast when Redis is down instead of hanging a request.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    # Embedded default: every process of `make run` shares these folders, no server needed.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'results'}"

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# No task runs unbounded: the soft limit raises inside the task (leases are given back), the
# hard limit replaces the worker process. Calendar syncs get longer limits of their own.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 150)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "scheduler.tasks.heartbeat", "schedule": 60.0},
    "dispatch-calendar-syncs": {"task": "calendars.tasks.dispatch_due_syncs", "schedule": 60.0},
    "sweep-calendar-writes": {"task": "calendars.tasks.sweep_calendar_writes", "schedule": 30.0},
    "sweep-emails": {"task": "scheduler.tasks.sweep_emails", "schedule": 60.0},
    "expire-meeting-requests": {
        "task": "meetings.tasks.expire_meeting_requests",
        "schedule": 300.0,
    },
    "recheck-custom-domains": {"task": "scheduler.tasks.recheck_domains", "schedule": 3600.0},
    "send-planned-emails": {"task": "meetings.tasks.send_planned_emails", "schedule": 30.0},
    "sweep-conference-links": {"task": "meetings.tasks.sweep_conference_links", "schedule": 60.0},
}
# Public booking POSTs allowed per client address (django-ratelimit rate syntax).
BOOKING_RATE_LIMIT = env_str("BOOKING_RATE_LIMIT") or "60/m"
# Slot lists asked for per client address (beyond the cache: distinct queries compute).
SLOTS_RATE_LIMIT = env_str("SLOTS_RATE_LIMIT") or "300/m"
# Chat widget posts (messages, email, booking links) allowed per visitor and per client
# address, and new conversations per client address.
CHAT_VISITOR_RATE_LIMIT = env_str("CHAT_VISITOR_RATE_LIMIT") or "20/m"
CHAT_IP_RATE_LIMIT = env_str("CHAT_IP_RATE_LIMIT") or "60/m"
CHAT_NEW_CONVERSATION_RATE_LIMIT = env_str("CHAT_NEW_CONVERSATION_RATE_LIMIT") or "30/h"
# Behind a reverse proxy the client address comes from X-Forwarded-For (USE_X_FORWARDED_FOR=1).
USE_X_FORWARDED_FOR = env_bool("USE_X_FORWARDED_FOR", default=False)
RATELIMIT_IP_META_KEY = "scheduler.client_ip.client_ip"
# Push notifications need APP_BASE_URL reachable by the provider; polling always runs.
CALENDAR_PUSH_ENABLED = env_bool("CALENDAR_PUSH_ENABLED", default=True)
# How often a connection is polled when push notifications say nothing.
CALENDAR_POLL_MINUTES = env_int("CALENDAR_POLL_MINUTES", 5)
# Provider calls: every network wait of a background call (sync, writes) is bounded by
# PROVIDER_TIMEOUT_SECONDS; calls a person waits for (connecting, disconnecting) by
# PROVIDER_INTERACTIVE_TIMEOUT_SECONDS; a booking's live free/busy check of all its hosts
# together by LIVE_CHECK_BUDGET_SECONDS, after which the mirror decides.
PROVIDER_TIMEOUT_SECONDS = env_int("PROVIDER_TIMEOUT_SECONDS", 30)
PROVIDER_INTERACTIVE_TIMEOUT_SECONDS = env_int("PROVIDER_INTERACTIVE_TIMEOUT_SECONDS", 10)
LIVE_CHECK_BUDGET_SECONDS = env_float("LIVE_CHECK_BUDGET_SECONDS", 3.0)
# Meeting requests (offline mode) nobody answered expire after this many hours.
MEETING_REQUEST_EXPIRY_HOURS = env_int("MEETING_REQUEST_EXPIRY_HOURS", 72)
# Round robin fairness reads the page's bookings of this many days (older ones are forgotten).
ROUND_ROBIN_HISTORY_DAYS = env_int("ROUND_ROBIN_HISTORY_DAYS", 365)
# A page creating a Google Meet / Teams link holds the contact's confirmation back until the
# link is known, at most this many seconds; after that it goes without, and the link follows.
CONFERENCE_WAIT_SECONDS = env_int("CONFERENCE_WAIT_SECONDS", 60)

# --- Auth (django-allauth) --------------------------------------------------------------

AUTH_USER_MODEL = "scheduler.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "meetings:dashboard"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True  # only within the browser session that signed up
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "scheduler.adapters.AccountAdapter"
ACCOUNT_FORMS = {"signup": "scheduler.forms.SignupForm"}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Meetings] "
# Links in allauth's emails use the scheme the app is reached with (a first self-hosted run
# is on http://localhost).
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if APP_BASE_URL.startswith("https:") else "http"
MFA_ADAPTER = "scheduler.adapters.MFAAdapter"  # TOTP secrets and recovery seeds encrypted
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER") or "Meetings"

# --- Email ------------------------------------------------------------------------------

EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "Meetings <meetings@localhost>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Calendar providers -----------------------------------------------------------------
# Every provider endpoint is a setting. CALENDAR_SANDBOX_URL points them all at the
# project's sandbox (`python -m sandbox`); unset, they default to the real services.

CALENDAR_SANDBOX_URL = (env_str("CALENDAR_SANDBOX_URL") or "").rstrip("/")
CALENDAR_SANDBOX_HTTPS_URL = (env_str("CALENDAR_SANDBOX_HTTPS_URL") or "").rstrip("/")
CALENDAR_SANDBOX_CA_FILE = env_str("CALENDAR_SANDBOX_CA_FILE") or ""

GOOGLE_CLIENT_ID = env_str("GOOGLE_CLIENT_ID") or ("sandbox-google-client" if DEBUG else "")
GOOGLE_CLIENT_SECRET = env_str("GOOGLE_CLIENT_SECRET") or ("sandbox-secret" if DEBUG else "")
GOOGLE_AUTH_URI = env_str("GOOGLE_AUTH_URI") or (
    f"{CALENDAR_SANDBOX_URL}/o/oauth2/auth"
    if CALENDAR_SANDBOX_URL
    else "https://accounts.google.com/o/oauth2/auth"
)
GOOGLE_TOKEN_URI = env_str("GOOGLE_TOKEN_URI") or (
    f"{CALENDAR_SANDBOX_URL}/token"
    if CALENDAR_SANDBOX_URL
    else "https://oauth2.googleapis.com/token"
)
GOOGLE_REVOKE_URI = env_str("GOOGLE_REVOKE_URI") or (
    f"{CALENDAR_SANDBOX_URL}/revoke"
    if CALENDAR_SANDBOX_URL
    else "https://oauth2.googleapis.com/revoke"
)
GOOGLE_CALENDAR_API_URL = env_str("GOOGLE_CALENDAR_API_URL") or (
    f"{CALENDAR_SANDBOX_URL}/calendar/v3/"
    if CALENDAR_SANDBOX_URL
    else "https://www.googleapis.com/calendar/v3/"
)

MICROSOFT_CLIENT_ID = env_str("MICROSOFT_CLIENT_ID") or ("sandbox-ms-client" if DEBUG else "")
MICROSOFT_CLIENT_SECRET = env_str("MICROSOFT_CLIENT_SECRET") or ("sandbox-secret" if DEBUG else "")
MICROSOFT_TENANT = env_str("MICROSOFT_TENANT") or "common"
MICROSOFT_AUTHORITY_HOST = env_str("MICROSOFT_AUTHORITY_HOST") or (
    CALENDAR_SANDBOX_HTTPS_URL or "https://login.microsoftonline.com"
)
MICROSOFT_GRAPH_URL = env_str("MICROSOFT_GRAPH_URL") or (
    f"{CALENDAR_SANDBOX_URL}/graph/v1.0"
    if CALENDAR_SANDBOX_URL
    else "https://graph.microsoft.com/v1.0"
)

# User-supplied EWS URLs must be https on a public address. The sandbox runs on loopback
# over http, so it needs this switched on; never in production.
EXCHANGE_ALLOW_PRIVATE_URLS = env_bool("EXCHANGE_ALLOW_PRIVATE_URLS", default=False)

# --- Internationalisation ---------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (production) --------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    # Off only for a plain-http first run (docker-compose.yml's HTTPS=0).
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    if env_bool("USE_X_FORWARDED_PROTO", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz is probed over plain http by load balancers and orchestrators, and the TLS
    # proxy asks /tls/ask over plain http before it has a certificate.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^tls/ask$"]


# Content-Security-Policy on every response (django-csp): scripts and styles only from the
# app itself (an inline script needs the request's nonce, `{{ CSP_NONCE }}`), nothing framed
# and the app framed by nobody, except the pages meant to be embedded, which replace
# frame-ancestors with the origins allowed to embed them (scheduler.csp.allow_framing; the
# operator's EMBED_ALLOWED_ORIGINS plus, where a page offers it, the account's own). Forms
# may post to the app and to the providers' sign-in pages the connect flow redirects to
# (added by scheduler.csp.PolicyMiddleware from the provider settings).
EMBED_ALLOWED_ORIGINS = env_list("EMBED_ALLOWED_ORIGINS")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "frame-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    }
}

# --- Logging ----------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL") or "INFO"
LOG_FORMAT = env_str("LOG_FORMAT") or "json"
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'plain', got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

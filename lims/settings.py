"""Django settings, read from the environment (django-environ).

``LIMS_ENV`` picks the profile: ``production`` (the default: every secret must
be given), ``development`` (``make run``) or ``test`` (pytest). Without
``DATABASE_URL`` the development and test profiles start the embedded
PostgreSQL under ``var/``; production refuses to start without one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
LIMS_ENV = env("LIMS_ENV", default="production")
if LIMS_ENV not in {"production", "development", "test"}:
    raise ImproperlyConfigured(f"LIMS_ENV must be production, development or test, not {LIMS_ENV!r}")
PRODUCTION = LIMS_ENV == "production"


def _required_in_production(name: str) -> None:
    if PRODUCTION and not env.str(name, default=""):
        raise ImproperlyConfigured(
            f"{name} must be set in production (LIMS_ENV=production). "
            "For a local run use `make run`, which sets LIMS_ENV=development."
        )


for _name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"):
    _required_in_production(_name)

DEBUG = env.bool("DJANGO_DEBUG", default=LIMS_ENV == "development")
# Not a secret: only ever used outside production, where the checks here refuse it.
DEVELOPMENT_SECRET_KEY = "insecure-development-key-never-used-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured(
        "DJANGO_DEBUG must be off in production: it shows settings and data on errors."
    )
if PRODUCTION and (
    SECRET_KEY == DEVELOPMENT_SECRET_KEY or SECRET_KEY.startswith("django-insecure") or len(set(SECRET_KEY)) < 5
    or len(SECRET_KEY) < 50
):  # fmt: skip
    raise ImproperlyConfigured(
        "SECRET_KEY is the development key or too weak for production: use at least 50 random characters, "
        'e.g. python -c "import secrets; print(secrets.token_urlsafe(50))".'
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_htmx",
    "core",
    "compliance",
    "batches",
    "webhooks",
    "storage",
    "monitoring",
    "documents",
    "web",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "web.second_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "web.idle.IdleLogoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.audit.middleware.AuditContextMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout page
]

ROOT_URLCONF = "lims.urls"
WSGI_APPLICATION = "lims.wsgi.application"

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
                "django.template.context_processors.i18n",
                "web.context_processors.sweep_health",
            ],
        },
    },
]

if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    from lims.embedded_pg import database_settings

    DATABASES = {"default": database_settings()}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if LIMS_ENV == "test" else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "compliance.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if LIMS_ENV == "test":
    # Hashing speed only; the algorithm under test is Django's, not ours.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# --- Login: lockout (django-axes) and the second factor (django-otp) -----------
# Password logins (the staff login and the admin) lock after AXES_FAILURE_LIMIT
# failures per account and, separately, per client address. The signing
# re-authentication does not go through authenticate() and keeps its own lockout.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "web.views.second_factor.locked_out"
AXES_IPWARE_PROXY_COUNT = env.int("NUM_PROXIES", default=0) or None
# Roles that must pass a TOTP code after the password ("admin" = staff/superusers).
# Production requires it for QA and admins; development and test leave it to
# SECOND_FACTOR_ROLES so the demo logins and the suite's logins stay simple
# (tests/ops/test_login_hardening.py turns it on and proves it).
SECOND_FACTOR_ROLES = env.list("SECOND_FACTOR_ROLES", default=["qa", "admin"] if PRODUCTION else [])
if PRODUCTION and not {"qa", "admin"} <= set(SECOND_FACTOR_ROLES):
    raise ImproperlyConfigured("SECOND_FACTOR_ROLES must include qa and admin in production.")
OTP_TOTP_ISSUER = "Cell processing LIMS"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ja", _("Japanese"))]
# lims/ and templates/, and api/ (not an installed app); every installed app keeps its own <app>/locale.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "api" / "locale"]
FORMAT_MODULE_PATH = ["lims.formats"]  # Japanese dates as 2026年12月2日, times with their zone
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production, serve straight from the apps' static folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security -------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
# Idle logout (web.idle): the server ends a session unused this long; the page warns before.
LIMS_IDLE_TIMEOUT = dt.timedelta(minutes=env.int("LIMS_IDLE_TIMEOUT_MINUTES", default=15))
LIMS_IDLE_WARNING = dt.timedelta(seconds=env.int("LIMS_IDLE_WARNING_SECONDS", default=60))
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# Content-Security-Policy (django-csp), in every profile so the browser tests see
# what production sends: scripts only from our own static files (no inline
# script, no CDN); styles also inline (HTMX's indicator style, SVG attributes).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Domain ---------------------------------------------------------------
# ISBT 128 Facility Identification Number of this cell processing facility.
LIMS_FIN = env.str("LIMS_FIN", default="A9999")

# --- REST framework -------------------------------------------------------
# Django's default (2.5 MiB), stated because the API's JSON parser enforces it too.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Bearer first: its scheme is the one a 401 announces (WWW-Authenticate: Bearer).
    # Sessions (the web UI) keep Django's CSRF protection.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only, bounded: a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413, nesting past 32 levels a 400.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.BoundedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["api.auth.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("API_RATE_PER_TOKEN", default="1200/min"),
        # Wrong, expired or revoked bearer tokens, per client address (api.auth).
        "failed_auth": env.str("API_RATE_FAILED_AUTH", default="30/min"),
    },
    # Client addresses behind this many trusted proxies come from X-Forwarded-For.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0) or None,
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.base.Pagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cell processing LIMS API",
    "DESCRIPTION": (
        "Clinic systems and lab integrations. Authenticate with `Authorization: Bearer <token>` "
        "(`manage.py issue_token`). Errors are `application/problem+json` (RFC 9457). "
        "A JSON body larger than 2.5 MiB is refused with 413, one nested deeper than 32 levels with 400."
    ),
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs need a login in production unless API_SCHEMA_PUBLIC opens them.
    "SERVE_PERMISSIONS": (
        ["rest_framework.permissions.IsAuthenticated"]
        if PRODUCTION and not env.bool("API_SCHEMA_PUBLIC", default=False)
        else ["rest_framework.permissions.AllowAny"]
    ),
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.document_throttling",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CollectionKindEnum": "batches.models.Collection.Kind",
        "LocationKindEnum": "batches.models.Location.Kind",
        "StepKindEnum": "batches.models.CultureStep.Kind",
        "WebhookEventTypeEnum": "webhooks.models.EventType",
        "WebhookEventStatusEnum": "webhooks.models.OutboxEvent.Status",
    },
}

# --- Cache (API throttling, shared by every process) -------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Throttle counters must be shared by every gunicorn worker and every server,
# so the cache is Redis when there is one and a database table otherwise
# (created by core's migration); never a per-process memory cache.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "lims_cache"}
    )
}
CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default="lims")

# --- Celery -----------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A task taken by a worker that then dies (SIGKILL, OOM, a lost machine) goes back
    # to the queue after this many seconds. It must exceed the longest countdown a
    # task can wait in a worker (retry_backoff_max 300 s) plus its time limit.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900)
    }
else:
    # A broker that needs no server: kombu's filesystem transport under var/.
    _queue = VAR_DIR / "celery" / "queue"
    _processed = VAR_DIR / "celery" / "processed"
    _control = VAR_DIR / "celery" / "control"
    for _dir in (_queue, _processed, _control):
        _dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(_processed),
        "control_folder": str(_control),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# A web request that enqueues work must not hang on a dead broker: give up fast
# (the enqueue helpers log and drop; the sweeps recompute from the database).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sweeps are idempotent, so a static schedule is enough (issue #6).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "sweep-all": {"task": "batches.sweep_all", "schedule": 300.0, "options": {"expires": 280}},
    "sweep-expiry": {"task": "compliance.sweep_expiry", "schedule": 300.0, "options": {"expires": 280}},
    # The outbox is drained on commit too; this finds what a broker outage left behind.
    "webhooks-drain": {"task": "webhooks.drain", "schedule": 30.0, "options": {"expires": 25}},
}
# A worker starting up sweeps at once (make run shows flags within a minute); tests start workers themselves.
# /readyz and the QA banner call the background work stale when no full sweep has
# completed for this long (seconds): three missed runs of the 5-minute schedule.
SWEEP_STALE_AFTER = env.int("SWEEP_STALE_AFTER", default=900)
CELERY_SWEEP_ON_WORKER_READY = env.bool("CELERY_SWEEP_ON_WORKER_READY", default=LIMS_ENV != "test")

# --- Webhooks (webhooks/) ------------------------------------------------------
# Base of the links in webhook payloads (the clinic system follows them with its token).
LIMS_PUBLIC_URL = env.str("LIMS_PUBLIC_URL", default="http://localhost:8000").rstrip("/")
# Networks a clinic URL may resolve into although private (a clinic reached over a VPN), as CIDRs.
WEBHOOKS_ALLOWED_NETWORKS = env.list("WEBHOOKS_ALLOWED_NETWORKS", default=[])
# Loopback (and http to it) only for development and tests: never a way into this host in production.
WEBHOOKS_ALLOW_LOOPBACK = DEBUG or LIMS_ENV == "test"
WEBHOOKS_CONNECT_TIMEOUT = env.float("WEBHOOKS_CONNECT_TIMEOUT", default=5.0)
WEBHOOKS_READ_TIMEOUT = env.float("WEBHOOKS_READ_TIMEOUT", default=10.0)
WEBHOOKS_MAX_RESPONSE_BYTES = 64 * 1024
WEBHOOKS_RETRY_WINDOW = env.int("WEBHOOKS_RETRY_WINDOW", default=24 * 3600)  # seconds, then failed
WEBHOOKS_BACKOFF_BASE = 30  # seconds before the first retry (ceiling; full jitter below it)
WEBHOOKS_BACKOFF_MAX = 2 * 3600  # the longest wait between two attempts

# --- E-mail -------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="lims@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"pgserver": {"level": "WARNING"}},
}

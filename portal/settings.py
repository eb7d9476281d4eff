"""Settings for the cooperation portal, all read from the environment.

Bad or missing values fail loudly: production mode (DJANGO_DEBUG off) refuses
to start without DJANGO_SECRET_KEY.
"""

import hashlib
import os
import re
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from portal.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it (50+ random characters) in production, "
            "or set DJANGO_DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-only-used-when-DJANGO_DEBUG-is-on"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])

INSTALLED_APPS = [
    "portal.admin_site.PortalAdminConfig",  # django.contrib.admin with the portal's autocomplete
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "import_export",
    "simple_history",
    "portal.apps.PortalAxesConfig",  # axes, under a Dutch name in the admin
    "csp",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "cooperation",
]

MIDDLEWARE = [
    # /healthz for load balancers, before the host check and the HTTPS redirect (portal/health.py).
    "portal.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A NUL byte or control character in the path or a parameter is a 400 before any view runs.
    "cooperation.middleware.RejectInvalidCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "cooperation.middleware.StaffSessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: locks out after repeated failed logins.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "portal.urls"

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
                "cooperation.context_processors.roles",
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"


def database_from_url(url: str, conn_max_age: int) -> dict:
    """DATABASE_URL: PostgreSQL in production and the tests, a SQLite file under `make run`.

    SQLite gets write-ahead logging, so pages keep reading while an import job (a thread of
    the same process under `make run`) holds the write lock for its one long transaction;
    transactions that take the write lock when they begin, because one that read first
    fails at once on its first write when another connection wrote meanwhile (that would be
    the import, after a login or a progress write); and a timeout, so a write waits for the
    lock instead of failing.
    """
    database = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            **database.get("OPTIONS", {}),
        }
    return database


DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def cache_from_url(url: str) -> dict:
    """CACHE_URL: `locmem://` (default, per process), `redis://host:port/db` (production), `dummy://`."""
    if url in ("", "locmem://"):
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "portal"}
    if url == "dummy://":
        return {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    if url.startswith(("redis://", "rediss://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    raise ImproperlyConfigured(f"CACHE_URL must be locmem://, dummy:// or redis://host:port/db, not {url!r}.")


def code_digest() -> str:
    """A digest of the code, templates and translations: the default release, so that a deploy
    never serves markup cached by the previous one."""
    digest = hashlib.sha256()
    for pattern in ("cooperation/**/*.py", "portal/*.py", "templates/**/*.html", "locale/*/LC_MESSAGES/*.mo"):
        for path in sorted(BASE_DIR.glob(pattern)):
            if "migrations" not in path.parts:
                digest.update(path.as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# The release this process runs (e.g. a git tag or image digest, from the deploy); it prefixes
# every cache key, so a new release starts with an empty cache.
PORTAL_RELEASE = os.environ.get("PORTAL_RELEASE", "").strip() or code_digest()

# Rendered page fragments (cooperation/fragments.py); keyed by what they show, so never stale.
CACHES = {
    "default": {
        **cache_from_url(os.environ.get("CACHE_URL", "").strip()),
        "KEY_PREFIX": f"portal-{PORTAL_RELEASE}",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", "Nederlands"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` puts the files that WhiteNoise serves (the web processes must read it).
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded documents (issue 21) are files under MEDIA_ROOT by default. MEDIA_URL is never served:
# documents reach readers only through the permission-checked download view.
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT") or BASE_DIR / "media")
MEDIA_URL = "/media/"
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

# Or, in production, any S3-compatible object store (django-storages), when a bucket is named.
# Without keys, boto3's own chain is used (AWS_* variables, an instance role).
PORTAL_S3_BUCKET = os.environ.get("PORTAL_S3_BUCKET", "").strip()
if PORTAL_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": PORTAL_S3_BUCKET,
            "endpoint_url": os.environ.get("PORTAL_S3_ENDPOINT_URL", "").strip() or None,
            "region_name": os.environ.get("PORTAL_S3_REGION", "").strip() or None,
            "access_key": os.environ.get("PORTAL_S3_ACCESS_KEY_ID", "").strip() or None,
            "secret_key": os.environ.get("PORTAL_S3_SECRET_ACCESS_KEY", "").strip() or None,
            "location": os.environ.get("PORTAL_S3_PREFIX", "").strip().strip("/"),
            # Objects are private: the portal reads them and serves them itself, after its checks.
            "default_acl": "private",
            "querystring_auth": True,
            # Never overwrite: a name in use gets a suffix, as on the local file system.
            "file_overwrite": False,
        },
    }

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "cooperation:home"
LOGOUT_REDIRECT_URL = "cooperation:home"

# Lockout after repeated failed logins (django-axes), per username and address.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_HOURS", 1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False

# --- Staff sign-in: OpenID Connect through the organisation, a second factor for local accounts ---
# (accounts/; docs/security.md "Sign-in", docs/operations.md "Sign in through your organisation").
INSTALLED_APPS += ["django_otp", "portal.apps.PortalTotpConfig", "portal.apps.PortalStaticConfig", "accounts"]
# After authentication: django-otp marks a session verified; ours sends a local account that has
# not passed its second factor to that step, whatever URL it asks for (the admin included).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1, "accounts.middleware.SecondFactorMiddleware"
)
AUTHENTICATION_BACKENDS.append("accounts.oidc.OIDCBackend")
# Signing out of a provider session continues at the provider: pages allow its origin in form-action.
MIDDLEWARE.insert(
    MIDDLEWARE.index("csp.middleware.CSPMiddleware") + 1, "accounts.middleware.ProviderSignOutCSPMiddleware"
)
# Local accounts need a second factor (TOTP or a recovery code) in production mode.
PORTAL_REQUIRE_2FA = env_bool("PORTAL_REQUIRE_2FA", not DEBUG)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "ICT-samenwerking")
# OpenID Connect (mozilla-django-oidc): on when OIDC_ISSUER is set; endpoints come from the issuer's
# discovery document (accounts/oidc.py), the rest from the environment.
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "").strip()
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "").strip()
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
if OIDC_ISSUER and not (OIDC_ISSUER.startswith("https://") or DEBUG):
    raise ImproperlyConfigured("OIDC_ISSUER must be an https:// address in production.")
if OIDC_ISSUER and not OIDC_RP_CLIENT_ID:
    raise ImproperlyConfigured("OIDC_ISSUER is set but OIDC_CLIENT_ID is not: set both, or neither.")
OIDC_RP_SCOPES = os.environ.get("OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_SIGN_ALGORITHM", "RS256")
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True  # the id_token_hint for signing out at the provider
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 10)
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc-callback"
OIDC_REDIRECT_REQUIRE_HTTPS = not DEBUG
# Claim mapping: the claim holding the roles (dotted for nested claims, e.g. realm_access.roles),
# which of its values mean which role, and the claim with an editor's municipality CBS codes.
OIDC_ROLES_CLAIM = os.environ.get("OIDC_ROLES_CLAIM", "roles")
OIDC_ROLE_VALUES = {
    "viewer": env_list("OIDC_ROLE_VIEWER", ["viewer"]),
    "editor": env_list("OIDC_ROLE_EDITOR", ["editor"]),
    "administrator": env_list("OIDC_ROLE_ADMIN", ["admin"]),
}
OIDC_MUNICIPALITIES_CLAIM = os.environ.get("OIDC_MUNICIPALITIES_CLAIM", "gemeente")

# Content-Security-Policy (django-csp): no inline scripts, nothing from other origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Uploads: requests bigger than this are refused before they reach a view.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 25 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
# Import files (admin, import_data, background jobs) larger than this are refused with a message.
IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
if IMPORT_MAX_UPLOAD_BYTES <= 0:
    raise ImproperlyConfigured("IMPORT_MAX_UPLOAD_BYTES must be a positive number of bytes.")
# Documents behind agreements and events (cooperation/documents.py) larger than this are refused.
PORTAL_DOCUMENT_MAX_BYTES = env_int("PORTAL_DOCUMENT_MAX_BYTES", 25 * 1024 * 1024)
if PORTAL_DOCUMENT_MAX_BYTES <= 0:
    raise ImproperlyConfigured("PORTAL_DOCUMENT_MAX_BYTES must be a positive number of bytes.")

# The read-only open-data API (/api/v1/, cooperation/api.py). Anonymous clients are throttled.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cooperation.api.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per client address for anonymous API clients (cooperation.api.AnonymousThrottle).
API_ANON_RATE = os.environ.get("API_ANON_RATE", "1000/hour")
if not re.fullmatch(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)", API_ANON_RATE):
    raise ImproperlyConfigured("API_ANON_RATE must look like 1000/hour (per second, minute, hour or day).")
# Where the portal is reachable; background tasks (open-data downloads) use it for absolute links.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Seconds after which a stored open-data download is rebuilt (it is served meanwhile).
OPEN_DATA_MAX_AGE = env_int("OPEN_DATA_MAX_AGE", 3600)
# A "now" claim (active, member) on evidence older than this says how old it is (issue 15).
PORTAL_EVIDENCE_HORIZON_DAYS = env_int("PORTAL_EVIDENCE_HORIZON_DAYS", 730)
# An agreement in force whose term ends within this many days reads "ending" (issue 21).
PORTAL_AGREEMENT_ENDING_DAYS = env_int("PORTAL_AGREEMENT_ENDING_DAYS", 365)
SPECTACULAR_SETTINGS = {
    "TITLE": "ICT cooperation portal API",
    "DESCRIPTION": "Read-only open data: municipalities, partnerships, events and pillars. See docs/open-data.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PillarCodeEnum": "cooperation.models.Pillar.Code",
        "EventKindEnum": "cooperation.models.Event.Kind",
        "EventStatusEnum": "cooperation.models.Event.Status",
    },
}

# Celery: Redis in production, the filesystem transport under `make run`; CELERY_TASK_ALWAYS_EAGER=1 runs
# tasks in-process (some tests).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# The longest task is a large import; it is killed after CELERY_TASK_TIME_LIMIT seconds, and Redis
# hands an unacknowledged task (acks_late) to another worker only after the visibility timeout,
# which must therefore be longer, or a running import would be started twice.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int("CELERY_BROKER_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 600)
if CELERY_BROKER_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_BROKER_VISIBILITY_TIMEOUT must be longer than CELERY_TASK_TIME_LIMIT.")
# With Redis down a request that saves an event must not hang: connecting and publishing
# give up within about a second; the outbox sweep sends what could not be queued.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# `make run` needs no service: kombu's filesystem transport, messages as files under CELERY_BROKER_FOLDER
# (default .broker/ in the project, gitignored), shared by the web server and the worker of Procfile.dev.
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_FOLDER = Path(os.environ.get("CELERY_BROKER_FOLDER", BASE_DIR / ".broker"))
    for folder in ("queue", "processed", "control"):
        (CELERY_BROKER_FOLDER / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
    }
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# Celery logs through Django's LOGGING (one format), and beat keeps its schedule state in a
# persistent file (not /tmp, which a reboot empties): CELERY_BEAT_SCHEDULE_FILE.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get(
    "CELERY_BEAT_SCHEDULE_FILE", str(BASE_DIR / "var" / "celerybeat-schedule")
)
CELERY_BEAT_SCHEDULE = {
    "send-reminders": {
        "task": "cooperation.tasks.send_reminders",
        "schedule": crontab(hour=7, minute=0),
    },
    "sweep-outbox": {"task": "cooperation.tasks.sweep_outbox", "schedule": 60.0},
    "fail-stale-import-jobs": {"task": "cooperation.tasks.fail_stale_import_jobs", "schedule": 60.0},
    "build-open-data": {"task": "cooperation.tasks.build_open_data", "schedule": crontab(minute=15)},
}

# E-mail: SMTP in production, the console under `make run`, memory in the tests.
EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("DJANGO_EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "ICT-samenwerking <noreply@localhost>")

# Absolute links in e-mails (no request to build them from in a worker).
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Notifications: how long an unsubscribe link works, how often sending is retried.
UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS = env_int("UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS", 90)
NOTIFICATION_MAX_RETRIES = env_int("NOTIFICATION_MAX_RETRIES", 8)
# Imports of more rows than this run in the Celery worker with a progress page.
IMPORT_BACKGROUND_THRESHOLD_ROWS = env_int("IMPORT_BACKGROUND_THRESHOLD_ROWS", 1000)
# A partnership with more events than this shows them in the admin as a link to the event list
# (paginated, filterable) instead of inline forms, which would make its change page too heavy.
ADMIN_EVENT_INLINE_LIMIT = env_int("ADMIN_EVENT_INLINE_LIMIT", 50)
# An import job without a sign of life for this long has lost its worker and is shown as failed.
IMPORT_JOB_STALE_SECONDS = env_int("IMPORT_JOB_STALE_SECONDS", 120)

# Security: production defaults; each can be relaxed from the environment
# (e.g. DJANGO_SECURE_SSL_REDIRECT=0 behind a proxy that already redirects).


def trusted_proxy_count() -> int:
    """PORTAL_TRUSTED_PROXY_COUNT: how many reverse proxies stand between the clients and gunicorn
    (0: none, clients connect directly). Everything that asks who the client is derives from it:
    the HTTPS scheme from X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER), the login lockout
    (django-axes) and the API throttle (cooperation.middleware.client_ip). The deprecated
    DJANGO_BEHIND_TLS_PROXY=1 and AXES_PROXY_COUNT=N still work, as one proxy and N proxies;
    set together with PORTAL_TRUSTED_PROXY_COUNT they must agree with it."""
    count = env_int("PORTAL_TRUSTED_PROXY_COUNT", -1)
    legacy = {}
    if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
        legacy["DJANGO_BEHIND_TLS_PROXY"] = 1
    if os.environ.get("AXES_PROXY_COUNT", "").strip():
        legacy["AXES_PROXY_COUNT"] = env_int("AXES_PROXY_COUNT", 0)
    if count < 0:
        values = set(legacy.values())
        if len(values) > 1:
            raise ImproperlyConfigured(
                "DJANGO_BEHIND_TLS_PROXY and AXES_PROXY_COUNT disagree; set PORTAL_TRUSTED_PROXY_COUNT instead."
            )
        return values.pop() if values else 0
    for name, value in legacy.items():
        if value != count and not (name == "DJANGO_BEHIND_TLS_PROXY" and count >= 1):
            raise ImproperlyConfigured(f"{name} disagrees with PORTAL_TRUSTED_PROXY_COUNT={count}; remove {name}.")
    return count


PORTAL_TRUSTED_PROXY_COUNT = trusted_proxy_count()
# Behind a proxy the scheme comes from X-Forwarded-Proto, which the proxy must set (and overwrite).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PORTAL_TRUSTED_PROXY_COUNT else None
# django-axes and DRF identify clients with the same function; django-ipware is not used.
AXES_CLIENT_IP_CALLABLE = "cooperation.middleware.client_ip"
REST_FRAMEWORK["NUM_PROXIES"] = PORTAL_TRUSTED_PROXY_COUNT
# Sessions: staff (who reach the admin) are signed out after this many seconds without a request,
# and this many seconds after signing in whatever they do; others keep SESSION_COOKIE_AGE (14 days).
STAFF_SESSION_IDLE_SECONDS = env_int("STAFF_SESSION_IDLE_MINUTES", 30) * 60
STAFF_SESSION_MAX_SECONDS = env_int("STAFF_SESSION_MAX_HOURS", 12) * 3600
if STAFF_SESSION_IDLE_SECONDS <= 0 or STAFF_SESSION_MAX_SECONDS < STAFF_SESSION_IDLE_SECONDS:
    raise ImproperlyConfigured(
        "STAFF_SESSION_IDLE_MINUTES must be positive and STAFF_SESSION_MAX_HOURS at least as long."
    )
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"

# One format for web, worker and beat: ISO 8601 in UTC (portal/logging.py).
LOGGING_CONFIG = "logging.config.dictConfig"
LOGGING = logging_config(os.environ.get("DJANGO_LOG_LEVEL", "INFO"))

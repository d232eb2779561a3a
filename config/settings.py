"""SeatLock settings: everything that varies between machines comes from the environment.

Every variable is listed, with its default, in README.md and .env.example.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SEATLOCK_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: a fixed key so that sessions survive a restart of `make run`.
    SECRET_KEY = "dev-insecure-seatlock-key-change-me-0123456789-abcdefghijklmnop"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "crispy_forms",
    "crispy_bootstrap5",
    "huey.contrib.djhuey",
    "axes",
    "django_prometheus",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "halls",
    "booking",
    "checkout",
    "boxoffice",
    "api",
]

MIDDLEWARE = [
    # First, so that it also sees a failure of a later middleware (the session save).
    "config.outage.OutageMiddleware",
    # Right after it (it must stay first): the request count and latency cover all below.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Inside the outage layer (which turns a lost database into a JSON 503): any other error
    # page under /api/ (a 404 of the URL resolver, a 500) becomes JSON too.
    "api.middleware.JsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.locale.LocaleMiddleware",  # Django's, minus path lookups no URL here needs
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Next to last (django-prometheus wants it last, django-axes too): so it counts the
    # lockout page's 429 that AxesMiddleware makes of a refused login.
    "config.prometheus.PrometheusAfterMiddleware",  # django-prometheus', its series kept
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "config.context_processors.seatlock",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED_DATABASE = not DATABASE_URL
if EMBEDDED_DATABASE:
    # Only the URL (the port this checkout's server remembers, else the default): the server is
    # started by manage.py, `make run` and the test session, never by importing settings.
    from config import embedded_db

    DATABASE_URL = embedded_db.configured(VAR_DIR).url()

DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("SeatLock needs PostgreSQL (row locks): DATABASE_URL must be postgresql://")
# Django's PostgreSQL backend with query and connection counters (django-prometheus), its
# connection health check made only after the connection sat idle (config/database/base.py).
DATABASES["default"]["ENGINE"] = "config.database"
DB_HEALTH_CHECK_IDLE_SECONDS = env_float("DB_HEALTH_CHECK_IDLE_SECONDS", 1.0)
DATABASES["default"].setdefault("OPTIONS", {})
# Bounded: a server that accepts but never answers fails the request (503, config/outage.py)
# instead of holding its worker; granian (the seat map's pool) has no worker timeout to cut it.
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5, minimum=1))
# Parameters sent beside the statement (PostgreSQL's extended protocol) instead of quoted into
# its text by psycopg: a hold's call has twenty of them, and quoting them was a tenth of the
# request's Python CPU. Django still prepares nothing (prepare_threshold stays None), so a
# transaction-pooling PgBouncer works as before. 0: psycopg's client-side binding (Django's default).
DATABASES["default"]["OPTIONS"]["server_side_binding"] = env_bool("DB_SERVER_SIDE_BINDING", True)
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, sessions --------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, with one client per pool instead of one per call (config/cache.py)
            "BACKEND": "config.cache.SharedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "seatlock",
            # Bounded, as the queue's below: every poll and session read waits on this Redis,
            # and the seat map's pool (granian) has no worker timeout to end a hung request.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
    SESSION_ENGINE = "config.sessions.cached_db"  # Django's, a session written in one statement
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "config.sessions.db"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14

# --- background work (Huey) -------------------------------------------------------------------
HUEY = {
    "name": env_str("HUEY_NAME", "seatlock"),
    # Immediate mode never runs scheduled tasks (and djhuey turns it on with DEBUG), so it is
    # always set explicitly: off unless asked for.
    "immediate": env_bool("HUEY_IMMEDIATE", False),
    "utc": True,
    "consumer": {
        "workers": env_int("HUEY_WORKERS", 2, minimum=1),
        "worker_type": "thread",
        "periodic": True,
        "check_worker_health": True,
    },
}
if REDIS_URL:
    import redis

    HUEY["huey_class"] = "huey.RedisHuey"
    # Bounded timeouts: /healthz and a request that enqueues must never hang on a dead Redis.
    HUEY["connection"] = {
        "connection_pool": redis.ConnectionPool.from_url(
            REDIS_URL, socket_connect_timeout=2, socket_timeout=5
        )
    }
else:
    HUEY["huey_class"] = "config.huey.SqliteHuey"  # creates var/ on first use, not at import
    HUEY["connection"] = {"filename": env_str("HUEY_SQLITE_PATH", str(VAR_DIR / "huey.sqlite3"))}

# --- the booking rules ------------------------------------------------------------------------
HOLD_MINUTES = env_int("HOLD_MINUTES", 15, minimum=1)
# Tests and demos may shorten a hold to seconds; when set it wins over HOLD_MINUTES.
HOLD_SECONDS = env_int("HOLD_SECONDS", 0, minimum=0) or HOLD_MINUTES * 60
MAX_SEATS_PER_ORDER = env_int("MAX_SEATS_PER_ORDER", 10, minimum=1)
# The counter's own cap: staff sell a school class or a birthday party in one sale. It is the
# larger one by intent, so a value below the online cap is a mistake, refused at start.
BOX_OFFICE_MAX_SEATS_PER_ORDER = env_int(
    "BOX_OFFICE_MAX_SEATS_PER_ORDER", max(50, MAX_SEATS_PER_ORDER), minimum=1
)
if BOX_OFFICE_MAX_SEATS_PER_ORDER < MAX_SEATS_PER_ORDER:
    raise ImproperlyConfigured(
        f"BOX_OFFICE_MAX_SEATS_PER_ORDER ({BOX_OFFICE_MAX_SEATS_PER_ORDER}) may not be lower than "
        f"MAX_SEATS_PER_ORDER ({MAX_SEATS_PER_ORDER}): the counter's cap is the larger one."
    )
SALES_CLOSE_MINUTES = env_int("SALES_CLOSE_MINUTES", 15, minimum=0)
# Time limits that agree: a hold taken just before online sales close must end (and its
# payment page be closed) by the showtime's start, so no payment completes for a film that
# has begun (one that still does is refunded). Hence a hold may not outlast the close window.
if HOLD_SECONDS > SALES_CLOSE_MINUTES * 60:
    raise ImproperlyConfigured(
        "The hold (HOLD_MINUTES/HOLD_SECONDS) may not be longer than SALES_CLOSE_MINUTES: "
        "a hold taken just before sales close would outlast the showtime's start."
    )
SEAT_LOCK_TIMEOUT_MS = env_int("SEAT_LOCK_TIMEOUT_MS", 3000, minimum=1)
# No stranded seats (docs/seat-choice.md): online holds and releases that would leave a single
# free seat on its own are refused, per cinema (Cinema.orphan_rule; ORPHAN_RULE=0 turns it off
# everywhere), while at least ORPHAN_RULE_MIN_FREE_PERCENT of the showtime's seats are free:
# below that the last seats sell in any shape.
ORPHAN_RULE = env_bool("ORPHAN_RULE", True)
ORPHAN_RULE_MIN_FREE_PERCENT = env_int("ORPHAN_RULE_MIN_FREE_PERCENT", 10, minimum=0)
# How long a web process keeps a showtime (film, start, prices, hall) in memory for the seat
# map, holds and releases (booking.selectors.showtime_for_request). Edits saved in the same
# process are seen at once; in other processes within this many seconds. 0 reads it every time.
SHOWTIME_CACHE_SECONDS = env_float("SHOWTIME_CACHE_SECONDS", 2.0)
CURRENCY = env_str("CURRENCY", "eur").lower()
# A cap on orders still holding seats from one IP address (a whole office behind one NAT
# stays far below it; a script hoarding seats does not).
MAX_OPEN_ORDERS_PER_IP = env_int("MAX_OPEN_ORDERS_PER_IP", 30, minimum=1)

# --- abuse limits: (per browser session, per IP, window seconds); 0 switches a limit off ----
RATE_LIMITS = {
    "hold": (
        env_int("RATE_LIMIT_HOLD_PER_SESSION", 60, minimum=0),
        env_int("RATE_LIMIT_HOLD_PER_IP", 600, minimum=0),
        env_int("RATE_LIMIT_WINDOW_SECONDS", 60, minimum=1),
    ),
    "checkout": (
        env_int("RATE_LIMIT_CHECKOUT_PER_SESSION", 10, minimum=0),
        env_int("RATE_LIMIT_CHECKOUT_PER_IP", 60, minimum=0),
        env_int("RATE_LIMIT_WINDOW_SECONDS", 60, minimum=1),
    ),
}
# What a database or Redis outage tells clients to wait before trying again (503 Retry-After).
OUTAGE_RETRY_AFTER_SECONDS = env_int("OUTAGE_RETRY_AFTER_SECONDS", 5, minimum=1)
# How many reverse proxies in front of the app add X-Forwarded-For (0: use the peer address).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# --- metrics (GET /metrics, docs/operations.md "Metrics") -------------------------------------
# Who may read them: these addresses or networks (the client as TRUSTED_PROXY_COUNT sees it),
# or anyone sending `Authorization: Bearer <METRICS_TOKEN>`; everyone else gets a 404.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_IPS: {_network!r} is not an address or network"
        ) from None
METRICS_TOKEN = env_str("METRICS_TOKEN")
# prometheus_client switches to multiprocess mode when the variable merely exists: an empty one
# would write its files into the working directory.
if (
    "PROMETHEUS_MULTIPROC_DIR" in os.environ
    and not Path(os.environ["PROMETHEUS_MULTIPROC_DIR"] or "-").is_dir()
):
    raise ImproperlyConfigured("PROMETHEUS_MULTIPROC_DIR must name an existing directory (or be left out).")
# The Huey consumer is not behind /metrics (its expiries are): set METRICS_WORKER_PORT in the
# worker's environment only and django-prometheus serves that process' metrics on that port.
PROMETHEUS_METRICS_EXPORT_PORT = env_int("METRICS_WORKER_PORT", 0, minimum=0) or None
PROMETHEUS_METRICS_EXPORT_ADDRESS = env_str("METRICS_WORKER_ADDRESS", "127.0.0.1")
# The migrations gauge would query the database at every start; `migrate` in the deploy says it.
PROMETHEUS_EXPORT_MIGRATIONS = False
# --- the JSON API (api/, docs/api.md) -------------------------------------------------------
# Requests per window: reads without a key count per IP (/64), anything with a key per key.
API_RATE_LIMITS = {
    "ip": env_int("API_RATE_LIMIT_PER_IP", 300, minimum=0),
    "key": env_int("API_RATE_LIMIT_PER_KEY", 1200, minimum=0),
    "window": env_int("API_RATE_LIMIT_WINDOW_SECONDS", 60, minimum=1),
}
# Orders holding seats at once per API key (a kiosk or partner site replaces the per-IP cap).
API_MAX_OPEN_ORDERS_PER_KEY = env_int("API_MAX_OPEN_ORDERS_PER_KEY", 100, minimum=1)
API_IDEMPOTENCY_HOURS = env_int("API_IDEMPOTENCY_HOURS", 24, minimum=1)
REST_FRAMEWORK = {
    # Keys only: a browser session is never accepted under /api/, so no CSRF applies there.
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SeatLock API",
    "DESCRIPTION": "Showtimes, seats and orders for apps, kiosks and partner sites (docs/api.md).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- payments (Stripe) ------------------------------------------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
# Seconds one Stripe API call may take before it counts as failed (retried twice).
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 10, minimum=1)
# With no real secret key, the SDK talks to the bundled simulator (dev and tests only).
STRIPE_SIMULATOR = not STRIPE_SECRET_KEY.startswith(("sk_live_", "sk_test_", "rk_"))
STRIPE_API_BASE = env_str(
    "STRIPE_API_BASE", "http://127.0.0.1:12111" if STRIPE_SIMULATOR else "https://api.stripe.com"
)
# Where the browser is sent to pay: the CSP's form-action must allow it.
STRIPE_CHECKOUT_ORIGIN = env_str(
    "STRIPE_CHECKOUT_ORIGIN", STRIPE_API_BASE if STRIPE_SIMULATOR else "https://checkout.stripe.com"
)
if STRIPE_SIMULATOR:
    STRIPE_SECRET_KEY = STRIPE_SECRET_KEY or "sk_test_simulator"
    STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET or "whsec_simulator"

# --- email ------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# An SMTP server that stops answering must not hold a worker forever (the email task retries).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SeatLock <tickets@seatlock.localhost>")

# --- i18n, time -------------------------------------------------------------------------------
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
# German is complete (locale/de, compiled by `make messages`, .mo files committed); the language
# comes from the switcher's cookie, else Accept-Language (LocaleMiddleware), else LANGUAGE_CODE.
LANGUAGES = [("en", _("English")), ("de", _("Deutsch"))]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- static files -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- staff and admin logins: django-axes throttles at authenticate(), so both are covered ----
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
# Username and address together: whoever guesses a password is locked out, but cannot lock a
# colleague out of the same account from another place.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "booking.ratelimit.client_network"
AXES_LOCKOUT_CALLABLE = "booking.ratelimit.login_lockout_response"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True  # Retry-After relies on it

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "box_office:dashboard"
LOGOUT_REDIRECT_URL = "booking:home"

# --- security ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    if TRUSTED_PROXY_COUNT:
        # Without a proxy in front, any client could send this header and pass as HTTPS.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # probes and scrapers inside the network
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"drop_conflicts": {"()": "config.logfilters.DropConflicts"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A 409 is counted (seatlock_holds_total by outcome), not logged: config/logfilters.py.
        "django.request": {"filters": ["drop_conflicts"]},
        "huey": {"level": "INFO"},
    },
}

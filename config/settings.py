"""Settings, read from the environment (CONTRACT.md §2).

Nothing set means the embedded default: SQLite next to manage.py, Celery tasks run eagerly
in-process, SMS go to the built-in simulator, addresses are geocoded from the bundled gazetteer.
Production sets DATABASE_URL (PostgreSQL) and REDIS_URL (Celery broker and results).
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# --- Django core -----------------------------------------------------------------------------

# The default key only suits a laptop; any deployment sets SECRET_KEY.
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production")
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- HTTPS and cookies -------------------------------------------------------------------------

# Behind a TLS-terminating proxy the webhook URL Twilio signed is https: trust the proxy's
# header, as `HEADER,value`. The proxy must set it on every request (nginx:
# `proxy_set_header X-Forwarded-Proto $scheme;`); set it empty when nothing sits in front.
_proxy_ssl_header = env.list(
    "SECURE_PROXY_SSL_HEADER", default=["HTTP_X_FORWARDED_PROTO", "https"]
)
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if len(_proxy_ssl_header) == 2 else None
# Off by default so that `make run` works over plain http; README "Deploying" lists the
# values a deployment sets, with which `manage.py check --deploy` is clean.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
# Twilio's webhooks must not be redirected: it would not follow to https with the POST.
SECURE_REDIRECT_EXEMPT = [r"^webhooks/"]
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "axes",
    "csp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "phonenumber_field",
    "simple_history",
    "franchises",
    "clients",
    "workers",
    "ratings",
    "messaging",
    "dispatch",
    "billing",
    "web",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "web.middleware.UserLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, so that it sees a login refused for a lock-out and answers with the login page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "franchises.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
# Logging out returns to the console's own login page, not the admin's.
LOGOUT_REDIRECT_URL = LOGIN_URL
# django-axes first: it refuses a locked-out login before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The project's own versions of library templates (the API docs page, without inline
        # style or script so that it passes the Content-Security-Policy).
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.navigation.menu",
            ],
        },
    },
]

# The embedded default shares one file between the web process's threads and its in-process
# sweeper. WAL lets readers proceed during a write, and the timeout turns a brief lock into a
# wait. Transactions take the write lock when they begin (IMMEDIATE): a deferred one that read
# first cannot upgrade to a write once another connection has committed, and SQLite fails it
# at once ("database is locked") instead of waiting out the timeout.
SQLITE_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
# Set but empty counts as unset, as for every other variable here.
DATABASES = {
    "default": env.db_url_config(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    # psycopg 3 sends parameters apart from the SQL (server-side binding), so the same query
    # is the same text every time and psycopg prepares it on a connection after five runs:
    # PostgreSQL then skips parsing and planning it, which took about a third of its CPU per
    # inbound SMS. A pooler in transaction mode (PgBouncer before 1.21) loses prepared
    # statements between transactions: set DATABASE_PREPARED_STATEMENTS=false behind one.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
    DATABASES["default"]["OPTIONS"].setdefault(
        "prepare_threshold", 5 if env.bool("DATABASE_PREPARED_STATEMENTS", default=True) else None
    )
    # Prepared, but planned for each call's values: after five runs PostgreSQL may settle on a
    # generic plan, and for the candidate search (a latitude/longitude box whose size and
    # crowding vary by order) that plan was 4-7 times slower than the one the actual box gets.
    # Planning these queries costs tens of microseconds; parsing stays saved.
    custom_plans = "-c plan_cache_mode=force_custom_plan"
    options = DATABASES["default"]["OPTIONS"].get("options", "")
    if "plan_cache_mode" not in options:
        DATABASES["default"]["OPTIONS"]["options"] = f"{options} {custom_plans}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
# One catalogue for the whole project: page texts and the messages services raise.
LOCALE_PATHS = [BASE_DIR / "locale"]
# The console's named date formats ("CONSOLE_DAY_FORMAT"...) per language, beside Django's.
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# WhiteNoise warns at every start when the collected-files folder is missing.
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
# Serve app static files straight from their packages, so `make run` needs no collectstatic.
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "media"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The twilio client logs every request's headers at INFO.
        "twilio.http_client": {"level": "WARNING"},
        # django-axes logs every failed login at INFO besides its WARNING for the failure.
        "axes": {"level": "WARNING"},
    },
}

# Content-Security-Policy (django-csp): scripts, styles, fonts and requests only from this
# origin. No page has inline script, style or on*= handlers (a test reads every template),
# htmx is told not to inject its style, and the API docs load Swagger UI's files from the
# sidecar package with its start-up script as a file of its own. Images may also be data:
# URIs, which Swagger UI's stylesheet uses for its icons. CSP_REPORT_URI, when set, is where
# browsers report what the policy blocked.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
if _csp_report_uri := env.str("CSP_REPORT_URI", default=""):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [_csp_report_uri]

# --- Logins --------------------------------------------------------------------------------

# Failed logins (the login page, the admin's, the API's token exchange) are counted by
# django-axes per username and per address, separately: after LOGIN_FAILURE_LIMIT failures
# for either, every attempt for it is refused, the right password included, until
# LOGIN_COOLOFF_MINUTES have passed since the last one. A success clears the count.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_COOLOFF_MINUTES = env.float("LOGIN_COOLOFF_MINUTES", default=15.0)
# Proxies in front of the app that append to X-Forwarded-For (nginx: 1); 0 reads the socket.
LOGIN_TRUSTED_PROXY_COUNT = env.int("LOGIN_TRUSTED_PROXY_COUNT", default=0)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_CLIENT_IP_CALLABLE = "franchises.auth.client_ip"
AXES_LOCKOUT_CALLABLE = "franchises.auth.lockout_response"
# One line per failure and lock-out is enough; the access log table keeps the rest.
AXES_VERBOSE = False
# Mail, for password resets only: without EMAIL_HOST the reset pages do not exist (404).
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crewdispatch@localhost")
# API tokens are refused this many hours after they were issued; the next exchange of
# username and password issues a fresh one. POST /api/v1/auth/logout/ revokes one at once.
API_TOKEN_TTL_HOURS = env.float("API_TOKEN_TTL_HOURS", default=12.0)

# --- API -------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes anonymous requests 401, not 403.
        "franchises.auth.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "core.filters.ScopedFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Crew dispatch API",
    "DESCRIPTION": "Orders, workers, SMS call-outs, leads and royalties of the franchise network.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # The docs page loads Swagger UI from the sidecar package: it works with no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would otherwise fetch a validation badge from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # Error answers (400/401/403/404/429) documented per operation, with their shapes.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.document_errors",
    ],
}

# --- Celery ----------------------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
# The in-memory transport names a host so that kombu does not warn about a missing one.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or None
# Without a broker, tasks run in the caller's process: the embedded default and most tests.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# A task whose worker died is delivered again; every task is idempotent (it re-checks its row).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A broker outage heals by itself: workers and beat reconnect at start-up and after a lost
# connection, for as long as it takes (None: no limit), and nothing waits for a person.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Tasks running when the connection drops finish their work: each claims its rows in
# PostgreSQL, so the copy the broker delivers again after the reconnection finds them done.
# Cancelling them instead could stop a send between Twilio's answer and the row's update,
# and the row would be sent twice after its lease.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# A task not acknowledged within this many seconds is delivered again (Redis has no
# acknowledgement of its own). Tasks are short, and timed work lives in rows, not countdowns.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
# A publish to a dead broker must fail fast: the outbox row is already committed and the
# sweeper sends it later, so the caller should not hang waiting for Redis.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 1, "interval_start": 0, "interval_step": 0.2,
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
}
CELERY_TASK_PUBLISH_RETRY = False
# Beat writes a heartbeat to Redis on every tick, read by `manage.py health --beat`.
CELERY_BEAT_SCHEDULER = "config.celery:HeartbeatScheduler"
BEAT_HEARTBEAT_KEY = "crewdispatch:beat-heartbeat"
# Beat counts as stopped when its heartbeat is older than this (seconds).
BEAT_HEARTBEAT_MAX_AGE = env.float("BEAT_HEARTBEAT_MAX_AGE", default=120.0)

# --- Integrations: SMS -----------------------------------------------------------------------

SMS_BACKEND = env.str("SMS_BACKEND", default="simulator")  # simulator | console | twilio
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="")
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="")
# Where the one-tap offer links point (the `link` reply channel).
OFFER_LINK_BASE = env.str("OFFER_LINK_BASE", default=PUBLIC_BASE_URL or "http://127.0.0.1:8000")
# Segments per second one sender may push: a long code takes about 1, a messaging service more.
SMS_SENDER_RATE_PER_SECOND = env.float("SMS_SENDER_RATE_PER_SECOND", default=10.0)
SMS_PRICE_PER_SEGMENT = Decimal(env.str("SMS_PRICE_PER_SEGMENT", default="0.05"))
SMS_MAX_SEND_ATTEMPTS = env.int("SMS_MAX_SEND_ATTEMPTS", default=6)
# An outbox row a worker took for sending is its for this long (seconds); if the worker was
# killed mid-send, the sweeper gives the row to another worker afterwards.
SMS_SENDING_LEASE_SECONDS = env.float("SMS_SENDING_LEASE_SECONDS", default=600.0)

# --- Integrations: geocoding -----------------------------------------------------------------

GEOCODER = env.str("GEOCODER", default="offline")  # offline | nominatim
NOMINATIM_DOMAIN = env.str("NOMINATIM_DOMAIN", default="nominatim.openstreetmap.org")
NOMINATIM_SCHEME = env.str("NOMINATIM_SCHEME", default="https")
NOMINATIM_USER_AGENT = env.str("NOMINATIM_USER_AGENT", default="crewdispatch/0.1")
# The public server allows one request a second for a whole application; self-hosted, set 0.
NOMINATIM_MIN_DELAY_SECONDS = env.float("NOMINATIM_MIN_DELAY_SECONDS", default=1.0)
NOMINATIM_TIMEOUT = env.float("NOMINATIM_TIMEOUT", default=5.0)
# Extra attempts after a timeout or a 5xx, at least a second apart; a web request waits for them.
NOMINATIM_MAX_RETRIES = env.int("NOMINATIM_MAX_RETRIES", default=1)

# --- Dispatch --------------------------------------------------------------------------------

DEFAULT_PHONE_REGION = env.str("DEFAULT_PHONE_REGION", default="RU")
PHONENUMBER_DEFAULT_REGION = DEFAULT_PHONE_REGION
PHONENUMBER_DB_FORMAT = "E164"
# Default bill and pay rates per worker-hour when an order names none and no rate card applies.
DEFAULT_BILL_RATE = Decimal(env.str("DEFAULT_BILL_RATE", default="220.00"))
DEFAULT_PAY_RATE = Decimal(env.str("DEFAULT_PAY_RATE", default="100.00"))
# A lead not accepted within this many minutes goes to the next candidate franchise.
LEAD_SLA_MINUTES = env.int("LEAD_SLA_MINUTES", default=15)
# How long an Idempotency-Key (and a console form's key) is remembered: a retry within this
# many hours gets the first answer; after it the key may be used afresh.
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
# Timed steps: a sweeper that claimed a step holds it this long (seconds); if it died, the
# step is run again once the lease has run out.
STEP_LEASE_SECONDS = env.float("STEP_LEASE_SECONDS", default=600.0)
# A step found this long (seconds) past its moment, e.g. after the servers were down for a
# night, is closed as missed with a log line instead of being run: reminders of a shift that
# is over are not sent, and absent crews of old orders do not become no-shows.
STEP_STALE_AFTER = env.float("STEP_STALE_AFTER", default=6 * 3600.0)

# The call-out: waves of offers, widening radius, batch assignment, reminders.
DISPATCH = {
    # Workers are offered a job within these radii (km), wave by wave.
    "WAVE_RADII_KM": [10.0, 20.0, 35.0, 60.0],
    "WAVE_INTERVAL_MINUTES": env.float("DISPATCH_WAVE_INTERVAL_MINUTES", default=10.0),
    # Never more than this many offers per worker needed, nor more than the hard cap.
    "MAX_OFFERS_PER_SLOT": 8,
    "MAX_OFFERS_PER_ORDER": 400,
    # Acceptances are collected for this long, then all open orders of a franchise are
    # assigned at once (the optimiser sees the whole picture, not first come first served).
    "BATCH_WINDOW_MINUTES": env.float("DISPATCH_BATCH_WINDOW_MINUTES", default=2.0),
    # Standby: the next best acceptors, up to this share of the headcount (at least one).
    "STANDBY_SHARE": 0.2,
    # Share of each batch's places reserved for newcomers and the least-served who accepted,
    # so new people can build a history instead of starving behind the veterans.
    "FAIRNESS_SHARE": 0.1,
    "NEWCOMER_MAX_SHIFTS": 3,
    # Cost terms of the optimiser (CONTRACT.md §5) and the service layer's own terms.
    "WEIGHTS": {"distance_per_km": 1.0, "rating_point": 2.0, "unreliability": 10.0},
    "FAVOURITE_BONUS": 3.0,
    # Adaptive booking: the chance that at least the headcount shows up.
    "ADAPTIVE_SHOW_TARGET": 0.95,
    # Adaptive orders choose among acceptors by cost plus this much per unit of a worker's
    # chance of not turning up (one unit of cost is a kilometre of travel).
    "ADAPTIVE_SHOW_WEIGHT": 20.0,
    # Priors for workers with no offer history (reply rate, accept rate once replied).
    "PRIOR_REPLY_RATE": 0.6,
    "PRIOR_ACCEPT_RATE": 0.5,
    "PRIOR_WEIGHT": 4.0,
    # Reminders: the evening before (local time) and this long before the start.
    "EVENING_REMINDER_HOUR": 19,
    "FINAL_REMINDER_HOURS": 2.0,
    # Confirmed workers silent after both reminders this long before start get a standby
    # worker called in beside them.
    "SILENCE_CHECK_MINUTES": 60.0,
    # Attendance refuses hours beyond the shift's length plus this much overtime.
    "MAX_OVERTIME_HOURS": env.float("MAX_OVERTIME_HOURS", default=4.0),
    "NO_SHOW_GRACE_MINUTES": env.float("NO_SHOW_GRACE_MINUTES", default=30.0),
}

# --- Console -----------------------------------------------------------------------------------

# The board marks an order at risk when it starts within this many hours with fewer workers
# confirmed than it needs.
BOARD_AT_RISK_HOURS = env.float("BOARD_AT_RISK_HOURS", default=3.0)

# --- Workers ---------------------------------------------------------------------------------

# A worker's photo: JPEG, PNG or WebP up to this size. It is stored re-encoded as a JPEG of at
# most WORKER_PHOTO_MAX_SIDE pixels a side, without the camera's metadata (which can hold the
# place it was taken), and served only to logged-in staff, never as a public media file.
WORKER_PHOTO_MAX_BYTES = env.int("WORKER_PHOTO_MAX_BYTES", default=5 * 1024 * 1024)
WORKER_PHOTO_MAX_SIDE = env.int("WORKER_PHOTO_MAX_SIDE", default=1600)

# --- Periodic jobs ---------------------------------------------------------------------------

# Each is a task that picks up rows whose due time has passed, with how often it runs
# (seconds). Beat runs them on a real cluster; `manage.py serve` runs them in-process when
# there is no broker.
PERIODIC_INTERVAL_SECONDS = env.float("PERIODIC_INTERVAL_SECONDS", default=5.0)
PERIODIC_JOBS: list[tuple[str, float]] = [
    ("messaging.tasks.sweep_outbox", PERIODIC_INTERVAL_SECONDS),
    ("dispatch.tasks.run_due_steps", PERIODIC_INTERVAL_SECONDS),
    ("clients.tasks.reroute_expired_leads", 30.0),
    ("ratings.tasks.refresh_fading_ratings", 3600.0),
    # Last month's royalty statements appear within the hour after the month turns.
    ("billing.tasks.issue_due_statements", 3600.0),
]
CELERY_BEAT_SCHEDULE = {
    path.rsplit(".", 1)[-1]: {"task": path, "schedule": every} for path, every in PERIODIC_JOBS
}

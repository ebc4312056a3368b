"""Settings for the compliance portal.

Every setting comes from the environment with a default that fails closed: ``DEBUG`` is off
unless set, a missing ``SECRET_KEY`` stops the process outside debug, and the security
settings a production deployment needs are on unless explicitly turned off. ``.env.example``
lists every variable.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal import api_settings, environment
from portal.beat_schedule import beat_schedule
from portal.environment import env_bool, env_int, env_list, env_str, local_database_dir
from portal.operations.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core ------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (see .env.example); "
            "only a DEBUG=1 development server may run without one."
        )
    SECRET_KEY = "django-insecure-local-development-only-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: runserver serves static files through whitenoise, as in production.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # PostgreSQL's operator classes for indexes (customers/migrations/0016); inert on SQLite.
    "django.contrib.postgres",
    "rest_framework",
    # Before authtoken: the first app listed wins a command name, and portal's
    # ``drf_create_token`` (the two-factor enrolment rule) replaces DRF's.
    "portal",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "guardian",
    "simple_history",
    "customers",
    "consent",
    "incidents",
    # Login lockout, TOTP two-factor, Content-Security-Policy (their settings: at the end).
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    # Operations (portal/operations/): health probes, Prometheus metrics, JSON logs.
    "health_check",
    "django_prometheus",
    "django_structlog",
]

MIDDLEWARE = [
    # First and last: request counts and latencies of everything below (django-prometheus).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header on every answer, static files included.
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Cache-Control: no-store on every answer after the static files (portal/cache_control.py).
    "portal.cache_control.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the page: the chooser's cookie, else the browser's Accept-Language
    # (after sessions, before CommonMiddleware); a signed-in person's saved choice wins below.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Pages in the person's time zone (User.time_zone, else TIME_ZONE): portal/display.py.
    "portal.display.TimeZoneMiddleware",
    # A signed-in person's saved language (User.language) over the browser's: portal/languages.py.
    "portal.languages.PersonLanguageMiddleware",
    # The request id and user id on every log line of the request (after auth: reads the user).
    "django_structlog.middlewares.RequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Two-factor and idle logout: after auth and messages (the idle logout leaves a message).
    "django_otp.middleware.OTPMiddleware",
    "portal.security.IdleTimeoutMiddleware",
    "portal.security.OTPRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "portal.audit.AuditContextMiddleware",
    # NUL characters in a path, query string or form: a 400 naming the field
    # (portal/input_limits.py).
    "portal.input_limits.InputLimitsMiddleware",
    # The portal's 404/400/500 pages even with DEBUG on (portal/error_pages.py).
    "portal.error_pages.ErrorPagesMiddleware",
    # A service's NotAllowed escaping a view: the 403 page (portal/refusals.py).
    "portal.refusals.NotAllowedMiddleware",
    # Last but the metrics: it turns its lockout exception into the lockout page.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "portal.User"

# Django's renderer with selects written in Python (portal/renderers.py): a large company's
# lists of owners and assets have hundreds to thousands of options.
FORM_RENDERER = "portal.renderers.PortalFormRenderer"
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
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
                "portal.context_processors.roles",
                "portal.context_processors.notifications",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------
DATABASE = dj_database_url.parse(
    env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
    conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    conn_health_checks=True,
)
RANDOM_PAGE_COST = env_str("DATABASE_RANDOM_PAGE_COST", "1.1")  # environment.with_planner_costs
PREPARE_THRESHOLD = env_str("DATABASE_PREPARE_THRESHOLD", "5")  # with_prepared_statements
DATABASE = environment.with_prepared_statements(DATABASE, PREPARE_THRESHOLD)
DATABASES = {"default": environment.with_planner_costs(DATABASE, RANDOM_PAGE_COST)}
# The consent states' covering index has PostgreSQL's INCLUDE; SQLite's warning is noise.
SILENCED_SYSTEM_CHECKS = ["models.W040"] if "sqlite3" in DATABASES["default"]["ENGINE"] else []
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication --------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: a locked-out person is refused even with the right password.
    "axes.backends.AxesStandaloneBackend",
    # Local passwords only as LOCAL_LOGIN allows (break-glass administrators under SSO).
    "portal.sso.backends.LocalLoginGate",
    "django.contrib.auth.backends.ModelBackend",
    # OpenID Connect sign-in (answers only the callback, and only when OIDC_ISSUER is set).
    "portal.sso.backends.SingleSignOnBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# guardian: no anonymous user row; nobody holds an object permission without logging in.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# --- Security (production is the default) ----------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]  # probes come over the internal HTTP
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
# The language chooser's cookie (portal/languages.py): sent like the session's, never to scripts.
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    # Only behind a proxy that sets X-Forwarded-Proto itself and strips it from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
# Database sessions that know their person, so a leaver's are ended by an index.
SESSION_ENGINE = "portal.sessions"

# --- Internationalisation --------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
# The languages people may read the portal in (portal/languages.py; docs/languages.md says how
# to add one: a .po file under locale/ and a line here).
LANGUAGES = [("en-gb", "English"), ("nb", "Norsk bokmål")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Oslo")
USE_I18N = True
USE_TZ = True
# One format for dates, times and numbers, per language (portal/formats/, portal/display.py);
# numbers print with grouped thousands ("1,200"), ids in addresses and forms with |unlocalize.
FORMAT_MODULE_PATH = ["portal.formats"]
USE_THOUSAND_SEPARATOR = True

# --- Static files (served by whitenoise, no CDN) ---------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
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

# --- E-mail ----------------------------------------------------------------------------
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
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "compliance-portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Cache -------------------------------------------------------------------------------
# Shared by every web process (consent.coverage_cache): CACHE_URL, else REDIS_URL. Without
# either each process keeps its own in memory, right only for one (the demo's runserver).
CACHE_URL = env_str("CACHE_URL", env_str("REDIS_URL"))
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "portal",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Coverage of assets of at least this many customers is cached, for at most these seconds.
COVERAGE_CACHE_MIN_CUSTOMERS = env_int("COVERAGE_CACHE_MIN_CUSTOMERS", 1000)
COVERAGE_CACHE_SECONDS = env_int("COVERAGE_CACHE_SECONDS", 600)
COMPILED_QUERIES_CHECK = env_bool("COMPILED_QUERIES_CHECK", DEBUG)  # compiled_queries.py

# --- Celery ----------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# Without Redis the in-memory transport, named with a host: a bare "memory://" makes kombu warn
# "No hostname was supplied" at the first task of every process (the demo's seeding, its
# first request), though the transport needs none.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
# Results are not used by any task (the outcome is on the Notification row); a task that
# needs one opts in with ignore_result=False and finds the backend on the same Redis.
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 24 * 60 * 60
# Without Redis, tasks run in-process; services queue them on commit, so they still run
# only after the transaction that caused them has committed.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A task is acknowledged only once it has finished, and a worker killed mid-task (SIGKILL,
# OOM) hands its message back: nothing in flight is lost. Tasks must therefore be
# idempotent; notification delivery is (a conditional claim, see portal.notifications).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# One message reserved per worker process: a killed worker strands as few as possible.
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 120)
CELERY_TASK_SOFT_TIME_LIMIT = max(1, CELERY_TASK_TIME_LIMIT - 10)
# Redis hands an unacknowledged message to another worker after this many seconds; it must
# exceed the longest countdown of a retry, or the retry would run twice (harmless, wasteful).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 2 * 60 * 60)
}
# Several deployments (or test runs) can share one Redis by using their own queue.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "portal")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Queuing happens in the web request after commit: when Redis is down, give up within about
# a second (the row stays pending for the outbox sweep) instead of hanging the request.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.3,
    "interval_max": 0.5,
}
# A tick whose publish failed stays due (portal/scheduled_jobs.py); the jobs are below.
CELERY_BEAT_SCHEDULER = "portal.scheduled_jobs:CatchUpScheduler"
# How often the catch-up job looks (seconds), and how late past its period a job may be
# before it is queued by the catch-up rather than waited for.
SCHEDULED_JOBS_CATCH_UP_INTERVAL = env_int("SCHEDULED_JOBS_CATCH_UP_INTERVAL", 60)
SCHEDULED_JOBS_CATCH_UP_GRACE = env_int("SCHEDULED_JOBS_CATCH_UP_GRACE", 60)

# --- Notifications ---------------------------------------------------------------------
# Where links in e-mails point (notifications store paths), e.g. https://portal.example.com
PORTAL_URL = env_str("PORTAL_URL", "http://127.0.0.1:8000" if DEBUG else "").rstrip("/")
# Characters of a notification's body kept in the inbox and e-mailed; longer text (an incident
# description, a reason, a note) is cut there with "… (continued in the portal)" and the link.
NOTIFICATION_BODY_MAX_CHARS = max(200, env_int("NOTIFICATION_BODY_MAX_CHARS", 3000))
# A pending notification older than this is re-queued by the outbox sweep.
NOTIFICATION_SWEEP_AGE = env_int("NOTIFICATION_SWEEP_AGE", 60)
NOTIFICATION_SWEEP_INTERVAL = env_int("NOTIFICATION_SWEEP_INTERVAL", 60)
NOTIFICATION_SWEEP_BATCH = env_int("NOTIFICATION_SWEEP_BATCH", 2000)
# Failed sends wait RETRY_BACKOFF seconds, doubling per attempt up to RETRY_BACKOFF_MAX;
# Celery retries MAX_RETRIES times, then the sweep keeps trying at the capped interval.
NOTIFICATION_RETRY_BACKOFF = env_int("NOTIFICATION_RETRY_BACKOFF", 30)
NOTIFICATION_RETRY_BACKOFF_MAX = env_int("NOTIFICATION_RETRY_BACKOFF_MAX", 60 * 60)
NOTIFICATION_MAX_RETRIES = env_int("NOTIFICATION_MAX_RETRIES", 5)
# A claim older than this belongs to a worker that died mid-send: the row is claimable
# again. Longer than the task time limit, so a live worker's claim never goes stale.
NOTIFICATION_CLAIM_TIMEOUT = env_int("NOTIFICATION_CLAIM_TIMEOUT", CELERY_TASK_TIME_LIMIT + 60)
if NOTIFICATION_CLAIM_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "NOTIFICATION_CLAIM_TIMEOUT must be longer than CELERY_TASK_TIME_LIMIT, or a slow "
        "but live send could be claimed and sent a second time."
    )
# A row the mail server accepted is marked sent at once; a failed write of that mark is
# retried this many times (0.25 s doubling to 4 s: about 12 s for 6) before the task hands
# the fact to its retry. A delivery interrupted by the database is retried at once, up to
# NOTIFICATION_INTERRUPTED_RETRIES times (every 30 s at most: 50 cover about 25 minutes).
NOTIFICATION_MARK_SENT_RETRIES = env_int("NOTIFICATION_MARK_SENT_RETRIES", 6)
NOTIFICATION_INTERRUPTED_RETRIES = env_int("NOTIFICATION_INTERRUPTED_RETRIES", 50)
# An alert about undelivered notifications is not repeated to an officer who has an unread
# one younger than this (seconds): a thousand refused addresses are one alert, not forty.
NOTIFICATION_UNDELIVERED_ALERT_INTERVAL = env_int("NOTIFICATION_UNDELIVERED_ALERT_INTERVAL", 3600)

# --- Incidents -------------------------------------------------------------------------
# Reports unacknowledged after INCIDENT_ACK_SLA minutes are escalated (again every SLA); the
# deadline jobs run every INCIDENT_JOB_SECONDS, so a reminder goes out at most that late.
INCIDENT_ACK_SLA = env_int("INCIDENT_ACK_SLA", 60)
INCIDENT_JOB_SECONDS = env_int("INCIDENT_JOB_SECONDS", 60)
# Misuse signals (incidents/misuse_signals.py): evaluated every MISUSE_SIGNALS_INTERVAL s.
MISUSE_SIGNALS_INTERVAL = env_int("MISUSE_SIGNALS_INTERVAL", 300)
MISUSE_REFUSALS_COUNT = env_int("MISUSE_REFUSALS_COUNT", 3)
MISUSE_REFUSALS_DAYS = env_int("MISUSE_REFUSALS_DAYS", 30)
MISUSE_PROXY_DAYS = env_int("MISUSE_PROXY_DAYS", 7)
MISUSE_EXPORT_FACTOR = env_int("MISUSE_EXPORT_FACTOR", 5)
MISUSE_EXPORT_MIN_ROWS = env_int("MISUSE_EXPORT_MIN_ROWS", 1000)
MISUSE_EXPORT_BASELINE_DAYS = env_int("MISUSE_EXPORT_BASELINE_DAYS", 90)
MISUSE_BREADTH_ASSETS = env_int("MISUSE_BREADTH_ASSETS", 10)

# --- Access grants ---------------------------------------------------------------------
# How often expired grants lose their object permissions (reads refuse them at once).
GRANT_EXPIRY_INTERVAL = env_int("GRANT_EXPIRY_INTERVAL", 300)

# --- Audit trail -----------------------------------------------------------------------
# Where anchors of the audit chain's head are written (daily). Outside the database on
# purpose: in production, a directory the database administrators cannot write (another
# host's mount, write-once storage), so rewriting the database alone cannot hide a truncation.
# In development each local database has its own (``var/audit-anchors/<name>-<hash>``): the
# demo, the scale data and a test's database must never read one another's heads, or an
# untouched log is reported truncated.
_ANCHORS_DEFAULT = BASE_DIR / "var" / "audit-anchors"
if DEBUG:
    _ANCHORS_DEFAULT = local_database_dir(_ANCHORS_DEFAULT, DATABASES["default"])
AUDIT_ANCHOR_DIR = Path(env_str("AUDIT_ANCHOR_DIR", str(_ANCHORS_DEFAULT)))
# HMAC keys of the audit links ("id:secret,...", first seals) and the checkpoints' Ed25519 key.
AUDIT_KEYS = env_str("AUDIT_KEYS", "dev:insecure-development-audit-key" if DEBUG else "")
AUDIT_SIGNING_KEY_FILE = env_str("AUDIT_SIGNING_KEY_FILE", "")

# --- Consent import ----------------------------------------------------------------------
# A page upload of more rows than this is imported by a Celery job with a progress page;
# up to this many rows are imported in the request (well within the worker timeout).
CONSENT_IMPORT_SYNC_MAX_ROWS = env_int("CONSENT_IMPORT_SYNC_MAX_ROWS", 2000)
# Largest file the page accepts (bytes); 100,000 rows are about 7 MB.
CONSENT_IMPORT_MAX_BYTES = env_int("CONSENT_IMPORT_MAX_BYTES", 50 * 1024 * 1024)
# Hard time limit of one import job (seconds), in place of CELERY_TASK_TIME_LIMIT, which is
# sized for short tasks; keep it below CELERY_VISIBILITY_TIMEOUT.
CONSENT_IMPORT_TIME_LIMIT = env_int("CONSENT_IMPORT_TIME_LIMIT", 60 * 60)
# A job still running this many seconds past the time limit (or still queued this long past
# CELERY_VISIBILITY_TIMEOUT) has no live worker: the sweep marks it failed and empties its file.
CONSENT_IMPORT_ABANDON_MARGIN = env_int("CONSENT_IMPORT_ABANDON_MARGIN", 10 * 60)

# --- External sharing ------------------------------------------------------------------
# How often expired packages' files are deleted (downloads refuse them at once).
SHARING_PACKAGE_DELETE_INTERVAL = env_int("SHARING_PACKAGE_DELETE_INTERVAL", 60 * 60)
# The controller and DPO named in the record of processing activities (GDPR Art. 30(1)(a)).
RECORD_CONTROLLER = env_str("RECORD_CONTROLLER", "The company (set RECORD_CONTROLLER)")
RECORD_DPO_CONTACT = env_str("RECORD_DPO_CONTACT", "")

# --- Idempotent creates -----------------------------------------------------------------
# Seconds an Idempotency-Key answers a create's first outcome (IETF draft, Stripe: 24 h).
IDEMPOTENCY_KEY_TTL = env_int("IDEMPOTENCY_KEY_TTL", 24 * 60 * 60)

# --- Scheduled jobs (`celery -A portal beat`) -------------------------------------------
# Each job, with its reason, is in portal/beat_schedule.py; the periods are the settings above.
CELERY_BEAT_SCHEDULE = beat_schedule(
    catch_up_interval=SCHEDULED_JOBS_CATCH_UP_INTERVAL,
    notification_sweep_interval=NOTIFICATION_SWEEP_INTERVAL,
    incident_job_seconds=INCIDENT_JOB_SECONDS,
    grant_expiry_interval=GRANT_EXPIRY_INTERVAL,
    sharing_package_delete_interval=SHARING_PACKAGE_DELETE_INTERVAL,
    misuse_signals_interval=MISUSE_SIGNALS_INTERVAL,
)

# --- Django REST framework and the API schema -------------------------------------------
# Plain data, the same in every deployment: each entry with its reason in portal/api_settings.py.
REST_FRAMEWORK = api_settings.REST_FRAMEWORK
SPECTACULAR_SETTINGS = api_settings.SPECTACULAR_SETTINGS

# --- Logging ---------------------------------------------------------------------------
# JSON lines (portal/operations/logs.py); with tasks run in-process (the local demo) Celery's
# line per finished task says nothing the request's own line does not, so it is left out.
LOGGING = logging_config(env_str("LOG_LEVEL", "INFO"), tasks_in_process=CELERY_TASK_ALWAYS_EAGER)
# Request id into queued tasks, no IP (personal data), one line per request/task ("started": DEBUG).
DJANGO_STRUCTLOG_CELERY_ENABLED, DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = True, False
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = DJANGO_STRUCTLOG_CELERY_TASK_START_LOG_LEVEL = 10
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "127.0.0.1,::1")  # others get 404 at /metrics

# --- Logins, two-factor, sessions and headers ------------------------------------------
# Apps and middleware are in the lists at the top; docs/security.md explains each setting.

# Lockout: AXES_FAILURE_LIMIT wrong passwords for one username from one IP address lock that
# pair for AXES_COOLOFF_MINUTES; a success resets the count. The IP is REMOTE_ADDR: behind a
# proxy, set AXES_CLIENT_IP_CALLABLE (or install django-ipware) so it is the client's.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Beside it, AXES_IP_FAILURE_LIMIT wrong passwords from one address, whatever the names,
# block that address for every name for AXES_COOLOFF_MINUTES: password spraying tries one
# password on many names and never reaches the per-name limit. Higher than that limit, so a
# few people mistyping on a shared office address are not blocked (portal.security).
AXES_IP_FAILURE_LIMIT = env_int("AXES_IP_FAILURE_LIMIT", 30)
AXES_HANDLER = "portal.security.AddressLimitAxesHandler"
AXES_RESET_ON_SUCCESS = True
# The lock lasts the cool-off from the lockout itself; more tries while locked are refused
# and recorded but do not push the end further away.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Not the full request: axes' own access log is off, the audit trail records logins.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # lockouts go to the audit trail and the security log instead

# Two-factor: members of Compliance and Legal and superusers must verify a TOTP device
# before any page but enrolment, verification and logout. OTP_REQUIRED=0 only for the local
# demo (``make run``); ``check --deploy`` warns when it is off (portal.W001).
OTP_REQUIRED = env_bool("OTP_REQUIRED", True)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Compliance portal")
# The admin lists and deletes devices (a lost phone) but never shows their secret or QR
# code: an administrator could otherwise copy anyone's second factor.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Single sign-on with OpenID Connect: off while OIDC_ISSUER is empty (the local demo);
# each setting with its reason in portal/sso/config.py.
from portal.sso.config import *  # noqa: E402, F403 (the OIDC_* settings and LOCAL_LOGIN)

# Sessions: logged out after SESSION_IDLE_TIMEOUT seconds without a request (30 minutes).
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 30 * 60)
# ... and SESSION_ABSOLUTE_TIMEOUT seconds after the login in any case (8 hours), however
# active: the clock starts at the login and no request moves it (portal/security.py).
SESSION_ABSOLUTE_TIMEOUT = env_int("SESSION_ABSOLUTE_TIMEOUT", 8 * 60 * 60)

# Content-Security-Policy: scripts, styles and everything else from this site only; no
# inline script anywhere (templates load static files). data: images for Bootstrap's icons.
# The API docs page relaxes styles only (portal.urls, csp_update on that view).
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

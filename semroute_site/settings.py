"""semroute settings: one module, driven by environment variables (see README)."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .env import database_from_url, env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

_INSECURE_KEY = "django-insecure-semroute-embedded-default"
DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", _INSECURE_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
if not DEBUG:
    # The same bar as Django's security.W009: 50+ characters, 5+ distinct, not the insecure prefix.
    if (
        SECRET_KEY == _INSECURE_KEY
        or SECRET_KEY.startswith("django-insecure-")
        or len(SECRET_KEY) < 50
        or len(set(SECRET_KEY)) < 5
    ):
        raise ImproperlyConfigured(
            "DEBUG=0 needs a real SECRET_KEY: at least 50 random characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DEBUG=0 needs ALLOWED_HOSTS (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# HTTPS. Production (DEBUG=0) is HTTPS-only by default: redirect, Secure cookies, HSTS. Behind a
# TLS-terminating proxy set SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO (the proxy must set
# X-Forwarded-Proto and strip it from clients). The health check stays reachable over plain HTTP
# for load balancers.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health$", r"^metrics$"]  # load balancers, Prometheus
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
_proxy_header = env_str("SECURE_PROXY_SSL_HEADER")
if _proxy_header:
    if not _proxy_header.startswith("HTTP_"):
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER={_proxy_header!r} must name a request header as Django sees "
            "it, e.g. HTTP_X_FORWARDED_PROTO."
        )
    SECURE_PROXY_SSL_HEADER = (_proxy_header, "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "ninja",  # /api/docs loads its bundled Swagger UI from static files, never a CDN
    "routing",
    "analytics",
]

MIDDLEWARE = [
    "semroute_site.errors.ErrorShapeMiddleware",  # outermost: sees every response and view error
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "semroute_site.urls"
WSGI_APPLICATION = "semroute_site.wsgi.application"

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
                "analytics.alerts.context.open_alerts",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(env_str("DATABASE_URL"), base_dir=BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "semroute_site.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: no broker configured means eager mode (tasks run in-process, after commit).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# Eager Celery still builds a producer (to pick a serializer): without a broker URL it would be an
# amqp://localhost one. An in-memory one needs nothing (semroute_site/celery.py gives it a host).
CELERY_BROKER_TRANSPORT = "memory" if CELERY_TASK_ALWAYS_EAGER else None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Eager mode: tasks no request waits for (the LLM judge) run on a background thread of the process
# (semroute_site/celery.py: task_send_unawaited); 1 runs them inline, in the request (tests).
SEMROUTE_EAGER_TASKS_INLINE = env_bool("SEMROUTE_EAGER_TASKS_INLINE", False)

# Routing engine
# minilm-l6-v2-int8-fast: the packaged int8 MiniLM with int8 arithmetic. On CLINC150 it scores
# as the float32-arithmetic minilm-l6-v2-int8 does, at about half the time per query
# (bench/RESULTS.md). Changing the encoder recomputes every example vector under the new name.
SEMROUTE_ENCODER = env_str("SEMROUTE_ENCODER", "minilm-l6-v2-int8-fast")
if not (
    SEMROUTE_ENCODER in ("minilm-l6-v2-int8", "minilm-l6-v2-int8-fast")
    or SEMROUTE_ENCODER.startswith("openai:")
):
    raise ImproperlyConfigured(
        f"SEMROUTE_ENCODER={SEMROUTE_ENCODER!r} is unknown; use 'minilm-l6-v2-int8-fast' (local, "
        "int8 arithmetic, default), 'minilm-l6-v2-int8' (local, float32 arithmetic) "
        "or 'openai:<embedding model>' (e.g. openai:text-embedding-3-small)."
    )
SEMROUTE_ENCODER_THREADS = env_int("SEMROUTE_ENCODER_THREADS", 1, minimum=1)
SEMROUTE_EMBED_BATCH_SIZE = env_int("SEMROUTE_EMBED_BATCH_SIZE", 64, minimum=1)
SEMROUTE_MAX_QUERY_CHARS = env_int("SEMROUTE_MAX_QUERY_CHARS", 8000, minimum=1)
# Config documents (PUT /api/v1/routers/<slug>/config only; gzip bodies bounded once decompressed).
SEMROUTE_MAX_CONFIG_BYTES = env_int("SEMROUTE_MAX_CONFIG_BYTES", 64 * 1024 * 1024, minimum=1)
# Extra environment variables a tier may name as its provider key (routing/provider_keys.py).
SEMROUTE_PROVIDER_KEY_VARS = env_list("SEMROUTE_PROVIDER_KEY_VARS", [])

# Decision log: rows wait in a bounded per-worker buffer and are written in bulk off the request path.
SEMROUTE_DECISION_LOG_FLUSH_SECONDS = (
    env_int("SEMROUTE_DECISION_LOG_FLUSH_MS", 500, minimum=10) / 1000
)
SEMROUTE_DECISION_LOG_BATCH_SIZE = env_int("SEMROUTE_DECISION_LOG_BATCH_SIZE", 500, minimum=1)
SEMROUTE_DECISION_LOG_MAX_PENDING = env_int("SEMROUTE_DECISION_LOG_MAX_PENDING", 20000, minimum=1)
# With Redis: how long a worker trusts a clean circuit it read, and sums today's tier usage
# before sending it (routing/providers/breaker.py, calls.py); 0 asks / sends on every call.
SEMROUTE_CIRCUIT_NEAR_SECONDS = env_int("SEMROUTE_CIRCUIT_NEAR_MS", 500, minimum=0) / 1000
SEMROUTE_USAGE_FLUSH_SECONDS = env_int("SEMROUTE_USAGE_FLUSH_MS", 1000, minimum=0) / 1000

# Review queue (analytics/review): re-asks, low-confidence margin, random sample, duplicate collapse.
SEMROUTE_REASK_SIMILARITY = env_float("SEMROUTE_REASK_SIMILARITY", 0.85, minimum=-1.0, maximum=1.0)
SEMROUTE_REASK_WINDOW_SECONDS = env_int("SEMROUTE_REASK_WINDOW_SECONDS", 300, minimum=1)
SEMROUTE_REVIEW_CONFIDENCE_MARGIN = env_float(
    "SEMROUTE_REVIEW_CONFIDENCE_MARGIN", 0.05, minimum=0.0, maximum=1.0
)
SEMROUTE_REVIEW_SAMPLE_RATE = env_float(
    "SEMROUTE_REVIEW_SAMPLE_RATE", 0.01, minimum=0.0, maximum=1.0
)
SEMROUTE_REVIEW_DUPLICATE_SIMILARITY = env_float(
    "SEMROUTE_REVIEW_DUPLICATE_SIMILARITY", 0.95, minimum=-1.0, maximum=1.0
)

# GET /api/v1/health shows hosts and driver errors only to a valid API key, or to all when set.
SEMROUTE_HEALTH_DETAILS = env_bool("SEMROUTE_HEALTH_DETAILS", False)

# Dashboards (analytics/dashboards, analytics/metrics.py, analytics/alerts): raw decisions older
# than this many days are deleted after their hours are rolled up (0 keeps them forever); the
# rollups are kept. GET /metrics needs this Bearer token when set, else only loopback callers.
SEMROUTE_DECISION_RETENTION_DAYS = env_int("SEMROUTE_DECISION_RETENTION_DAYS", 90, minimum=0)
SEMROUTE_METRICS_TOKEN = env_str("SEMROUTE_METRICS_TOKEN")
CELERY_BEAT_SCHEDULE = {
    "rollup-hourly": {"task": "analytics.dashboards.tasks.rollup_task", "schedule": 300.0},
    "decision-retention": {
        "task": "analytics.dashboards.tasks.retention_task",
        "schedule": 86400.0,
    },
    "alert-webhooks-retry": {"task": "analytics.alerts.tasks.webhook_retry_task", "schedule": 60.0},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6 behaviour now; silences the transition warning

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    "loggers": {"semroute": {"level": env_str("LOG_LEVEL", "INFO")}},
}

"""Relabel settings: every value comes from the environment, with safe embedded defaults.

Embedded default: SQLite under var/, Celery eager (in-process), files under var/media.
Scale-out: set DATABASE_URL, CELERY_BROKER_URL, MEDIA_ROOT, ALLOWED_HOSTS, SECRET_KEY.
"""

import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from relabel.env import env_bool, env_decimal, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("RELABEL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        if not DEBUG and (len(key) < 50 or len(set(key)) < 5):
            raise ImproperlyConfigured("SECRET_KEY is too weak: use at least 50 random characters")
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (or SECRET_KEY_FILE)")
    key_file = VAR_DIR / "dev-secret-key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "relabel.devserver",  # runserver without Nagle's 40 ms stalls; before whitenoise's runserver, which it wraps
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "annotation",
    "tasks",
    "models_zoo",
    "label1000",
    "demo",
    "analytics",
    "relabel",  # relabel/admin.py: the account admin (after django.contrib.auth, whose admin it replaces)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "relabel.urls"
WSGI_APPLICATION = "relabel.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'relabel.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE: a transaction takes the write lock when it begins, waiting up to `timeout`. With the
    # default DEFERRED, two processes that read and then write (inference workers storing chunks) could
    # deadlock on the lock upgrade, and SQLite then fails one at once with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Browsers keep static files for a minute instead of revalidating every one of them on each HIT page (the
# demo server runs with DEBUG, where whitenoise's default is 0); production's hashed names stay cached a year.
WHITENOISE_MAX_AGE = env_int("WHITENOISE_MAX_AGE", 60)
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

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/annotate/"

DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 2000)

# Security headers; production hardening switches on when DEBUG is off.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers and the TLS proxy probe health over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Images: refuse anything above this many pixels (decompression bombs).
RELABEL_MAX_IMAGE_PIXELS = env_int("RELABEL_MAX_IMAGE_PIXELS", 89_478_485)
RELABEL_THUMBNAIL_SIZE = env_int("RELABEL_THUMBNAIL_SIZE", 256)
RELABEL_SAMPLES_DIR = Path(
    env_str("RELABEL_SAMPLES_DIR", str(BASE_DIR.parent / "shared" / "datasets" / "imagenet-samples"))
)
# 1000-way labeling: optional folder of example images per class (`<wnid>*.JPEG` or `<wnid>/`), e.g.
# ../shared/datasets/imagenet-samples; empty: examples come from the dataset's own images.
RELABEL_EXEMPLAR_DIR = env_str("RELABEL_EXEMPLAR_DIR", "")
RELABEL_PUBLIC_BASE_URL = env_str("RELABEL_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
RELABEL_WORKER_ID_SALT = env_str("RELABEL_WORKER_ID_SALT", SECRET_KEY)
RELABEL_GOLD_MIN_ACCURACY = env_float("RELABEL_GOLD_MIN_ACCURACY", 0.75)
# After syncing an adaptive batch, build draft top-up HITs for its undecided items (never publishes).
RELABEL_TOP_UP_AFTER_SYNC = env_bool("RELABEL_TOP_UP_AFTER_SYNC", False)
# HIT pages: origins (scheme://host[:port]) besides MTurk's own that may frame them and receive the
# externalSubmit form, e.g. the simulator "http://127.0.0.1:8765".
RELABEL_MTURK_SUBMIT_HOSTS = env_list("RELABEL_MTURK_SUBMIT_HOSTS", [])
RELABEL_SUBMIT_TOKEN_MAX_AGE = env_int("RELABEL_SUBMIT_TOKEN_MAX_AGE", 7 * 24 * 3600)

# Crowd providers (tasks/providers). MTurk credentials come only from boto3's chain (AWS_* env
# variables or MTURK_AWS_PROFILE), never from settings. MTURK_ENDPOINT_URL is the simulator's address.
MTURK_ENDPOINT_URL = env_str("MTURK_ENDPOINT_URL", "http://127.0.0.1:8765")
MTURK_AWS_PROFILE = env_str("MTURK_AWS_PROFILE", "")
MTURK_MAX_ATTEMPTS = env_int("MTURK_MAX_ATTEMPTS", 8)
MTURK_SIMULATOR_STATE = Path(env_str("MTURK_SIMULATOR_STATE", str(VAR_DIR / "mturk-simulator.json")))
# The access key id the simulator's requester API accepts (SigV4 Credential) and the simulator target signs
# with. Not a secret: the simulator only checks that requests come from a client configured for it.
MTURK_SIMULATOR_ACCESS_KEY_ID = env_str("MTURK_SIMULATOR_ACCESS_KEY_ID", "simulator")
RELABEL_SYNC_INTERVAL_SECONDS = env_int("RELABEL_SYNC_INTERVAL_SECONDS", 300)
# Prolific (tasks/prolific.py). The API token is read from PROLIFIC_API_TOKEN or PROLIFIC_API_TOKEN_FILE
# at call time and never kept in settings. PROLIFIC_API_URL may point at `manage.py prolific_sim`.
PROLIFIC_API_URL = env_str("PROLIFIC_API_URL", "https://api.prolific.com")
PROLIFIC_SIMULATOR_URL = env_str("PROLIFIC_SIMULATOR_URL", "http://127.0.0.1:8766")
PROLIFIC_SIMULATOR_STATE = Path(env_str("PROLIFIC_SIMULATOR_STATE", str(VAR_DIR / "prolific-simulator.json")))
# Where a participant is sent after the last HIT (`?cc=<code>` is added); the simulator's is /_sim/complete.
PROLIFIC_COMPLETION_URL = env_str("PROLIFIC_COMPLETION_URL", "https://app.prolific.com/submissions/complete")
PROLIFIC_MAX_ATTEMPTS = env_int("PROLIFIC_MAX_ATTEMPTS", 6)
PROLIFIC_TIMEOUT_SECONDS = env_float("PROLIFIC_TIMEOUT_SECONDS", 30.0)
# Prolific's service fee on rewards and bonuses (docs/crowd.md says where the rate comes from; check it
# on prolific.com/pricing before a production run: it differs for academic and corporate accounts).
PROLIFIC_SERVICE_FEE_RATE = env_decimal("PROLIFIC_SERVICE_FEE_RATE", "0.333")
# Workspace whose balance is checked before publishing (empty: the balance is not checked).
PROLIFIC_WORKSPACE_ID = env_str("PROLIFIC_WORKSPACE_ID", "")
# Participant group that `block` adds participants to; studies exclude it through a blocklist filter.
PROLIFIC_BLOCKLIST_GROUP_ID = env_str("PROLIFIC_BLOCKLIST_GROUP_ID", "")
PROLIFIC_SECONDS_PER_HIT = env_int("PROLIFIC_SECONDS_PER_HIT", 60)
# The most one bonus may pay (US$): a guard against typing 50 for 0.50, in the admin and `pay_bonus`.
RELABEL_MAX_BONUS = env_decimal("RELABEL_MAX_BONUS", "5.00")
if RELABEL_MAX_BONUS <= 0:
    raise ImproperlyConfigured(f"RELABEL_MAX_BONUS={RELABEL_MAX_BONUS} must be positive")
# The most all the bonuses of one assignment may pay together (US$), whatever their reasons.
RELABEL_MAX_BONUS_PER_ASSIGNMENT = env_decimal("RELABEL_MAX_BONUS_PER_ASSIGNMENT", "10.00")
if RELABEL_MAX_BONUS_PER_ASSIGNMENT < RELABEL_MAX_BONUS:
    raise ImproperlyConfigured(
        f"RELABEL_MAX_BONUS_PER_ASSIGNMENT={RELABEL_MAX_BONUS_PER_ASSIGNMENT} is below "
        f"RELABEL_MAX_BONUS={RELABEL_MAX_BONUS}: raise it to at least the per-payment cap"
    )

# Models (models_zoo): device "auto" picks CUDA when present.
RELABEL_INFERENCE_DEVICE = env_str("RELABEL_INFERENCE_DEVICE", "auto")
RELABEL_FEATURE_MODEL = env_str("RELABEL_FEATURE_MODEL", "efficientnet_lite0")
RELABEL_CHUNK_SIZE = env_int("RELABEL_CHUNK_SIZE", 256)
# JSON list of extra models (inline or a path to a JSON file); format in models_zoo/registry.py.
RELABEL_EXTRA_MODELS = env_str("RELABEL_EXTRA_MODELS", "")
RELABEL_INFERENCE_BATCH_SIZE = env_int("RELABEL_INFERENCE_BATCH_SIZE", 0)  # 0: measured default per device
# "frozen": CPU models run as frozen TorchScript graphs, the CUDA ensemble as one captured CUDA graph
# (both measured faster); "eager": plain PyTorch.
RELABEL_INFERENCE_GRAPH = env_str("RELABEL_INFERENCE_GRAPH", "frozen")
if RELABEL_INFERENCE_GRAPH not in ("frozen", "eager"):
    raise ImproperlyConfigured(f"RELABEL_INFERENCE_GRAPH={RELABEL_INFERENCE_GRAPH!r}: use frozen or eager")
# -1: the CPU decodes in threads (or lanes), CUDA on the GPU; N > 0: N PIL loader processes
RELABEL_LOADER_WORKERS = env_int("RELABEL_LOADER_WORKERS", -1)
# CPU inference lanes (forked processes with one torch thread each); 1: a single process, 0: one per core.
RELABEL_INFERENCE_LANES = env_int("RELABEL_INFERENCE_LANES", 1)
if RELABEL_INFERENCE_LANES < 0:
    raise ImproperlyConfigured(f"RELABEL_INFERENCE_LANES={RELABEL_INFERENCE_LANES} must be 0 (one per core) or more")
RELABEL_CHUNK_LEASE_SECONDS = env_int("RELABEL_CHUNK_LEASE_SECONDS", 600)
RELABEL_REQUEUE_MIN_AGE_SECONDS = env_int("RELABEL_REQUEUE_MIN_AGE_SECONDS", 60)

# Celery: eager (in-process) unless a broker is configured.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_TASK_ROUTES = {"models_zoo.tasks.propose_chunk": {"queue": "inference"}}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BEAT_SCHEDULE = {
    "sync-assignments": {
        "task": "tasks.tasks.sync_published_batches",
        "schedule": float(RELABEL_SYNC_INTERVAL_SECONDS),
    },
    "requeue-lost-chunks": {
        "task": "models_zoo.tasks.requeue_lost_chunks",
        "schedule": float(env_int("RELABEL_REQUEUE_INTERVAL_SECONDS", 120)),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Relabel API",
    "DESCRIPTION": "Read and export datasets, candidates, selection frequencies and CLASSIFY results.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# --- Issue 19 items 1-3 (h19a): who may start an assignment, and for how long -----------------------
# Start limits count in Django's cache: set CACHE_URL (redis://...) wherever more than one web process
# runs, so that every process sees the same counts (without it each process counts on its own).
CACHE_URL = env_str("CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# New assignments per client address and per worker / participant id in one window (429 beyond).
RELABEL_START_WINDOW_SECONDS = env_int("RELABEL_START_WINDOW_SECONDS", 600)
RELABEL_STARTS_PER_CLIENT = env_int("RELABEL_STARTS_PER_CLIENT", 30)
RELABEL_STARTS_PER_WORKER = env_int("RELABEL_STARTS_PER_WORKER", 20)
# Reverse proxies in front of gunicorn (default: 1 behind the TLS proxy, else 0). The client address is the
# X-Forwarded-For entry that many hops from the right (the one our outermost proxy appended); 0 reads
# REMOTE_ADDR. Start limits (tasks.starts.client_address) and login throttling (django-axes) both use it.
RELABEL_TRUSTED_PROXY_COUNT = env_int("RELABEL_TRUSTED_PROXY_COUNT", 1 if env_bool("BEHIND_TLS_PROXY", False) else 0)
# Unfinished assignments one local annotator account may hold at once.
RELABEL_LOCAL_MAX_OPEN_ASSIGNMENTS = env_int("RELABEL_LOCAL_MAX_OPEN_ASSIGNMENTS", 3)
# Rows an MTurk HIT may hold beyond its places (returned assignments wait for their deadline).
RELABEL_HIT_OVERFILL_MARGIN = env_int("RELABEL_HIT_OVERFILL_MARGIN", 2)
for _name in ("RELABEL_START_WINDOW_SECONDS", "RELABEL_STARTS_PER_CLIENT", "RELABEL_STARTS_PER_WORKER",
              "RELABEL_LOCAL_MAX_OPEN_ASSIGNMENTS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name}={globals()[_name]} must be at least 1")
if RELABEL_HIT_OVERFILL_MARGIN < 0:
    raise ImproperlyConfigured(f"RELABEL_HIT_OVERFILL_MARGIN={RELABEL_HIT_OVERFILL_MARGIN} must be 0 or more")
# Accepted assignments past their deadline give their place back (tasks.tasks.abandon_overdue_assignments).
CELERY_BEAT_SCHEDULE["abandon-overdue-assignments"] = {
    "task": "tasks.tasks.abandon_overdue_assignments",
    "schedule": float(env_int("RELABEL_ABANDON_INTERVAL_SECONDS", 60)),
}
# --- end of issue 19 items 1-3 (h19a) -----------------------------------------------------------------

# ---- Issue 19, h19b: bounded JSON in the API; login throttling (django-axes) ---------------------
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["relabel.api_parsers.BoundedJSONParser"]

INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as django-axes requires
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_ENABLED = env_bool("RELABEL_LOGIN_THROTTLING", True)
AXES_FAILURE_LIMIT = env_int("RELABEL_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("RELABEL_LOGIN_COOLOFF_MINUTES", 15))
# Each entry locks on its own; "username+ip_address" is the pair (one address cannot lock a user out elsewhere).
AXES_LOCKOUT_PARAMETERS = [
    entry.split("+") if "+" in entry else entry
    for entry in env_list("RELABEL_LOGIN_LOCKOUT_PARAMETERS", ["username+ip_address", "ip_address"])
]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = RELABEL_TRUSTED_PROXY_COUNT or None
AXES_IPWARE_PROXY_ORDER = "right-most"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else [
    "REMOTE_ADDR"]

# Images: also refuse those whose full decode would hold more than this many bytes (pixels * bands *
# bytes per band); checking, transposing and thumbnailing hold a few copies of it at once.
RELABEL_MAX_IMAGE_DECODED_BYTES = env_int("RELABEL_MAX_IMAGE_DECODED_BYTES", 128 * 1024 * 1024)

# Candidates jobs do not wait in a worker: this beat task follows their chunks and finishes them.
CELERY_BEAT_SCHEDULE["watch-jobs"] = {
    "task": "analytics.tasks.watch_jobs",
    "schedule": float(env_int("RELABEL_JOB_WATCH_SECONDS", 10)),
}
# ---- end of issue 19, h19b ----------------------------------------------------------------------------

# create_hits --task classify follows up the images the CONTAINS selection frequencies call for;
# the aggregation layer decides which, and tasks (below it) finds that function by name.
RELABEL_CATEGORISE_IMAGES = "analytics.services.categorise_images"

"""Spendlens settings: one module, every value read from the environment.

The embedded defaults (SQLite, django-q2's ORM broker, console e-mail) let the demo run
with nothing installed; production sets DATABASE_URL, SECRET_KEY, ALLOWED_HOSTS and friends.
A value that cannot be parsed stops the process at start with the variable's name.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.aws_limits import parse_rate_limits
from config.broker import q_cluster
from config.cache import cache_setting

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for development; real deployments inject the environment.
env_file = BASE_DIR / ".env"
if env_file.exists():
    env.read_env(str(env_file))


def _read(name, cast, default):
    """Read NAME with CAST, turning parse errors into a message that names the variable."""
    try:
        return cast(name, default=default)
    except ImproperlyConfigured:
        raise
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"{name} has an invalid value ({env.str(name)!r}): {exc}"
        ) from exc


DEBUG = _read("DEBUG", env.bool, False)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-never-use-in-production")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random string of at least 32 characters when DEBUG is off "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )

ALLOWED_HOSTS = _read(
    "ALLOWED_HOSTS", env.list, ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = _read("CSRF_TRUSTED_ORIGINS", env.list, [])
for origin in CSRF_TRUSTED_ORIGINS:
    if not origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entries need a scheme (https://host), got {origin!r}."
        )

INSTALLED_APPS = [
    "config.apps.SpendlensAdminConfig",  # django.contrib.admin with the overview index
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "django_prometheus",
    "django_guid",
    "axes",
    "csp",
    # Single sign-on (accounts/sso.py): only allauth's OpenID Connect login; our own login,
    # signup and password pages stay (allauth.account is a requirement of socialaccount).
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    # No allauth.socialaccount.providers.openid_connect: accounts/provider.py registers ours.
    # The pipeline, in the order data flows (README, Architecture): each app imports only the
    # ones above it (import-linter contracts in pyproject.toml, checked by make lint).
    "accounts",
    "costs",
    "allocation",
    "commitments",
    "fleet",
    "findings",
    "actions",
    "alerts",
    "dashboard",
    "demo",
]

MIDDLEWARE = [
    # First, so that load-balancer probes by IP never meet ALLOWED_HOSTS or the SSL redirect.
    "config.health.HealthCheckMiddleware",
    # Request id (X-Request-ID in and out) on every log line of the request.
    "django_guid.middleware.guid_middleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Required by allauth.account; it only tidies allauth's own pending-login state.
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last but Prometheus: it turns a locked-out login into its own response.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# postgres:// URLs use Django's postgresql backend, which picks psycopg 3 when installed.
try:
    DATABASES = {
        "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    }
except (ImproperlyConfigured, ValueError, KeyError) as exc:
    raise ImproperlyConfigured(
        f"DATABASE_URL is not a usable database URL ({exc}); "
        "use postgres://user:pass@host:5432/name or sqlite:///path."
    ) from exc
if DATABASES["default"]["ENGINE"] not in (
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
):
    raise ImproperlyConfigured(
        f"DATABASE_URL must point at PostgreSQL or SQLite, got {DATABASES['default']['ENGINE']}."
    )
DATABASES["default"]["CONN_MAX_AGE"] = _read("DB_CONN_MAX_AGE", env.int, 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the qcluster share the demo's file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    )
else:
    # PostgreSQL's JIT compiles a query whose estimated cost is high, and the cost store's
    # estimates grow with the store: at 50M records a rollup refresh of one month spent 0.83 s
    # compiling and 0.04 s running (bench/cost_store_scaling.py). Spendlens's queries are short
    # and index-driven, so JIT is off per connection unless DB_JIT asks for it; what the URL
    # already passes in `options` is kept.
    if not _read("DB_JIT", env.bool, False):
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------
# Argon2id for new and changed passwords; older hashes still verify and are upgraded at login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    # Refuses a login while its (username, client IP) pair is locked out (django-axes).
    "axes.backends.AxesStandaloneBackend",
    # Refuses passwords of people whose organisations sign in with single sign-on only.
    "accounts.password_policy.SingleSignOnOnlyBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- Single sign-on (accounts/sso.py; README, Single sign-on) ----------------------------------
# Providers come from SingleSignOn rows (admin) and from SSO_PROVIDERS, a JSON list of objects
# with the same fields plus "organization" (the organisation's slug), e.g.
# [{"slug": "acme-okta", "organization": "acme", "name": "Okta", "issuer": "https://acme.okta.com",
#   "client_id": "...", "client_secret": "...", "group_roles": {"finops-admins": "admin"},
#   "email_domains": ["acme.com"], "domain_role": "viewer"}]
SSO_PROVIDERS = _read("SSO_PROVIDERS", env.json, [])
if not isinstance(SSO_PROVIDERS, list) or not all(isinstance(p, dict) for p in SSO_PROVIDERS):
    raise ImproperlyConfigured("SSO_PROVIDERS must be a JSON list of objects.")
ACCOUNT_ADAPTER = "accounts.sso.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.sso.SocialAccountAdapter"
# The identity provider has checked the address (we refuse email_verified: false ourselves).
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_REQUIRED = True
SOCIALACCOUNT_AUTO_SIGNUP = True
# Linking a provider's address to an existing account is decided by accounts/sso.py alone.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
# The buttons POST (with the CSRF token): a GET cannot start a login on someone's behalf.
SOCIALACCOUNT_LOGIN_ON_GET = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise serves them from the app container) ---------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (production values unless DEBUG; the ALB terminates TLS) ----------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = _read("SECURE_SSL_REDIRECT", env.bool, not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^metrics$"]
SESSION_COOKIE_SECURE = _read("SESSION_COOKIE_SECURE", env.bool, not DEBUG)
CSRF_COOKIE_SECURE = _read("CSRF_COOKIE_SECURE", env.bool, not DEBUG)
SECURE_HSTS_SECONDS = _read("SECURE_HSTS_SECONDS", env.int, 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# The preload directive alone changes nothing until someone submits the domain to the list.
SECURE_HSTS_PRELOAD = _read("SECURE_HSTS_PRELOAD", env.bool, not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): our own scripts, styles and images only; no inline
# script anywhere (data reaches scripts through json_script), no framing, no plugins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The admin's templates still carry a few style="" attributes; scripts stay strict.
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

# Login throttling (django-axes): 5 failures for one username from one address lock that pair
# out for 15 minutes; a success resets the count. Locking by the pair, not the username alone,
# means an attacker cannot lock a colleague out from elsewhere.
AXES_FAILURE_LIMIT = _read("AXES_FAILURE_LIMIT", env.int, 5)
AXES_COOLOFF_TIME = timedelta(minutes=_read("AXES_COOLOFF_MINUTES", env.int, 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
TRUSTED_PROXY_COUNT = _read("TRUSTED_PROXY_COUNT", env.int, 0)  # proxies in front of the ALB
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
SESSION_COOKIE_HTTPONLY = True

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Spendlens <spendlens@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Links in e-mails point here (the public URL of this deployment).
SITE_URL = _read("SITE_URL", env.url, "http://localhost:8000").geturl()


# --- Chat channels and webhooks (alerts/outbound.py) -----------------------------------------
# Hosts a channel may call although they resolve to a private address (an on-premise receiver,
# the tests' local receiver). Empty: only public addresses, the safe default.
WEBHOOK_ALLOWED_PRIVATE_HOSTS = _read("WEBHOOK_ALLOWED_PRIVATE_HOSTS", env.list, [])
# A CA bundle trusted in addition to the public CAs (certifi), for a receiver with a private CA.
WEBHOOK_CA_BUNDLE = _read("WEBHOOK_CA_BUNDLE", env.str, "")


# --- Monitoring links (the dashboard's Monitoring page; empty = not deployed) ----------------
def _link(name: str) -> str:
    url = _read(name, env.url, "")
    if url.geturl() and (url.scheme not in ("http", "https") or not url.netloc):
        raise ImproperlyConfigured(f"{name} must be an http(s) URL, got {url.geturl()!r}")
    return url.geturl()


GRAFANA_URL = _link("GRAFANA_URL")
PROMETHEUS_URL = _link("PROMETHEUS_URL")

# --- AWS ------------------------------------------------------------------------------------
# One endpoint override for every boto3 client: unset in production, the emulator locally.
AWS_ENDPOINT_URL = env.str("AWS_ENDPOINT_URL", default="") or None
AWS_DEFAULT_REGION = env.str("AWS_DEFAULT_REGION", default="us-east-1")
# The platform's own role (the ECS task role), which customers trust in their role's policy.
PLATFORM_ROLE_ARN = env.str(
    "PLATFORM_ROLE_ARN",
    default="arn:aws:iam::123456789012:role/spendlens-platform" if DEBUG else "",
)

# Per-API rate limits shared by every worker (config/aws_limits.py: name=rate[:burst],... or off).
AWS_API_RATE_LIMITS = parse_rate_limits(env.str("AWS_API_RATE_LIMITS", default=""))
# A call that would wait longer than this for its token fails instead (seconds).
AWS_API_RATE_MAX_WAIT = _read("AWS_API_RATE_MAX_WAIT", env.float, 60.0)

# Production e-mail: EMAIL_BACKEND=anymail.backends.amazon_ses.EmailBackend (SES v2 through
# boto3, so the same endpoint override and the task role's credentials apply).
ANYMAIL = {
    "AMAZON_SES_CLIENT_PARAMS": {
        "region_name": env.str("SES_REGION", default=AWS_DEFAULT_REGION),
        "endpoint_url": AWS_ENDPOINT_URL,
        "config": {"retries": {"mode": "standard", "max_attempts": 3}, "connect_timeout": 10},
    },
}

# --- Cost store ------------------------------------------------------------------------------
# Months the first Cost Explorer sync backfills (Cost Explorer keeps 13 months at most).
CE_BACKFILL_MONTHS = _read("CE_BACKFILL_MONTHS", env.int, 3)
if not 1 <= CE_BACKFILL_MONTHS <= 13:
    raise ImproperlyConfigured(
        f"CE_BACKFILL_MONTHS must be between 1 and 13, got {CE_BACKFILL_MONTHS}."
    )
# import_billing athena://...: how long the aggregation query may run before it is stopped
# (the workgroup's bytes-scanned cutoff bounds its cost; this bounds the wait).
ATHENA_QUERY_TIMEOUT_SECONDS = _read("ATHENA_QUERY_TIMEOUT_SECONDS", env.int, 600)
if ATHENA_QUERY_TIMEOUT_SECONDS < 1:
    raise ImproperlyConfigured(
        f"ATHENA_QUERY_TIMEOUT_SECONDS must be at least 1, got {ATHENA_QUERY_TIMEOUT_SECONDS}."
    )
# Monthly partitions of the cost store (PostgreSQL, costs/partitions.py): how many months after
# the current one the daily "cost-partitions" schedule creates ahead.
COST_PARTITIONS_AHEAD_MONTHS = _read("COST_PARTITIONS_AHEAD_MONTHS", env.int, 3)
if not 1 <= COST_PARTITIONS_AHEAD_MONTHS <= 60:
    raise ImproperlyConfigured(
        "COST_PARTITIONS_AHEAD_MONTHS must be between 1 and 60, "
        f"got {COST_PARTITIONS_AHEAD_MONTHS}."
    )
# Months of cost data kept before the current month (0 = keep forever): older months are
# dropped whole by the same schedule. Below the Cost Explorer backfill, every first sync would
# store months the next retention run drops again.
COST_RETENTION_MONTHS = _read("COST_RETENTION_MONTHS", env.int, 0)
if COST_RETENTION_MONTHS and not CE_BACKFILL_MONTHS <= COST_RETENTION_MONTHS <= 1200:
    raise ImproperlyConfigured(
        f"COST_RETENTION_MONTHS must be 0 (keep forever) or between CE_BACKFILL_MONTHS "
        f"({CE_BACKFILL_MONTHS}) and 1200 months, got {COST_RETENTION_MONTHS}."
    )
COST_SYNC_INTERVAL_MINUTES = _read("COST_SYNC_INTERVAL_MINUTES", env.int, 360)
INVENTORY_INTERVAL_MINUTES = _read("INVENTORY_INTERVAL_MINUTES", env.int, 60)
DETECTION_INTERVAL_MINUTES = _read("DETECTION_INTERVAL_MINUTES", env.int, 1440)
BUDGET_INTERVAL_MINUTES = _read("BUDGET_INTERVAL_MINUTES", env.int, 60)
ALERT_INTERVAL_MINUTES = _read("ALERT_INTERVAL_MINUTES", env.int, 15)
AUTO_STOP_INTERVAL_MINUTES = _read("AUTO_STOP_INTERVAL_MINUTES", env.int, 60)
SCHEDULE_INTERVAL_MINUTES = _read("SCHEDULE_INTERVAL_MINUTES", env.int, 5)
# Instance schedules e-mail the schedule's owner and the operators at least this many hours
# before an instance's first scheduled stop (actions/schedules.py).
SCHEDULE_NOTICE_HOURS = _read("SCHEDULE_NOTICE_HOURS", env.int, 12)
# Cost Explorer updates coverage and utilization once a day; each sync costs ~4+ requests.
COMMITMENT_SYNC_INTERVAL_MINUTES = _read("COMMITMENT_SYNC_INTERVAL_MINUTES", env.int, 1440)
# Commitment alerts (alerts/commitments.py): days before an expiry that each raise one alert,
# the utilization below which a day counts as underused and for how many days in a row, and the
# coverage drop (percentage points, last 3 days against the 7 before) worth an alert.
COMMITMENT_EXPIRY_ALERT_DAYS = sorted(
    {int(d) for d in _read("COMMITMENT_EXPIRY_ALERT_DAYS", env.list, ["90", "30", "7"])},
    reverse=True,
)
COMMITMENT_UTILIZATION_ALERT_PERCENT = _read(
    "COMMITMENT_UTILIZATION_ALERT_PERCENT", env.float, 95.0
)
COMMITMENT_UNDERUSED_DAYS = _read("COMMITMENT_UNDERUSED_DAYS", env.int, 3)
COVERAGE_DROP_ALERT_POINTS = _read("COVERAGE_DROP_ALERT_POINTS", env.float, 10.0)
if min(COMMITMENT_EXPIRY_ALERT_DAYS, default=0) < 1 or COMMITMENT_UNDERUSED_DAYS < 1:
    raise ImproperlyConfigured(
        "COMMITMENT_EXPIRY_ALERT_DAYS (comma-separated days) and COMMITMENT_UNDERUSED_DAYS must be "
        "positive numbers of days."
    )

# --- Cache ----------------------------------------------------------------------------------
# Shared by every process with redis:// or dbcache://TABLE; the default keeps each process's own
# (the API throttles then count per gunicorn worker). config/cache.py says what it holds.
CACHES = {"default": cache_setting(env.str("CACHE_URL", default="locmemcache://"))}

# --- Background work (django-q2) ------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Q_BROKER = orm | redis | sqs (default: redis with REDIS_URL, else orm); Q_SQS_QUEUE names the
# SQS queue. The dictionary, its checks and the brokers' trade-offs: config/broker.py.
Q_CLUSTER = q_cluster(os.environ, region=AWS_DEFAULT_REGION)

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# JSON lines on stdout (CloudWatch Logs and any log shipper parse them); LOG_FORMAT=plain for
# people reading a terminal (the demo). Each line of a request carries its request id.
LOG_FORMAT = _read("LOG_FORMAT", env.str, "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "django_guid.log_filters.CorrelationId"},
        "redact_secrets": {"()": "config.log_redaction.RedactSecrets"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
            "rename_fields": {
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "correlation_id": "request_id",
            },
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "django_guid": {"level": "WARNING"},  # one INFO line per request otherwise
        # "AXES: BEGIN ..." at INFO on every process start, every management command included;
        # lockouts and failed logins are warnings and still show.
        "axes": {"level": "WARNING"},
    },
}
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    # An incoming id that is not a UUID is replaced, so a client cannot write into our logs.
    "VALIDATE_GUID": True,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": True,
}

# --- Metrics (GET /metrics, config/metrics.py) -----------------------------------------------
# Prometheus sends "Authorization: Bearer <METRICS_TOKEN>". Without a token the endpoint is
# closed (403) unless DEBUG or METRICS_PUBLIC=1 (a local stack on a private network).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    # Also refuses Terraform's "UNSET" placeholder: fail closed until a real token is put.
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters (or unset)")
METRICS_PUBLIC = _read("METRICS_PUBLIC", env.bool, False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Authorization: Token <key>; keys are stored hashed (SHA-512) and can be revoked.
        "accounts.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": _read("API_THROTTLE_ANON", env.str, "60/minute"),
        "user": _read("API_THROTTLE_USER", env.str, "1200/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Spendlens API",
    "DESCRIPTION": "AWS cost control: costs, instances, recommendations, budgets, alerts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: deployments may be offline, the CSP stays strict.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets used by several fields get one stable name each.
    "ENUM_NAME_OVERRIDES": {
        "AlertKindEnum": "alerts.models.AlertKind",
        "ChannelKindEnum": "alerts.channel_models.Channel.Kind",
    },
}
# API tokens expire after a year unless revoked sooner (profile page or admin).
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=_read("API_TOKEN_TTL_DAYS", env.int, 365)),
    "AUTO_REFRESH": False,
}

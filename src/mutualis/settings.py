"""Settings of Mutualis.

One module: the defaults run the embedded demo (SQLite, local storage, console e-mail);
production differs only by environment values (see docs/operations.md). Secrets may be
given as ``NAME_FILE`` pointing to a file (django-environ's FileAwareEnv).
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(environ.Env().str("MUTUALIS_VAR_DIR", default=str(PROJECT_DIR / "var")))

env = environ.FileAwareEnv(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]"]),
)

DEBUG = env("DEBUG")
# The demo key is only good for a machine that nobody else reaches; production sets
# SECRET_KEY (or SECRET_KEY_FILE) and `check --deploy` refuses an insecure one.
SECRET_KEY = env.str(
    "SECRET_KEY", default="django-insecure-demo-key-never-use-in-production-0123456789"
)
# After a rotation, the previous keys (comma-separated): sessions, signed links and sealed
# secrets made under them stay readable (docs/operations.md, "Rotating SECRET_KEY").
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'mutualis.sqlite3'}"),
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Keep each worker's connection between requests: opening one (a server process
    # forked, a SCRAM exchange) cost more than all the queries of a directory page.
    # Checked before reuse; DATABASE_URL may set another age (?CONN_MAX_AGE=0 to close).
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # The planner's cost of reading a page out of order, for this platform's sessions.
    # PostgreSQL's 4.0 prices a disk seek; the platform's database is read from memory
    # or SSD (docs/operations.md). With 4.0, a search of the open consultations by
    # words ANDed two indexes, 5.6 ms, rather than reading the published ones' text
    # index, 1.0 ms (bench/RESULTS.md, "procurement search"). Empty: the server's own.
    _PAGE_COST = env.str("MUTUALIS_PG_RANDOM_PAGE_COST", default="1.1")
    if _PAGE_COST:
        try:
            _page_cost = float(_PAGE_COST)
        except ValueError:
            raise ImproperlyConfigured("MUTUALIS_PG_RANDOM_PAGE_COST: a number, e.g. 1.1") from None
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _given = _options.get("options", "")
        _options["options"] = f"{_given} -c random_page_cost={_page_cost}".strip()
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded database lives in var/, made on first use.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL and a busy timeout let the web server, the worker and the scheduler share
    # the embedded database without "database is locked" errors.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One cache shared by every web process: allauth keeps OpenID Connect authorization codes
# and its rate-limit counters there, so a per-process cache would lose a code issued by
# one gunicorn worker when another one serves the token request. The database cache
# needs no extra service; its table is made by `mutualis createcachetable`. Above
# max_entries it deletes a share of all entries, codes in flight included: hence a high one.
CACHES = {
    "default": env.cache_url("CACHE_URL", default="dbcache://mutualis_cache?max_entries=20000")
}

INSTALLED_APPS = [
    "mutualis.core",
    "mutualis.identity",
    "mutualis.companies",
    "mutualis.procurement",
    "mutualis.commissions",
    "mutualis.messaging",
    "mutualis.deposits",
    "mutualis.evaluation",
    "mutualis.contracts",
    "mutualis.ocds",
    "mutualis.decp",
    "mutualis.observatory",
    "mutualis.integrity",
    "mutualis.legality",
    "mutualis.evidence",
    "mutualis.directory",
    "mutualis.backoffice",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.idp.oidc",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy on every response the platform renders (static files, served
    # above by WhiteNoise, need none); see CONTENT_SECURITY_POLICY below.
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Ends sessions past their lifetime or idle time; signed-in responses are not stored
    # by any cache (see mutualis.identity.sessions). Before tenancy: an ended session on
    # a member's page leads to the login page.
    "mutualis.identity.sessions.SessionLifetimeMiddleware",
    "mutualis.core.tenancy.TenancyMiddleware",
    # After tenancy, whose loaded memberships it reads: leads a person whose role requires
    # a second factor and who has none to set one up (see mutualis.identity.mfa).
    "mutualis.identity.mfa.RequireSecondFactorMiddleware",
    # Below django-csp's: adds a client's registered origins to form-action on the single
    # sign-on's pages that end with a redirect to it.
    "mutualis.identity.oidc.ClientFormActionMiddleware",
    "mutualis.identity.oidc.TokenRateLimitMiddleware",
    # Last, as django-axes requires: it turns a flagged login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mutualis.urls"
WSGI_APPLICATION = "mutualis.wsgi.application"

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
                "mutualis.core.context_processors.platform",
            ],
        },
    },
]

AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account or address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # Last, never the default: only OpenID Connect client secrets (256 random bits) are
    # hashed with it, explicitly (mutualis.identity.hashers); listed so that they verify.
    "mutualis.identity.hashers.ClientSecretSHA256Hasher",
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
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "core:home"

# django-allauth: e-mail is the login; no usernames.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("MUTUALIS_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_ADAPTER = "mutualis.identity.adapters.AccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Mutualis] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env.str("MUTUALIS_HTTP_PROTOCOL", default="http")
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
# Seals the TOTP secrets and recovery-code seeds in the database (docs/security.md).
MFA_ADAPTER = "mutualis.identity.mfa_adapter.MFAAdapter"
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env.bool("MUTUALIS_WEBAUTHN_INSECURE_ORIGIN", default=DEBUG)

# Brute-force lock-out (django-axes, see mutualis.identity.lockout): an account is locked
# after MUTUALIS_LOGIN_FAILURE_LIMIT failures from anywhere, a source address after
# MUTUALIS_LOGIN_FAILURE_LIMIT_PER_ADDRESS failures on any accounts (higher, since a town
# hall's agents share one address), both for MUTUALIS_LOGIN_COOLOFF_MINUTES.
AXES_ENABLED = env.bool("MUTUALIS_AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("MUTUALIS_LOGIN_FAILURE_LIMIT", default=5)
MUTUALIS_LOGIN_FAILURE_LIMIT_PER_ADDRESS = env.int(
    "MUTUALIS_LOGIN_FAILURE_LIMIT_PER_ADDRESS", default=20
)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("MUTUALIS_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = "mutualis.identity.lockout.lockout_parameters"
AXES_USERNAME_CALLABLE = "mutualis.identity.lockout.username_from"
AXES_CLIENT_IP_CALLABLE = "mutualis.core.network.client_address"
AXES_LOCKOUT_CALLABLE = "mutualis.identity.lockout.locked_out_response"
# A failure during the lock-out does not restart it: the page can promise a time.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Successful logins are not logged by axes (personal data with no retention rule here).
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "login"]
# Number of reverse proxies that append to X-Forwarded-For; 0 trusts only REMOTE_ADDR.
MUTUALIS_TRUSTED_PROXY_COUNT = env.int("MUTUALIS_TRUSTED_PROXY_COUNT", default=0)
if AXES_ENABLED:
    # axes is the one lock-out: allauth's own counter of failed logins would answer the
    # attempt after the limit with a different message, before axes could show its page.
    ACCOUNT_RATE_LIMITS: dict[str, str | None] | bool = {"login_failed": None}
# allauth's rate limits (logins 30 a minute per address, …) stay on, except for a load
# benchmark whose clients all share the loopback address (bench/login_throughput.py): it
# switches them off, with axes, through its own environment. Never in production.
MUTUALIS_RATE_LIMITS_ENABLED = env.bool("MUTUALIS_RATE_LIMITS_ENABLED", default=True)
if not MUTUALIS_RATE_LIMITS_ENABLED:
    ACCOUNT_RATE_LIMITS = False
    MFA_RATE_LIMITS = False
    IDP_OIDC_RATE_LIMITS = False

# The platform's own rate limits (mutualis.core.ratelimit), counted in the shared cache:
# the API per source address and per client, the token endpoint per address and per client.
# "<count>/<s|m|h|d>". Switched off with MUTUALIS_RATE_LIMITS_ENABLED=false, like allauth's.
MUTUALIS_API_RATE_PER_ADDRESS = env.str("MUTUALIS_API_RATE_PER_ADDRESS", default="300/m")
MUTUALIS_API_RATE_PER_CLIENT = env.str("MUTUALIS_API_RATE_PER_CLIENT", default="1200/m")
MUTUALIS_TOKEN_RATE_PER_ADDRESS = env.str("MUTUALIS_TOKEN_RATE_PER_ADDRESS", default="60/m")
MUTUALIS_TOKEN_RATE_PER_CLIENT = env.str("MUTUALIS_TOKEN_RATE_PER_CLIENT", default="30/m")

# --- E-mails a person can make the platform send (mutualis.core.mail_limits) ------------
# Each e-mail a person asks for that goes to someone else counts against that person,
# the company or organisation they act for, and the recipient's address; over a limit
# nothing is sent, the form says so and the first refusal of the window is audited.
# "<count>/<s|m|h|d>", several windows separated by commas ("3/h,6/d"). Switched off with
# MUTUALIS_RATE_LIMITS_ENABLED=false. Operator staff are not counted per person or per
# organisation when they invite (they onboard members in bulk), only per address.
MUTUALIS_INVITATION_RATE_PER_PERSON = env.str(
    "MUTUALIS_INVITATION_RATE_PER_PERSON", default="20/h,50/d"
)
MUTUALIS_INVITATION_RATE_PER_TENANT = env.str(
    "MUTUALIS_INVITATION_RATE_PER_TENANT", default="30/h,100/d"
)
MUTUALIS_INVITATION_RATE_PER_ADDRESS = env.str(
    "MUTUALIS_INVITATION_RATE_PER_ADDRESS", default="3/h,6/d"
)
MUTUALIS_JOIN_REQUEST_RATE_PER_PERSON = env.str(
    "MUTUALIS_JOIN_REQUEST_RATE_PER_PERSON", default="5/h,10/d"
)
MUTUALIS_JOIN_REQUEST_RATE_PER_COMPANY = env.str(
    "MUTUALIS_JOIN_REQUEST_RATE_PER_COMPANY", default="10/h,30/d"
)
# Address confirmations, password resets and the like (allauth's e-mails, on top of
# allauth's own ACCOUNT_RATE_LIMITS): per recipient address, and per signed-in person.
MUTUALIS_ACCOUNT_MAIL_RATE_PER_ADDRESS = env.str(
    "MUTUALIS_ACCOUNT_MAIL_RATE_PER_ADDRESS", default="5/h,10/d"
)
MUTUALIS_ACCOUNT_MAIL_RATE_PER_PERSON = env.str(
    "MUTUALIS_ACCOUNT_MAIL_RATE_PER_PERSON", default="10/h,20/d"
)
# The confirmation a downloader asks for on a consultation's public page (procurement):
# per recipient address and per source address; questions per register line.
MUTUALIS_DOWNLOADER_CONFIRMATION_RATE_PER_ADDRESS = env.str(
    "MUTUALIS_DOWNLOADER_CONFIRMATION_RATE_PER_ADDRESS", default="3/h,6/d"
)
MUTUALIS_DOWNLOADER_CONFIRMATION_RATE_PER_SOURCE = env.str(
    "MUTUALIS_DOWNLOADER_CONFIRMATION_RATE_PER_SOURCE", default="10/h,30/d"
)
MUTUALIS_QUESTION_RATE_PER_DOWNLOADER = env.str(
    "MUTUALIS_QUESTION_RATE_PER_DOWNLOADER", default="10/h,30/d"
)
# An unverified company may have this many invitations waiting, until the operator
# verifies it (a SIREN anyone can claim must not become a mailing list).
MUTUALIS_UNVERIFIED_COMPANY_OPEN_INVITATIONS = env.int(
    "MUTUALIS_UNVERIFIED_COMPANY_OPEN_INVITATIONS", default=3
)
# --- Input refused at the edge (mutualis.core.edge; Trust II) ----------------------------
# Right after the locale is chosen (its refusal page speaks the visitor's language) and
# before anything loads the session, whose cookie it checks (a NUL byte in it would reach
# PostgreSQL), or reads the path (tenancy): NUL and other control characters,
# text that is not UTF-8 and values longer than MUTUALIS_MAX_FIELD_LENGTH characters (per
# query, form or JSON field) are answered 400 before any view. Every form's text fields
# state a max_length of at most this bound, so that a person reads the form's message.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.locale.LocaleMiddleware") + 1,
    "mutualis.core.edge.EdgeMiddleware",
)
MUTUALIS_MAX_FIELD_LENGTH = env.int("MUTUALIS_MAX_FIELD_LENGTH", default=10_000)
# --- End of the edge block ----------------------------------------------------------------

# OpenID Connect provider (allauth.idp.oidc, see mutualis.identity.oidc and docs/oidc.md).
# The signing key is read when used, from MUTUALIS_OIDC_PRIVATE_KEY (PEM, or _FILE) or else
# from the file `mutualis init_oidc_key` writes; the previous key, kept after a rotation,
# stays in the published key set so that tokens it signed still verify.
IDP_OIDC_ADAPTER = "mutualis.identity.oidc.OIDCAdapter"
MUTUALIS_OIDC_PRIVATE_KEY = env.str("MUTUALIS_OIDC_PRIVATE_KEY", default="")
MUTUALIS_OIDC_PRIVATE_KEY_PATH = Path(
    env.str("MUTUALIS_OIDC_PRIVATE_KEY_PATH", default=str(VAR_DIR / "keys" / "oidc-rsa.pem"))
)
MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY = env.str("MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY", default="")
MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY_PATH = Path(
    env.str(
        "MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY_PATH",
        default=str(VAR_DIR / "keys" / "oidc-rsa.previous.pem"),
    )
)
IDP_OIDC_ID_TOKEN_EXPIRES_IN = env.int("MUTUALIS_OIDC_ID_TOKEN_SECONDS", default=5 * 60)
IDP_OIDC_ACCESS_TOKEN_EXPIRES_IN = env.int("MUTUALIS_OIDC_ACCESS_TOKEN_SECONDS", default=3600)
# Refresh tokens are rotated at each use (allauth's default) and expire after 30 days.
IDP_OIDC_REFRESH_TOKEN_EXPIRES_IN = env.int(
    "MUTUALIS_OIDC_REFRESH_TOKEN_SECONDS", default=30 * 24 * 3600
)

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Project-wide assets (vendored CSS, our stylesheet) that belong to no single app.
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("MUTUALIS_STATIC_ROOT", default=str(VAR_DIR / "static")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# The private file store (mutualis.core.files): every service's documents and the members'
# logos, served only through the download view, which asks the owning service. Local by
# default, outside MEDIA_ROOT so that no web server publishes it by mistake; S3-compatible
# object storage in production with MUTUALIS_FILE_STORAGE=s3 and the usual AWS_* variables.
MUTUALIS_FILE_STORAGE = env.str("MUTUALIS_FILE_STORAGE", default="local")
MUTUALIS_FILES_ROOT = Path(env.str("MUTUALIS_FILES_ROOT", default=str(VAR_DIR / "files")))
MUTUALIS_FILES_MAX_BYTES = env.int("MUTUALIS_FILES_MAX_BYTES", default=1024**3)
# Sealed deposits (mutualis.deposits): ciphertext only, appended chunk by chunk and fsynced,
# on a local disk (never object storage: a deposit is acknowledged once its bytes are durable
# here). Largest file and largest deposit a bidder may send.
MUTUALIS_DEPOSIT_DIR = Path(env.str("MUTUALIS_DEPOSIT_DIR", default=str(VAR_DIR / "deposits")))
MUTUALIS_DEPOSIT_MAX_FILE_BYTES = env.int("MUTUALIS_DEPOSIT_MAX_FILE_BYTES", default=1024**3)
MUTUALIS_DEPOSIT_MAX_BYTES = env.int("MUTUALIS_DEPOSIT_MAX_BYTES", default=4 * 1024**3)
# ClamAV's daemon, which the opening hands each decrypted file to (deposits/scanning.py):
# "unix:/run/clamav/clamd.ctl" or "tcp:host:3310"; empty, no scan.
MUTUALIS_CLAMD_ADDRESS = env.str("MUTUALIS_CLAMD_ADDRESS", default="")
MUTUALIS_CLAMD_TIMEOUT_SECONDS = env.float("MUTUALIS_CLAMD_TIMEOUT_SECONDS", default=120.0)
# The business vault (companies): largest certificate a company may store, the types
# accepted (read from the bytes, never from the name: PDF, images, office documents), and
# the days before a document's end of validity at which its representatives are reminded.
MUTUALIS_VAULT_MAX_BYTES = env.int("MUTUALIS_VAULT_MAX_BYTES", default=20 * 1024**2)
MUTUALIS_VAULT_ACCEPTED_TYPES = env.list(
    "MUTUALIS_VAULT_ACCEPTED_TYPES",
    default=[
        "application/pdf",
        "image/png",
        "image/jpeg",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/msword",
        "application/vnd.ms-excel",
    ],
)
MUTUALIS_VAULT_REMINDER_DAYS = env.list("MUTUALIS_VAULT_REMINDER_DAYS", cast=int, default=[30, 7])
# The legality control (@ctes): largest act with its annexes (the ministry's limit is
# 150 MB), the mailbox the prefecture's answers go to (the envelope's AdressesRetour),
# and the transmitter's codes that name each package (TRI, APPLI: given at homologation).
MUTUALIS_LEGALITY_MAX_BYTES = env.int("MUTUALIS_LEGALITY_MAX_BYTES", default=150 * 1024**2)
MUTUALIS_LEGALITY_RETURN_ADDRESS = env.str(
    "MUTUALIS_LEGALITY_RETURN_ADDRESS", default="actes@mutualis.example.org"
)
MUTUALIS_LEGALITY_TRI = env.str("MUTUALIS_LEGALITY_TRI", default="EACT")
MUTUALIS_LEGALITY_APPLI = env.str("MUTUALIS_LEGALITY_APPLI", default="MUTUALIS")
# The transmission to the ministry (docs/operations.md, "Legality transmission"): the
# endpoint and its rescue, the operator's client certificate and key (PEM, or _FILE), the
# CA that signs the endpoint's certificate, the protocol ("201", or "200" for the legacy
# one), retries with back-off, transmission windows (local time, "07:00-12:30,14:00-19:00";
# empty: always), an hourly volume cap in bytes (0: none) and the "endpoint unavailable"
# switch. The return channel: the mailbox the answers arrive in ("maildir" or "imap").
MUTUALIS_LEGALITY_ENDPOINT_URL = env.str("MUTUALIS_LEGALITY_ENDPOINT_URL", default="")
MUTUALIS_LEGALITY_RESCUE_URL = env.str("MUTUALIS_LEGALITY_RESCUE_URL", default="")
MUTUALIS_LEGALITY_CLIENT_CERTIFICATE = env.str("MUTUALIS_LEGALITY_CLIENT_CERTIFICATE", default="")
MUTUALIS_LEGALITY_CLIENT_KEY = env.str("MUTUALIS_LEGALITY_CLIENT_KEY", default="")
MUTUALIS_LEGALITY_SERVER_CA = env.str("MUTUALIS_LEGALITY_SERVER_CA", default="")
MUTUALIS_LEGALITY_PROTOCOL = env.str("MUTUALIS_LEGALITY_PROTOCOL", default="201")
MUTUALIS_LEGALITY_TIMEOUT_SECONDS = env.int("MUTUALIS_LEGALITY_TIMEOUT_SECONDS", default=60)
MUTUALIS_LEGALITY_MAX_ATTEMPTS = env.int("MUTUALIS_LEGALITY_MAX_ATTEMPTS", default=6)
MUTUALIS_LEGALITY_RETRY_SECONDS = env.int("MUTUALIS_LEGALITY_RETRY_SECONDS", default=120)
MUTUALIS_LEGALITY_WINDOWS = env.str("MUTUALIS_LEGALITY_WINDOWS", default="")
MUTUALIS_LEGALITY_HOURLY_CAP_BYTES = env.int("MUTUALIS_LEGALITY_HOURLY_CAP_BYTES", default=0)
MUTUALIS_LEGALITY_ENDPOINT_AVAILABLE = env.bool(
    "MUTUALIS_LEGALITY_ENDPOINT_AVAILABLE", default=True
)
MUTUALIS_LEGALITY_POLL_SECONDS = env.int("MUTUALIS_LEGALITY_POLL_SECONDS", default=60)
# Webhooks of the members' software (legality/webhooks.py): attempts per event, the
# first delay (doubled each time, at most 6 h), the timeout of one POST, and whether an
# address may be private or loopback (never in production: the tests' local servers).
MUTUALIS_WEBHOOK_MAX_ATTEMPTS = env.int("MUTUALIS_WEBHOOK_MAX_ATTEMPTS", default=8)
MUTUALIS_WEBHOOK_RETRY_SECONDS = env.int("MUTUALIS_WEBHOOK_RETRY_SECONDS", default=30)
MUTUALIS_WEBHOOK_TIMEOUT_SECONDS = env.int("MUTUALIS_WEBHOOK_TIMEOUT_SECONDS", default=10)
MUTUALIS_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool(
    "MUTUALIS_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False
)
# Signatures attached to an act's files (legality/signature_checks.py): refused unless
# intact and by a certificate valid at signing that chains to a trust anchor
# (MUTUALIS_SIGNATURE_TRUST_ANCHORS); with False, only an altered file is refused and an
# untrusted or expired certificate is a warning on the act.
MUTUALIS_LEGALITY_SIGNATURES_MUST_BE_TRUSTED = env.bool(
    "MUTUALIS_LEGALITY_SIGNATURES_MUST_BE_TRUSTED", default=True
)
MUTUALIS_LEGALITY_MAILBOX = env.str("MUTUALIS_LEGALITY_MAILBOX", default="maildir")
MUTUALIS_LEGALITY_MAILDIR = Path(
    env.str("MUTUALIS_LEGALITY_MAILDIR", default=str(VAR_DIR / "legality" / "mailbox"))
)
MUTUALIS_LEGALITY_IMAP_HOST = env.str("MUTUALIS_LEGALITY_IMAP_HOST", default="localhost")
MUTUALIS_LEGALITY_IMAP_PORT = env.int("MUTUALIS_LEGALITY_IMAP_PORT", default=993)
MUTUALIS_LEGALITY_IMAP_SSL = env.bool("MUTUALIS_LEGALITY_IMAP_SSL", default=True)
MUTUALIS_LEGALITY_IMAP_USER = env.str("MUTUALIS_LEGALITY_IMAP_USER", default="")
MUTUALIS_LEGALITY_IMAP_PASSWORD = env.str("MUTUALIS_LEGALITY_IMAP_PASSWORD", default="")
MUTUALIS_LEGALITY_IMAP_FOLDER = env.str("MUTUALIS_LEGALITY_IMAP_FOLDER", default="INBOX")
# Accounting flows to the treasury (PES V2, legality/pes/): the largest PES_Aller, and the
# treasury's file gateway (SFTP): host, port, user, the operator's private key (PEM or
# OpenSSH, inline or _FILE), the gateway's host key pinned ("ssh-ed25519 AAAA…", as in
# known_hosts without the host name), the deposit and collection folders, retries.
MUTUALIS_PES_MAX_BYTES = env.int("MUTUALIS_PES_MAX_BYTES", default=150 * 1024**2)
MUTUALIS_PES_TRANSPORT = env.str("MUTUALIS_PES_TRANSPORT", default="sftp")
MUTUALIS_PES_SFTP_HOST = env.str("MUTUALIS_PES_SFTP_HOST", default="")
MUTUALIS_PES_SFTP_PORT = env.int("MUTUALIS_PES_SFTP_PORT", default=22)
MUTUALIS_PES_SFTP_USER = env.str("MUTUALIS_PES_SFTP_USER", default="")
MUTUALIS_PES_SFTP_KEY = env.str("MUTUALIS_PES_SFTP_KEY", default="")
MUTUALIS_PES_SFTP_HOST_KEY = env.str("MUTUALIS_PES_SFTP_HOST_KEY", default="")
MUTUALIS_PES_SFTP_INBOX = env.str("MUTUALIS_PES_SFTP_INBOX", default="entree")
MUTUALIS_PES_SFTP_OUTBOX = env.str("MUTUALIS_PES_SFTP_OUTBOX", default="sortie")
MUTUALIS_PES_TIMEOUT_SECONDS = env.int("MUTUALIS_PES_TIMEOUT_SECONDS", default=30)
MUTUALIS_PES_MAX_ATTEMPTS = env.int("MUTUALIS_PES_MAX_ATTEMPTS", default=6)
MUTUALIS_PES_RETRY_SECONDS = env.int("MUTUALIS_PES_RETRY_SECONDS", default=120)
# The public verification page of an acknowledged act (its stamp's QR code): lookups per
# address, and wrong tokens per address (tokens are unguessable: this stops the trying).
MUTUALIS_LEGALITY_VERIFY_RATE = env.str("MUTUALIS_LEGALITY_VERIFY_RATE", default="60/m")
MUTUALIS_LEGALITY_VERIFY_MISS_RATE = env.str("MUTUALIS_LEGALITY_VERIFY_MISS_RATE", default="20/h")
# Behind nginx: an internal location that serves MUTUALIS_FILES_ROOT (docs/operations.md);
# the app then answers headers only and nginx sends the bytes.
MUTUALIS_FILES_X_ACCEL_PREFIX = env.str("MUTUALIS_FILES_X_ACCEL_PREFIX", default="")
# How long a signed object-storage URL that a download redirects to stays valid.
MUTUALIS_FILES_URL_SECONDS = env.int("MUTUALIS_FILES_URL_SECONDS", default=60)
if MUTUALIS_FILE_STORAGE == "local":
    STORAGES["files"] = {
        "BACKEND": "mutualis.core.files.storage.DurableFileSystemStorage",
        "OPTIONS": {"location": MUTUALIS_FILES_ROOT, "base_url": None},
    }
elif MUTUALIS_FILE_STORAGE == "s3":
    STORAGES["files"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            "location": env.str("MUTUALIS_FILES_S3_PREFIX", default="files"),
            # None: objects inherit the bucket's policy (private), also where ACLs are off.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": MUTUALIS_FILES_URL_SECONDS,
            # Keys are random UUIDs: no existence check (one request) before each write.
            "file_overwrite": True,
        },
    }
else:
    raise ImproperlyConfigured("MUTUALIS_FILE_STORAGE must be 'local' or 's3'")

# --- File archives: accepted-type policies, ZIP inspection (mutualis.core.files) ------
# Limits of a policy that sets none of its own (policies.py): a file, and a set of files
# such as a consultation's documents.
MUTUALIS_FILES_POLICY_MAX_FILE_BYTES = env.int(
    "MUTUALIS_FILES_POLICY_MAX_FILE_BYTES", default=2 * 1024**3
)
MUTUALIS_FILES_POLICY_MAX_SET_BYTES = env.int(
    "MUTUALIS_FILES_POLICY_MAX_SET_BYTES", default=10 * 1024**3
)
# A ZIP archive is inspected before it is stored (archives.py): entries and uncompressed
# bytes counted over every level, the expansion ratio of an entry and of the whole, and
# how many archives deep (the archive sent is level 1).
MUTUALIS_ARCHIVE_MAX_ENTRIES = env.int("MUTUALIS_ARCHIVE_MAX_ENTRIES", default=10_000)
MUTUALIS_ARCHIVE_MAX_UNCOMPRESSED_BYTES = env.int(
    "MUTUALIS_ARCHIVE_MAX_UNCOMPRESSED_BYTES", default=4 * 1024**3
)
MUTUALIS_ARCHIVE_MAX_RATIO = env.int("MUTUALIS_ARCHIVE_MAX_RATIO", default=100)
MUTUALIS_ARCHIVE_MAX_DEPTH = env.int("MUTUALIS_ARCHIVE_MAX_DEPTH", default=2)
# --- end of file archives --------------------------------------------------------------

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="filemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("MUTUALIS_FROM_EMAIL", default="Mutualis <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

TASKS = {
    "default": {
        "BACKEND": env.str("MUTUALIS_TASK_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}

# Security headers; production runs behind TLS (MUTUALIS_HTTPS=true).
HTTPS = env.bool("MUTUALIS_HTTPS", default=False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = env.int("MUTUALIS_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy (django-csp) ----------------------------------------------
# Every page loads scripts, styles and images from the platform only, and no page runs an
# inline script or style (tests/integration/test_content_security_policy.py scans the
# templates; the browser tests fail on any violation). A member's colours come from a
# stylesheet (directory:colours), not a style attribute. A route that needs more widens
# the policy on itself only, with django-csp's decorators (docs/architecture.md,
# "Content-Security-Policy"). form-action 'self' alone would stop the browser following
# the single sign-on's redirect to a client application after a form (consent, logout,
# sign-in for an operator's tool that skips consent): ClientFormActionMiddleware
# (mutualis.identity.oidc) adds, on those pages only, the origins the operator registered
# for that client.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Module Web Workers (the sealed deposits' encryption, deposits/encrypt-worker.js)
        # load from the platform's own static files only.
        "worker-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# The platform's own settings.
MUTUALIS_PLATFORM_NAME = env.str("MUTUALIS_PLATFORM_NAME", default="Mutualis")
# The public address of the instance, scheme included: links in e-mails and documents
# written by background jobs are built from it (mutualis.core.links.absolute_url).
MUTUALIS_SITE_URL = env.str("MUTUALIS_SITE_URL", default="http://localhost:8000")
# The availability probe's deposits (deposits/probe_http.py) go through this address, as a
# business's would (the site's own by default); empty: through the services in the worker,
# which cannot see the web server fail (the public record says which). The probe company's
# API client secret is kept in the file, 0600.
MUTUALIS_PROBE_URL = env.str("MUTUALIS_PROBE_URL", default=MUTUALIS_SITE_URL)
MUTUALIS_PROBE_CLIENT_FILE = Path(
    env.str("MUTUALIS_PROBE_CLIENT_FILE", default=str(VAR_DIR / "keys" / "probe-client.json"))
)
# The name authenticator apps show next to the account (allauth's default is the host).
MFA_TOTP_ISSUER = MUTUALIS_PLATFORM_NAME
MUTUALIS_OPERATOR_SLUG = env.str("MUTUALIS_OPERATOR_SLUG", default="operateur")
# Who may frame a member's embeddable list of consultations (/consultations/member/<slug>/
# embed/), the one page a foreign site may frame: CSP sources separated by spaces.
MUTUALIS_EMBED_FRAME_ANCESTORS = env.str("MUTUALIS_EMBED_FRAME_ANCESTORS", default="*")
# The consultations' search counts its matches up to this many, then says "more than": the
# count reads every match up to it (bench/procurement_search.py measures 10,000 and 1,000).
MUTUALIS_SEARCH_COUNT_CAP = env.int("MUTUALIS_SEARCH_COUNT_CAP", default=1_000)
# Whom members write to about their adhesion and subscriptions (shown on the page of a
# suspended service).
MUTUALIS_OPERATOR_CONTACT = env.str("MUTUALIS_OPERATOR_CONTACT", default="contact@localhost")
# Who runs and hosts the platform, and how its users reach support: the legal notices, the
# accessibility statement and the help page show them (mutualis.core.site_views).
MUTUALIS_OPERATOR_NAME = env.str("MUTUALIS_OPERATOR_NAME", default="")
MUTUALIS_OPERATOR_ADDRESS = env.str("MUTUALIS_OPERATOR_ADDRESS", default="")
MUTUALIS_OPERATOR_SIRET = env.str("MUTUALIS_OPERATOR_SIRET", default="")
MUTUALIS_PUBLICATION_DIRECTOR = env.str("MUTUALIS_PUBLICATION_DIRECTOR", default="")
MUTUALIS_HOST_NAME = env.str("MUTUALIS_HOST_NAME", default="")
MUTUALIS_HOST_ADDRESS = env.str("MUTUALIS_HOST_ADDRESS", default="")
MUTUALIS_SUPPORT_EMAIL = env.str("MUTUALIS_SUPPORT_EMAIL", default="")
MUTUALIS_SUPPORT_PHONE = env.str("MUTUALIS_SUPPORT_PHONE", default="")
MUTUALIS_SUPPORT_HOURS = env.str("MUTUALIS_SUPPORT_HOURS", default="")
# RGAA conformity as the last audit found: "none" (non conforme), "partial" or "full" (the
# axe-core checks of the browser journeys are no audit; the statement says so).
MUTUALIS_ACCESSIBILITY_STATUS = env.str("MUTUALIS_ACCESSIBILITY_STATUS", default="none")
# Test downloads of the workstation test, per address.
MUTUALIS_SAMPLE_RATE = env.str("MUTUALIS_SAMPLE_RATE", default="30/h")
MUTUALIS_AUDIT_SIGNING_KEY = env.str("MUTUALIS_AUDIT_SIGNING_KEY", default="")
MUTUALIS_AUDIT_SIGNING_KEY_PATH = Path(
    env.str("MUTUALIS_AUDIT_SIGNING_KEY_PATH", default=str(VAR_DIR / "keys" / "audit-ed25519.pem"))
)
MUTUALIS_AUDIT_CHECKPOINT_FILE = Path(
    env.str("MUTUALIS_AUDIT_CHECKPOINT_FILE", default=str(VAR_DIR / "audit" / "checkpoints.jsonl"))
)
# The time-stamping authority (RFC 3161, mutualis.evidence): its key and certificate (PEM,
# or _FILE; the certificate text may carry the issuer's chain after it) or else the files
# `mutualis setup` creates once; the policy OID its tokens name (by default one under the
# UUID arc 2.25, which needs no registration); the accuracy it states; the requests
# accepted per source address and their size.
MUTUALIS_TSA_KEY = env.str("MUTUALIS_TSA_KEY", default="")
MUTUALIS_TSA_KEY_PATH = Path(
    env.str("MUTUALIS_TSA_KEY_PATH", default=str(VAR_DIR / "keys" / "tsa-key.pem"))
)
MUTUALIS_TSA_CERTIFICATE = env.str("MUTUALIS_TSA_CERTIFICATE", default="")
MUTUALIS_TSA_CERTIFICATE_PATH = Path(
    env.str("MUTUALIS_TSA_CERTIFICATE_PATH", default=str(VAR_DIR / "keys" / "tsa-certificate.pem"))
)
MUTUALIS_TSA_POLICY = env.str(
    "MUTUALIS_TSA_POLICY", default="2.25.17071429380449905510754503545346404324"
)
MUTUALIS_TSA_ACCURACY_MS = env.int("MUTUALIS_TSA_ACCURACY_MS", default=1000)
MUTUALIS_TSA_RATE_PER_ADDRESS = env.str("MUTUALIS_TSA_RATE_PER_ADDRESS", default="120/m")
MUTUALIS_TSA_MAX_REQUEST_BYTES = env.int("MUTUALIS_TSA_MAX_REQUEST_BYTES", default=4096)
# Sealed deposits' proof (mutualis.deposits.receipt_pdf, log_sections): the key and
# certificate that sign receipt PDFs (PAdES-B-T; PEM, or _FILE) or else the files `mutualis
# setup` creates once (self-signed: trusted by third-party checkers only once the operator
# installs a qualified certificate for the key); an external RFC 3161 authority for their
# time-stamps (empty: the platform's own, in-process); how long after a deadline the
# on-time section of the deposit log closes (acknowledgements still committing).
MUTUALIS_RECEIPT_SIGNING_KEY = env.str("MUTUALIS_RECEIPT_SIGNING_KEY", default="")
MUTUALIS_RECEIPT_SIGNING_KEY_PATH = Path(
    env.str("MUTUALIS_RECEIPT_SIGNING_KEY_PATH", default=str(VAR_DIR / "keys" / "receipt-key.pem"))
)
MUTUALIS_RECEIPT_SIGNING_CERTIFICATE = env.str("MUTUALIS_RECEIPT_SIGNING_CERTIFICATE", default="")
MUTUALIS_RECEIPT_SIGNING_CERTIFICATE_PATH = Path(
    env.str(
        "MUTUALIS_RECEIPT_SIGNING_CERTIFICATE_PATH",
        default=str(VAR_DIR / "keys" / "receipt-certificate.pem"),
    )
)
MUTUALIS_RECEIPT_TSA_URL = env.str("MUTUALIS_RECEIPT_TSA_URL", default="")
MUTUALIS_DEPOSIT_LOG_CLOSE_DELAY_SECONDS = env.int(
    "MUTUALIS_DEPOSIT_LOG_CLOSE_DELAY_SECONDS", default=30
)
# Certificates (a PEM file, or a directory of them) that signatures found in documents are
# checked against (mutualis.evidence.signatures): the trusted list's CAs the operator
# accepts. Empty: signatures are checked for integrity, never reported as trusted.
MUTUALIS_SIGNATURE_TRUST_ANCHORS = env.str("MUTUALIS_SIGNATURE_TRUST_ANCHORS", default="")
MUTUALIS_TERRITORY_DIR = Path(
    env.str("MUTUALIS_TERRITORY_DIR", default=str(BASE_DIR / "core" / "data" / "territory"))
)
# How long an invitation link (to an organisation or a company) stays valid.
MUTUALIS_INVITATION_DAYS = env.int("MUTUALIS_INVITATION_DAYS", default=7)
MUTUALIS_EMAIL_MAX_ATTEMPTS = env.int("MUTUALIS_EMAIL_MAX_ATTEMPTS", default=6)
MUTUALIS_EMAIL_RETRY_BASE_SECONDS = env.int("MUTUALIS_EMAIL_RETRY_BASE_SECONDS", default=60)
# Attachments of one e-mail, in bytes: base64 adds a third, so 7 MiB stays under the
# 10 MB that many SMTP servers accept.
MUTUALIS_EMAIL_MAX_ATTACHMENT_BYTES = env.int(
    "MUTUALIS_EMAIL_MAX_ATTACHMENT_BYTES", default=7 * 1024 * 1024
)
# --- Mail delivery and background jobs that never stall the platform (Trust II) -------
# Delivery claims a row, commits, sends, then records the result in a second short
# transaction (mutualis.core.mail): no transaction is ever held across the SMTP exchange.
# EMAIL_TIMEOUT bounds each network operation of Django's SMTP backend, in seconds.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# The demo's mails (no EMAIL_URL) are written as files to var/mail/, where a newcomer
# reads the sign-up and invitation links the outbox no longer keeps.
if EMAIL_CONFIG["EMAIL_BACKEND"].endswith("filebased.EmailBackend") and not EMAIL_CONFIG.get(
    "EMAIL_FILE_PATH"
):
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
# A claimed e-mail not finished after this many seconds (its worker died) is claimed
# again: longer than a whole SMTP exchange, whose every step may take EMAIL_TIMEOUT.
MUTUALIS_EMAIL_CLAIM_SECONDS = env.int("MUTUALIS_EMAIL_CLAIM_SECONDS", default=600)
# A task row left RUNNING this long (its worker was killed) is run again, until it has
# been started MUTUALIS_TASK_MAX_ATTEMPTS times; then it is marked failed.
MUTUALIS_TASK_STALE_SECONDS = env.int("MUTUALIS_TASK_STALE_SECONDS", default=1800)
MUTUALIS_TASK_MAX_ATTEMPTS = env.int("MUTUALIS_TASK_MAX_ATTEMPTS", default=3)
# Plain-text templates (e-mail subjects and bodies) render through an engine without
# HTML auto-escaping (mutualis.core.mail.render_text): a company called "Dupont & Fils"
# stays so in a subject. Pages and HTML e-mails keep the default, escaping, engine.
TEMPLATES.append(
    {
        "NAME": "text",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"autoescape": False},
    }
)
# --- end of mail delivery and background jobs -----------------------------------------
MUTUALIS_SCHEDULER_LOCK_FILE = Path(
    env.str("MUTUALIS_SCHEDULER_LOCK_FILE", default=str(VAR_DIR / "scheduler.lock"))
)

# --- Trust II: second factor, sessions, demo accounts (issue 12) ----------------------
# The second-factor step (a code, a passkey) counts its failures toward the lock-out above
# and refuses every attempt while it holds (mutualis.identity.mfa_forms): allauth's own
# limit on that step shares the "login_failed" counter switched off above.
MFA_FORMS = {
    "authenticate": "mutualis.identity.mfa_forms.AuthenticateForm",
    "reauthenticate": "mutualis.identity.mfa_forms.ReauthenticateForm",
    "authenticate_webauthn": "mutualis.identity.mfa_forms.AuthenticateWebAuthnForm",
    "reauthenticate_webauthn": "mutualis.identity.mfa_forms.ReauthenticateWebAuthnForm",
}
# The codes and passkey assertions of failed attempts stay out of axes' records.
AXES_SENSITIVE_PARAMETERS = [*AXES_SENSITIVE_PARAMETERS, "code", "credential"]
# Sessions (mutualis.identity.sessions): every session ends MUTUALIS_SESSION_MAX_HOURS
# after its login; a person holding a privileged standing (operator staff, or one of
# MUTUALIS_PRIVILEGED_ROLES in any organisation) is also logged out after
# MUTUALIS_PRIVILEGED_IDLE_MINUTES without a request. Agents share computers.
MUTUALIS_SESSION_MAX_HOURS = env.int("MUTUALIS_SESSION_MAX_HOURS", default=12)
SESSION_COOKIE_AGE = MUTUALIS_SESSION_MAX_HOURS * 3600
MUTUALIS_PRIVILEGED_IDLE_MINUTES = env.int("MUTUALIS_PRIVILEGED_IDLE_MINUTES", default=30)
MUTUALIS_PRIVILEGED_ROLES = env.list(
    "MUTUALIS_PRIVILEGED_ROLES", default=["org_admin", "buyer", "commission_member"]
)
# Whether this instance is a demo: `mutualis seed_demo` creates accounts whose passwords
# and authenticator secrets are published, and refuses to run anywhere else. An instance
# that runs on the demo's built-in SECRET_KEY is one; any other must say so explicitly.
MUTUALIS_DEMO = env.bool(
    "MUTUALIS_DEMO", default=SECRET_KEY.startswith("django-insecure-demo-key-")
)
# Demo steps `seed_demo` leaves out, by name (the test suite leaves out the past
# procedures carried to every stage, which one test of their own seeds).
MUTUALIS_DEMO_SKIP_STEPS = env.list("MUTUALIS_DEMO_SKIP_STEPS", default=[])
# --- end of Trust II -------------------------------------------------------------------

# --- E-procurement III: secure messaging ------------------------------------------------
# Messages a person may send (buyer or bidder): "N/period" limits, all enforced.
MUTUALIS_MESSAGE_RATE_PER_USER = env("MUTUALIS_MESSAGE_RATE_PER_USER", default="20/h,100/d")
MUTUALIS_MESSAGE_MAX_FILE_BYTES = env.int("MUTUALIS_MESSAGE_MAX_FILE_BYTES", default=50 * 1024**2)
MUTUALIS_MESSAGE_MAX_BYTES = env.int("MUTUALIS_MESSAGE_MAX_BYTES", default=200 * 1024**2)

# --- E-procurement III: open data ------------------------------------------------------
# OCDS: the ocid prefix the operator registered with the Open Contracting Partnership (set
# it before the first release: an ocid never changes), and the data's licence.
OCDS_OCID_PREFIX = env.str("MUTUALIS_OCDS_OCID_PREFIX", default="ocds-mutual")
OCDS_LICENSE_URL = env.str(
    "MUTUALIS_OCDS_LICENSE_URL",
    default="https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
)
# The DECP connector to the national open-data portal (data.gouv.fr's API: an upload to a
# dataset with the X-API-KEY header). Empty URL: the connector is off. The key is read
# from a file (0600) at each attempt, never stored in the database or logged.
DECP_PORTAL_URL = env("MUTUALIS_DECP_PORTAL_URL", default="")
DECP_PORTAL_DATASET = env("MUTUALIS_DECP_PORTAL_DATASET", default="")
DECP_PORTAL_API_KEY_FILE = env("MUTUALIS_DECP_PORTAL_API_KEY_FILE", default="")
DECP_PORTAL_TIMEOUT_SECONDS = env.int("MUTUALIS_DECP_PORTAL_TIMEOUT_SECONDS", default=30)
# Doubled after each failure, at most six hours.
DECP_PORTAL_RETRY_SECONDS = env.int("MUTUALIS_DECP_PORTAL_RETRY_SECONDS", default=60)
DECP_PORTAL_BATCH = env.int("MUTUALIS_DECP_PORTAL_BATCH", default=5000)
DECP_BULK_MAX_BYTES = env.int("MUTUALIS_DECP_BULK_MAX_BYTES", default=8 * 1024**3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("MUTUALIS_LOG_LEVEL", default="INFO")},
    # django-axes logs every login and logout at INFO; its failures and lock-outs are
    # warnings, which is what an operator needs.
    "loggers": {"axes": {"level": "WARNING"}},
}

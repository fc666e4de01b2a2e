#!/usr/bin/env python3
"""mlflow-entrypoint: start or migrate an MLflow tracking server backed by PostgreSQL.

Installed in the image as /usr/local/bin/mlflow-entrypoint. The database is described
by environment variables only, so the password never appears on a command line:

  DB_HOST                  required   host name or IP of PostgreSQL
  DB_PORT                  optional   default 5432
  DB_NAME                  required   database name
  DB_USER                  required   user name
  DB_PASSWORD              required   (or DB_PASSWORD_FILE: path of a file holding it),
                                      unless DB_AUTH=iam
  DB_AUTH                  optional   password (default) | iam: Cloud SQL IAM database
                                      authentication through the Cloud SQL Auth Proxy with
                                      --auto-iam-authn; the URI then has no password, and
                                      giving one is an error
  DB_SSLMODE               optional   disable|allow|prefer|require|verify-ca|verify-full
  DB_WAIT_TIMEOUT_SECONDS  optional   default 300; 0 skips waiting for the database
  MIGRATE_ATTEMPTS         optional   default 5; tries of `migrate` on transient errors

Subcommands:

  mlflow-entrypoint server [mlflow server flags...]
      Waits for the database, then execs `python -m mlflow server <flags>` with the
      backend store URI in env MLFLOW_BACKEND_STORE_URI (read by mlflow's own option).
  mlflow-entrypoint migrate
      Waits for the database, then brings its schema to this MLflow's head revision
      in-process (what `mlflow db upgrade` does), idempotently, with bounded retries.
  mlflow-entrypoint wait
      Only waits for the database (for an init container).
  mlflow-entrypoint drain [seconds]
      The preStop hook: puts the server in drain mode (every response says
      `Connection: close`, see mlflow_drain.py), then waits `seconds` (default 10) for the
      Service to drop the pod and for keep-alive clients to move, before Kubernetes sends
      SIGTERM. Needs no DB_* variables.

Only connection errors are retried. A login the database rejects (wrong password, unknown
user or database, no pg_hba.conf entry) fails at once, naming the user and host.

Exit codes: 0 ok, 1 database unreachable / login rejected / migration failed / drain file not
created, 2 invalid configuration.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence

DEFAULT_PORT = 5432
DEFAULT_WAIT_TIMEOUT_SECONDS = 300.0
DEFAULT_MIGRATE_ATTEMPTS = 5
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
DB_AUTH_MODES = ("password", "iam")
INITIAL_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5
# Flags that would put the database URI (and so the password) on a command line.
FORBIDDEN_SERVER_FLAGS = ("--backend-store-uri", "--registry-store-uri")
# uvicorn's HTTP protocol with drain mode (mlflow_drain.py, shipped beside this script).
DRAIN_PROTOCOL = "mlflow_drain:DrainingH11Protocol"
DEFAULT_DRAIN_SECONDS = 10.0
# Flags that pick a server other than uvicorn (or uvicorn's reloader): no drain mode there.
NOT_UVICORN_FLAGS = ("--gunicorn-opts", "--waitress-opts", "--dev")


class ConfigError(Exception):
    """Missing or invalid environment; the message names the variable."""


class DatabaseUnavailable(Exception):
    """The database did not accept a connection before the wait timed out."""


class LoginRejected(Exception):
    """The database answered and refused the login: retrying cannot help."""


# What PostgreSQL and libpq say when the server refuses a login (SQLSTATE class 28, and
# 3D000 for an unknown database). psycopg2 gives no SQLSTATE for connect failures, so the
# message is all there is; these are the server's English texts (lc_messages=C, as on
# Cloud SQL). Anything else from connect is a connection error and is retried.
LOGIN_REJECTED = re.compile(
    r"password authentication failed|authentication failed for user|no pg_hba\.conf entry"
    r"|pg_hba\.conf rejects connection|no password supplied|(role|database) \".*\" does not exist",
)


def is_login_rejected(error: BaseException) -> bool:
    return bool(LOGIN_REJECTED.search(str(error)))


def is_connection_error(error: BaseException) -> bool:
    """True for failures worth another try: the database is down, starting or unreachable."""
    if is_login_rejected(error):
        return False
    kinds: tuple[type[BaseException], ...] = (OSError,)
    try:
        import psycopg2
        kinds += (psycopg2.OperationalError,)
    except ImportError:  # pragma: no cover - psycopg2 ships in the image
        pass
    return isinstance(error, kinds)


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    print(f"{stamp} [mlflow-entrypoint] {message}", file=sys.stderr, flush=True)


@dataclasses.dataclass(frozen=True)
class DbConfig:
    host: str
    port: int
    name: str
    user: str
    password: str = dataclasses.field(repr=False)
    sslmode: str | None = None
    # "iam": no password; the Cloud SQL Auth Proxy logs in with the pod's IAM identity.
    auth: str = "password"

    def uri(self) -> str:
        """The SQLAlchemy URI, with user, password and database name URL-encoded."""
        return self._render(urllib.parse.quote(self.password, safe=""))

    def redacted_uri(self) -> str:
        """The URI with the password replaced by ***, safe to log."""
        return self._render("***")

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.name}"

    def login_rejected(self, reason: str) -> LoginRejected:
        """The error for a refused login: user and host named, never the password."""
        hint = "check the user, the database name and the password in the Secret"
        if self.password != self.password.rstrip():
            hint = ("the password ends with whitespace or a line break, which is usually a "
                    "mistake: recreate the Secret without it (e.g. printf %s \"$PW\" | kubectl "
                    "create secret generic ... --from-file=password=/dev/stdin)")
        return LoginRejected(
            f"database {self.host}:{self.port} rejected the login of user {self.user!r} "
            f"(database {self.name!r}), not retrying: {reason}; {hint}")

    def scrub(self, text: str) -> str:
        """Removes the password (raw and URL-encoded) from text that may reach a log."""
        for secret in {self.password, urllib.parse.quote(self.password, safe="")}:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _render(self, password: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = urllib.parse.quote(self.user, safe="")
        name = urllib.parse.quote(self.name, safe="")
        query = f"?sslmode={self.sslmode}" if self.sslmode else ""
        credentials = user if self.auth == "iam" else f"{user}:{password}"
        return f"postgresql+psycopg2://{credentials}@{host}:{self.port}/{name}{query}"


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if value.strip() == "":
        raise ConfigError(f"{name} is required but is not set (or is empty)")
    return value


def _read_password(env: Mapping[str, str]) -> str:
    if env.get("DB_PASSWORD"):
        return env["DB_PASSWORD"]
    path = env.get("DB_PASSWORD_FILE", "")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                password = f.read().rstrip("\r\n")
        except OSError as e:
            raise ConfigError(f"DB_PASSWORD_FILE={path} cannot be read: {e.strerror}") from None
        if not password:
            raise ConfigError(f"DB_PASSWORD_FILE={path} is empty")
        return password
    raise ConfigError("DB_PASSWORD is required but is not set (or is empty); "
                      "set it from a Secret, or set DB_PASSWORD_FILE")


def db_config_from_env(env: Mapping[str, str]) -> DbConfig:
    """Reads DB_* variables; raises ConfigError naming the first bad one."""
    host = _required(env, "DB_HOST").strip()
    port_text = env.get("DB_PORT", "").strip() or str(DEFAULT_PORT)
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"DB_PORT must be a port number (1-65535), got {port_text!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"DB_PORT must be a port number (1-65535), got {port}")
    name = _required(env, "DB_NAME")
    user = _required(env, "DB_USER")
    auth = env.get("DB_AUTH", "").strip() or "password"
    if auth not in DB_AUTH_MODES:
        raise ConfigError(f"DB_AUTH must be one of {', '.join(DB_AUTH_MODES)}, got {auth!r}")
    if auth == "iam":
        given = [n for n in ("DB_PASSWORD", "DB_PASSWORD_FILE") if env.get(n)]
        if given:
            raise ConfigError(f"DB_AUTH=iam uses no password, but {' and '.join(given)} is set: "
                              "unset it, or use DB_AUTH=password")
        password = ""
    else:
        password = _read_password(env)
    sslmode = env.get("DB_SSLMODE", "").strip() or None
    if sslmode is not None and sslmode not in SSL_MODES:
        raise ConfigError(f"DB_SSLMODE must be one of {', '.join(SSL_MODES)}, got {sslmode!r}")
    return DbConfig(host=host, port=port, name=name, user=user, password=password, sslmode=sslmode,
                    auth=auth)


def build_backend_uri(env: Mapping[str, str]) -> str:
    return db_config_from_env(env).uri()


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {text!r}") from None
    if value < 0 or value != value or value == float("inf"):
        raise ConfigError(f"{name} must be a finite number of seconds >= 0, got {text!r}")
    return value


def wait_timeout_from_env(env: Mapping[str, str]) -> float:
    return _seconds(env, "DB_WAIT_TIMEOUT_SECONDS", DEFAULT_WAIT_TIMEOUT_SECONDS)


def migrate_attempts_from_env(env: Mapping[str, str]) -> int:
    text = env.get("MIGRATE_ATTEMPTS", "").strip()
    if not text:
        return DEFAULT_MIGRATE_ATTEMPTS
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"MIGRATE_ATTEMPTS must be a whole number >= 1, got {text!r}")
    return int(text)


def psycopg2_connect(cfg: DbConfig, timeout: float) -> None:
    """Opens and closes one real connection (checks reachability and credentials)."""
    import psycopg2

    kwargs = {}
    if cfg.sslmode:
        kwargs["sslmode"] = cfg.sslmode
    if cfg.auth != "iam":
        kwargs["password"] = cfg.password
    conn = psycopg2.connect(
        host=cfg.host, port=cfg.port, dbname=cfg.name, user=cfg.user,
        connect_timeout=max(1, min(CONNECT_TIMEOUT_SECONDS, int(timeout + 0.999))),
        application_name="mlflow-entrypoint", **kwargs,
    )
    conn.close()


def backoff_delays(initial: float = INITIAL_DELAY_SECONDS, maximum: float = MAX_DELAY_SECONDS):
    delay = initial
    while True:
        yield delay
        delay = min(delay * 2, maximum)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"


def wait_for_database(
    cfg: DbConfig,
    timeout: float,
    connect: Callable[[DbConfig, float], None] = psycopg2_connect,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Tries to connect until it works or `timeout` seconds pass; returns the attempts made.

    Only connection errors are retried. Logs one line per failed attempt (never the
    password); raises DatabaseUnavailable on timeout and LoginRejected at once when the
    database refuses the login. A timeout of 0 skips the wait.
    """
    if timeout == 0:
        log(f"DB_WAIT_TIMEOUT_SECONDS=0: not waiting for database {cfg.describe()}")
        return 0
    start = clock()
    deadline = start + timeout
    delays = backoff_delays()
    attempt = 0
    while True:
        attempt += 1
        try:
            connect(cfg, max(0.0, deadline - clock()))
        except Exception as e:
            reason = cfg.scrub(_one_line(e))
            if not is_connection_error(e):
                # A rejected login (or a bug) stays the same however long we wait.
                raise cfg.login_rejected(reason) if is_login_rejected(e) else RuntimeError(
                    f"connecting to database {cfg.describe()} failed: {reason}") from None
            elapsed = clock() - start
            remaining = deadline - clock()
            if remaining <= 0:
                log(f"database {cfg.describe()} not reachable, attempt {attempt} failed after "
                    f"{elapsed:.1f}s: {reason}")
                raise DatabaseUnavailable(
                    f"database {cfg.describe()} not reachable within {timeout:g}s "
                    f"(DB_WAIT_TIMEOUT_SECONDS) after {attempt} attempts; last error: {reason}"
                ) from None
            delay = min(next(delays), remaining)
            log(f"waiting for database {cfg.describe()}: attempt {attempt} failed "
                f"({elapsed:.1f}s of {timeout:g}s): {reason}; retrying in {delay:.1f}s")
            sleep(delay)
            continue
        log(f"database {cfg.describe()} is reachable (attempt {attempt}, "
            f"{clock() - start:.1f}s)")
        return attempt


# --- migrate ---------------------------------------------------------------------------

def _is_transient_db_error(error: BaseException) -> bool:
    try:
        import sqlalchemy.exc
    except ImportError:  # pragma: no cover - sqlalchemy ships with mlflow
        return False
    if is_login_rejected(error):
        return False
    return isinstance(error, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)) \
        or getattr(error, "connection_invalidated", False)


def upgrade_schema(uri: str) -> tuple[str | None, str]:
    """Brings the schema to head like `mlflow db upgrade`; returns (before, after) revisions."""
    import sqlalchemy
    from mlflow.store.db import utils as db_utils

    engine = sqlalchemy.create_engine(uri, poolclass=sqlalchemy.pool.NullPool)
    try:
        head = db_utils._get_latest_schema_revision()
        if db_utils._is_empty_database(engine):
            log(f"empty database: creating MLflow tables at schema revision {head}")
            db_utils._initialize_tables(engine)
            return None, db_utils._get_schema_version(engine)
        before = db_utils._get_schema_version(engine)
        if before == head:
            log(f"schema already at head revision {head}: nothing to do")
            return before, before
        log(f"upgrading schema from revision {before} to {head}")
        db_utils._upgrade_db(engine)
        return before, db_utils._get_schema_version(engine)
    finally:
        engine.dispose()


def migrate(
    cfg: DbConfig,
    wait_timeout: float,
    attempts: int,
    upgrade: Callable[[str], tuple[str | None, str]] = upgrade_schema,
    wait: Callable[[DbConfig, float], int] = wait_for_database,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Waits for the database, then upgrades its schema with bounded retries."""
    wait(cfg, wait_timeout)
    delays = backoff_delays(initial=2.0, maximum=30.0)
    for attempt in range(1, attempts + 1):
        try:
            log(f"migrating database {cfg.describe()} (attempt {attempt} of {attempts})")
            before, after = upgrade(cfg.uri())
            log(f"migration done: schema revision {before or '(empty)'} -> {after}")
            return after
        except Exception as e:
            reason = cfg.scrub(_one_line(e))
            if is_login_rejected(e):
                raise cfg.login_rejected(reason) from None
            if attempt == attempts or not _is_transient_db_error(e):
                raise RuntimeError(f"migration of {cfg.describe()} failed on attempt {attempt} "
                                   f"of {attempts}: {reason}") from None
            delay = next(delays)
            log(f"migration attempt {attempt} failed: {reason}; retrying in {delay:.0f}s")
            sleep(delay)
    raise AssertionError("unreachable")


# --- server ----------------------------------------------------------------------------

def server_command(args: Sequence[str]) -> list[str]:
    """The argv that replaces this process: mlflow of this same interpreter, with drain mode."""
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag in FORBIDDEN_SERVER_FLAGS:
            raise ConfigError(f"{flag} is not accepted: the database URI is built from DB_* "
                              "variables and passed in env MLFLOW_BACKEND_STORE_URI, so the "
                              "password never appears on a command line")
    return [sys.executable, "-m", "mlflow", "server", *with_drain_protocol(args)]


def with_drain_protocol(args: Sequence[str]) -> list[str]:
    """Adds `--http mlflow_drain:...` to uvicorn's options (before the user's, which win)."""
    args = list(args)
    if any(a.split("=", 1)[0] in NOT_UVICORN_FLAGS for a in args):
        log("not uvicorn (--gunicorn-opts, --waitress-opts or --dev): no drain mode on shutdown")
        return args
    ours = f"--http {DRAIN_PROTOCOL}"
    for i, arg in enumerate(args):
        if arg == "--uvicorn-opts" and i + 1 < len(args):
            args[i + 1] = f"{ours} {args[i + 1]}"
            return args
        if arg.startswith("--uvicorn-opts="):
            args[i] = f"--uvicorn-opts={ours} {arg.split('=', 1)[1]}"
            return args
    return [*args, "--uvicorn-opts", ours]


def drain_file(env: Mapping[str, str]) -> str:
    """Where `drain` marks drain mode for the server: in TMPDIR, the pod's writable emptyDir."""
    return os.path.join(env.get("TMPDIR") or "/tmp", "mlflow-draining")


def server_env(env: Mapping[str, str], cfg: DbConfig) -> dict[str, str]:
    child = dict(env)
    child["MLFLOW_BACKEND_STORE_URI"] = cfg.uri()
    # mlflow needs only the URI; don't hand the raw password to every child process.
    child.pop("DB_PASSWORD", None)
    child["MLFLOW_DRAIN_FILE"] = drain_file(env)
    # uvicorn's workers import mlflow_drain from this script's directory.
    here = os.path.dirname(os.path.realpath(__file__))
    child["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    return child


def drain(env: Mapping[str, str], args: Sequence[str], sleep: Callable[[float], None] = time.sleep) -> bool:
    """preStop: drain mode on, then wait while the Service drops the pod and clients move.

    Returns False when drain mode could not be turned on (it still waits: the pause alone
    keeps new connections away until the Service has dropped the pod)."""
    if len(args) > 1:
        raise ConfigError(f"drain takes at most one argument (seconds), got {' '.join(args)}")
    seconds = DEFAULT_DRAIN_SECONDS
    if args:
        try:
            seconds = float(args[0])
        except ValueError:
            raise ConfigError(f"drain: seconds must be a number, got {args[0]!r}") from None
        if not 0 <= seconds < float("inf"):
            raise ConfigError(f"drain: seconds must be a finite number >= 0, got {args[0]!r}")
    path = drain_file(env)
    try:
        with open(path, "w", encoding="utf-8"):
            pass
        log(f"drain mode on ({path}): responses say Connection: close; waiting {seconds:g}s before SIGTERM")
    except OSError as e:
        log(f"error: cannot create {path} ({e.strerror}): no drain mode; waiting {seconds:g}s before SIGTERM")
        sleep(seconds)
        return False
    sleep(seconds)
    return True


# --- basic auth ------------------------------------------------------------------------

AUTH_PERMISSIONS = ("READ", "EDIT", "MANAGE", "NO_PERMISSIONS")


def wants_basic_auth(args: Sequence[str]) -> bool:
    """True when the server flags include `--app-name basic-auth` (either spelling)."""
    for i, arg in enumerate(args):
        if arg == "--app-name=basic-auth" or (arg == "--app-name" and i + 1 < len(args) and args[i + 1] == "basic-auth"):
            return True
    return False


def write_auth_config(env: Mapping[str, str], cfg: DbConfig, directory: str) -> str:
    """
    MLflow's basic-auth app reads its user store's database_uri only from an ini file
    (default: sqlite in the working directory, which a read-only root filesystem refuses
    and a pod restart would lose). Write one, readable by this user only, that keeps the
    users in the same PostgreSQL database. The admin credentials stay in
    MLFLOW_AUTH_ADMIN_USERNAME / MLFLOW_AUTH_ADMIN_PASSWORD, which MLflow reads itself.
    """
    required = {
        "MLFLOW_AUTH_ADMIN_USERNAME": "the admin user created on first start",
        "MLFLOW_AUTH_ADMIN_PASSWORD": "the admin user created on first start",
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "the CSRF key, the same on every replica",
    }
    for name, why in required.items():
        if not env.get(name, "").strip():
            raise ConfigError(f"{name} is required with --app-name basic-auth ({why})")
    permission = env.get("MLFLOW_AUTH_DEFAULT_PERMISSION", "READ")
    if permission not in AUTH_PERMISSIONS:
        raise ConfigError(f"MLFLOW_AUTH_DEFAULT_PERMISSION={permission!r} is not one of {', '.join(AUTH_PERMISSIONS)}")
    path = os.path.join(directory, "mlflow-auth.ini")
    # configparser interpolates '%': the URL-encoded password must have it doubled.
    text = (
        "[mlflow]\n"
        f"default_permission = {permission}\n"
        f"database_uri = {cfg.uri().replace('%', '%%')}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


USAGE = (
    "usage: mlflow-entrypoint server [mlflow server flags...]\n"
    "       mlflow-entrypoint migrate\n"
    "       mlflow-entrypoint wait\n"
    "       mlflow-entrypoint drain [seconds]\n"
    "The database comes from env DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD "
    "(or DB_PASSWORD_FILE, or DB_AUTH=iam for none), DB_SSLMODE; see the module docstring."
)


def main(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    command, rest = argv[0], list(argv[1:])
    try:
        if command not in ("server", "migrate", "wait", "drain"):
            raise ConfigError(f"unknown subcommand {command!r}\n{USAGE}")
        if command == "drain":
            return 0 if drain(env, rest) else 1
        if command != "server" and rest:
            raise ConfigError(f"{command} takes no arguments, got {' '.join(rest)}")
        cfg = db_config_from_env(env)
        timeout = wait_timeout_from_env(env)
        if command == "server":
            cmd = server_command(rest)
            child_env = server_env(env, cfg)
            if wants_basic_auth(rest) and "MLFLOW_AUTH_CONFIG_PATH" not in env:
                child_env["MLFLOW_AUTH_CONFIG_PATH"] = write_auth_config(env, cfg, env.get("TMPDIR", "/tmp"))
                log("basic auth: user store in the backend database (config written to $TMPDIR, mode 0600)")
            wait_for_database(cfg, timeout)
            # A drain file left by a preStop hook before a container restart (a failed liveness
            # probe runs it too) would keep this server closing every connection.
            if os.path.exists(child_env["MLFLOW_DRAIN_FILE"]):
                os.remove(child_env["MLFLOW_DRAIN_FILE"])
            log(f"starting mlflow server with backend {cfg.redacted_uri()}: "
                f"mlflow server {' '.join(cmd[4:])}")
            os.execve(cmd[0], cmd, child_env)
        elif command == "migrate":
            migrate(cfg, timeout, migrate_attempts_from_env(env))
        else:
            wait_for_database(cfg, timeout)
        return 0
    except ConfigError as e:
        log(f"configuration error: {e}")
        return 2
    except (DatabaseUnavailable, LoginRejected) as e:
        log(f"error: {e}")
        return 1
    except RuntimeError as e:
        log(f"error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

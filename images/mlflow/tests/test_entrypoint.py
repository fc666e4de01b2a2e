"""Unit tests for mlflow_entrypoint: URI building, env validation, the wait loop, migrate retries.

Run from the venv made by packages/testbed/scripts/install-python.sh:
    <venv>/bin/python -m pytest images/mlflow/tests
"""

import os
import socket
import sys
from pathlib import Path

import pytest
import sqlalchemy
import sqlalchemy.exc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import mlflow_entrypoint as ep  # noqa: E402

SPECIAL = "p@ss:w/o?r#d%20&+ é"
BASE_ENV = {
    "DB_HOST": "db.example.internal",
    "DB_NAME": "mlflow",
    "DB_USER": "mlflow",
    "DB_PASSWORD": "s3cret",
}


def env(**overrides):
    merged = {**BASE_ENV, **overrides}
    return {k: v for k, v in merged.items() if v is not None}


# --- URI building ------------------------------------------------------------------------

def test_uri_uses_psycopg2_driver_and_default_port():
    assert ep.build_backend_uri(env()) == \
        "postgresql+psycopg2://mlflow:s3cret@db.example.internal:5432/mlflow"


def test_password_with_url_special_characters_round_trips_through_sqlalchemy():
    uri = ep.build_backend_uri(env(DB_PASSWORD=SPECIAL, DB_USER="ml@flow:user"))
    url = sqlalchemy.make_url(uri)
    assert url.password == SPECIAL
    assert url.username == "ml@flow:user"
    assert url.host == "db.example.internal"
    assert url.port == 5432
    assert url.database == "mlflow"
    assert "://ml%40flow%3Auser:p%40ss%3Aw%2Fo%3Fr%23d%2520%26%2B%20%C3%A9@db." in uri


def test_database_name_is_encoded_too():
    url = sqlalchemy.make_url(ep.build_backend_uri(env(DB_NAME="ml/flow#1")))
    assert url.database == "ml/flow#1"


def test_sslmode_and_port_are_applied():
    uri = ep.build_backend_uri(env(DB_PORT="6543", DB_SSLMODE="verify-full"))
    url = sqlalchemy.make_url(uri)
    assert url.port == 6543
    assert url.query == {"sslmode": "verify-full"}


def test_ipv6_host_is_bracketed():
    url = sqlalchemy.make_url(ep.build_backend_uri(env(DB_HOST="::1")))
    assert url.host == "::1"


def test_iam_auth_builds_a_uri_without_a_password():
    cfg = ep.db_config_from_env(env(DB_AUTH="iam", DB_PASSWORD=None, DB_USER="mlflow@my-proj.iam",
                                    DB_HOST="127.0.0.1"))
    uri = cfg.uri()
    assert uri == "postgresql+psycopg2://mlflow%40my-proj.iam@127.0.0.1:5432/mlflow"
    url = sqlalchemy.make_url(uri)
    assert url.username == "mlflow@my-proj.iam"
    assert url.password is None
    assert cfg.redacted_uri() == uri


@pytest.mark.parametrize("given", ["DB_PASSWORD", "DB_PASSWORD_FILE"])
def test_iam_auth_refuses_a_password(given, capsys):
    overrides = {"DB_AUTH": "iam", "DB_PASSWORD": None, given: "/run/pw" if given.endswith("FILE") else "s3cret"}
    with pytest.raises(ep.ConfigError, match=f"DB_AUTH=iam uses no password, but {given} is set"):
        ep.db_config_from_env(env(**overrides))
    assert ep.main(["wait"], env(**overrides)) == 2
    assert "s3cret" not in capsys.readouterr().err


def test_unknown_db_auth_is_rejected():
    with pytest.raises(ep.ConfigError, match="DB_AUTH must be one of password, iam, got 'token'"):
        ep.db_config_from_env(env(DB_AUTH="token"))


def test_iam_auth_connects_without_a_password_argument(monkeypatch):
    seen = {}

    class FakeConnection:  # a fake: records the connect() keywords, connects nowhere
        def close(self):
            pass

    def fake_connect(**kwargs):
        seen.update(kwargs)
        return FakeConnection()

    import psycopg2
    monkeypatch.setattr(psycopg2, "connect", fake_connect)
    ep.psycopg2_connect(ep.db_config_from_env(env(DB_AUTH="iam", DB_PASSWORD=None)), 5)
    assert "password" not in seen and seen["user"] == "mlflow"
    ep.psycopg2_connect(ep.db_config_from_env(env()), 5)
    assert seen["password"] == "s3cret"


def test_redacted_uri_and_repr_never_contain_the_password():
    cfg = ep.db_config_from_env(env(DB_PASSWORD=SPECIAL))
    assert SPECIAL not in cfg.redacted_uri()
    assert "***" in cfg.redacted_uri()
    assert SPECIAL not in repr(cfg)


def test_scrub_removes_raw_and_encoded_password():
    cfg = ep.db_config_from_env(env(DB_PASSWORD=SPECIAL))
    encoded = cfg.uri().split(":")[2].split("@db")[0]
    text = ep.DbConfig.scrub(cfg, f"failed for {SPECIAL} and {encoded}")
    assert SPECIAL not in text and encoded not in text


def test_password_can_come_from_a_file(tmp_path):
    secret = tmp_path / "password"
    secret.write_text(SPECIAL + "\n")
    cfg = ep.db_config_from_env(env(DB_PASSWORD=None, DB_PASSWORD_FILE=str(secret)))
    assert cfg.password == SPECIAL


# --- validation --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["DB_HOST", "DB_NAME", "DB_USER", "DB_PASSWORD"])
def test_missing_variable_is_named_in_the_error(name):
    with pytest.raises(ep.ConfigError, match=name):
        ep.db_config_from_env(env(**{name: None}))


@pytest.mark.parametrize("name", ["DB_HOST", "DB_NAME", "DB_USER", "DB_PASSWORD"])
def test_empty_variable_counts_as_missing(name):
    with pytest.raises(ep.ConfigError, match=name):
        ep.db_config_from_env(env(**{name: ""}))


@pytest.mark.parametrize("port", ["abc", "0", "65536", "-1", "54.32"])
def test_invalid_port_is_rejected(port):
    with pytest.raises(ep.ConfigError, match="DB_PORT"):
        ep.db_config_from_env(env(DB_PORT=port))


def test_invalid_sslmode_is_rejected():
    with pytest.raises(ep.ConfigError, match="DB_SSLMODE"):
        ep.db_config_from_env(env(DB_SSLMODE="on"))


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_invalid_wait_timeout_is_rejected(value):
    with pytest.raises(ep.ConfigError, match="DB_WAIT_TIMEOUT_SECONDS"):
        ep.wait_timeout_from_env({"DB_WAIT_TIMEOUT_SECONDS": value})


def test_wait_timeout_defaults_to_300_seconds():
    assert ep.wait_timeout_from_env({}) == 300


def test_unreadable_password_file_is_named(tmp_path):
    with pytest.raises(ep.ConfigError, match="DB_PASSWORD_FILE"):
        ep.db_config_from_env(env(DB_PASSWORD=None, DB_PASSWORD_FILE=str(tmp_path / "nope")))


def test_main_reports_the_missing_variable_and_exits_2(capsys):
    assert ep.main(["server"], env=env(DB_HOST=None)) == 2
    assert "DB_HOST" in capsys.readouterr().err


def test_main_rejects_unknown_subcommand(capsys):
    assert ep.main(["serve"], env=env()) == 2
    assert "unknown subcommand" in capsys.readouterr().err


# --- server ------------------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["--backend-store-uri", "--backend-store-uri=postgresql://x",
                                  "--registry-store-uri"])
def test_server_refuses_uri_flags_that_would_expose_the_password(flag):
    with pytest.raises(ep.ConfigError, match="command line"):
        ep.server_command(["--host", "0.0.0.0", flag, "x"])


def test_server_command_runs_mlflow_of_this_interpreter_with_the_given_flags_and_drain_mode():
    args = ["--host", "0.0.0.0", "--port", "5000", "--serve-artifacts",
            "--artifacts-destination", "gs://b/p"]
    assert ep.server_command(args) == [sys.executable, "-m", "mlflow", "server", *args,
                                       "--uvicorn-opts", "--http mlflow_drain:DrainingH11Protocol"]


@pytest.mark.parametrize("given,expected", [
    (["--uvicorn-opts", "--timeout-keep-alive 20"],
     ["--uvicorn-opts", "--http mlflow_drain:DrainingH11Protocol --timeout-keep-alive 20"]),
    (["--uvicorn-opts=--log-level debug"],
     ["--uvicorn-opts=--http mlflow_drain:DrainingH11Protocol --log-level debug"]),
])
def test_drain_protocol_goes_before_the_users_own_uvicorn_options(given, expected):
    assert ep.with_drain_protocol(given) == expected


@pytest.mark.parametrize("flag", ["--gunicorn-opts", "--waitress-opts", "--dev"])
def test_no_drain_protocol_when_the_server_is_not_uvicorn(flag, capsys):
    assert ep.with_drain_protocol([flag, "x"]) == [flag, "x"]
    assert "no drain mode" in capsys.readouterr().err


def test_server_env_carries_the_uri_and_drops_the_raw_password():
    e = env(DB_PASSWORD=SPECIAL, HOME="/tmp")
    child = ep.server_env(e, ep.db_config_from_env(e))
    assert sqlalchemy.make_url(child["MLFLOW_BACKEND_STORE_URI"]).password == SPECIAL
    assert "DB_PASSWORD" not in child
    assert child["HOME"] == "/tmp"


def test_server_env_names_the_drain_file_and_puts_the_drain_module_on_the_path():
    e = env(TMPDIR="/scratch", PYTHONPATH="/extra")
    child = ep.server_env(e, ep.db_config_from_env(e))
    assert child["MLFLOW_DRAIN_FILE"] == "/scratch/mlflow-draining"
    here = str(Path(ep.__file__).resolve().parent)
    assert child["PYTHONPATH"] == f"{here}{os.pathsep}/extra"
    assert (Path(here) / "mlflow_drain.py").is_file()


# --- drain (preStop) -----------------------------------------------------------------------

def test_drain_creates_the_drain_file_then_waits_the_given_seconds(tmp_path):
    slept = []
    assert ep.drain({"TMPDIR": str(tmp_path)}, ["7.5"], sleep=slept.append) is True
    assert (tmp_path / "mlflow-draining").exists()
    assert slept == [7.5]


def test_drain_waits_ten_seconds_by_default(tmp_path):
    slept = []
    assert ep.drain({"TMPDIR": str(tmp_path)}, [], sleep=slept.append) is True
    assert slept == [10.0]


def test_drain_needs_no_database_variables(tmp_path):
    assert ep.main(["drain", "0"], env={"TMPDIR": str(tmp_path)}) == 0
    assert (tmp_path / "mlflow-draining").exists()


@pytest.mark.parametrize("args,message", [(["soon"], "'soon'"), (["-1"], "'-1'"), (["1", "2"], "at most one")])
def test_drain_rejects_bad_seconds_naming_them(args, message, tmp_path, capsys):
    assert ep.main(["drain", *args], env={"TMPDIR": str(tmp_path)}) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "mlflow-draining").exists()


def test_drain_still_waits_when_the_drain_file_cannot_be_written(tmp_path, capsys):
    slept = []
    assert ep.drain({"TMPDIR": str(tmp_path / "missing")}, ["3"], sleep=slept.append) is False
    assert slept == [3.0]
    assert "no drain mode" in capsys.readouterr().err


# --- basic auth --------------------------------------------------------------------------

@pytest.mark.parametrize("args,expected", [
    (["--app-name", "basic-auth"], True),
    (["--host", "0.0.0.0", "--app-name=basic-auth"], True),
    (["--app-name"], False),
    (["--host", "basic-auth"], False),
])
def test_basic_auth_is_recognised_in_either_flag_spelling(args, expected):
    assert ep.wants_basic_auth(args) is expected


def test_auth_config_keeps_users_in_the_backend_database_readable_only_by_us(tmp_path):
    import configparser
    e = env(DB_PASSWORD=SPECIAL, MLFLOW_AUTH_ADMIN_USERNAME="admin", MLFLOW_AUTH_ADMIN_PASSWORD="a-strong-one",
            MLFLOW_FLASK_SERVER_SECRET_KEY="k" * 32, MLFLOW_AUTH_DEFAULT_PERMISSION="EDIT")
    cfg = ep.db_config_from_env(e)
    path = ep.write_auth_config(e, cfg, str(tmp_path))
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    parsed = configparser.ConfigParser()  # the same default interpolation MLflow uses
    parsed.read(path)
    assert parsed["mlflow"]["default_permission"] == "EDIT"
    assert sqlalchemy.make_url(parsed["mlflow"]["database_uri"]).password == SPECIAL
    assert "a-strong-one" not in open(path).read()


@pytest.mark.parametrize("missing", ["MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD",
                                     "MLFLOW_FLASK_SERVER_SECRET_KEY"])
def test_auth_config_requires_the_admin_credentials_and_csrf_key(tmp_path, missing):
    e = env(MLFLOW_AUTH_ADMIN_USERNAME="admin", MLFLOW_AUTH_ADMIN_PASSWORD="pw", MLFLOW_FLASK_SERVER_SECRET_KEY="k")
    e.pop(missing)
    with pytest.raises(ep.ConfigError, match=missing):
        ep.write_auth_config(e, ep.db_config_from_env(e), str(tmp_path))


def test_auth_config_rejects_an_unknown_default_permission(tmp_path):
    e = env(MLFLOW_AUTH_ADMIN_USERNAME="admin", MLFLOW_AUTH_ADMIN_PASSWORD="pw", MLFLOW_FLASK_SERVER_SECRET_KEY="k",
            MLFLOW_AUTH_DEFAULT_PERMISSION="ALL")
    with pytest.raises(ep.ConfigError, match="READ, EDIT, MANAGE, NO_PERMISSIONS"):
        ep.write_auth_config(e, ep.db_config_from_env(e), str(tmp_path))


# --- waiting for the database --------------------------------------------------------------

def closed_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_wait_gives_up_on_a_closed_port_after_the_timeout(capsys):
    cfg = ep.db_config_from_env(env(DB_HOST="127.0.0.1", DB_PORT=str(closed_loopback_port()),
                                    DB_PASSWORD=SPECIAL))
    with pytest.raises(ep.DatabaseUnavailable, match="DB_WAIT_TIMEOUT_SECONDS") as info:
        ep.wait_for_database(cfg, timeout=1.5)
    err = capsys.readouterr().err
    assert "waiting for database mlflow@127.0.0.1" in err
    assert "attempt 1 failed" in err
    assert "Connection refused" in err or "could not connect" in err.lower()
    assert SPECIAL not in err and SPECIAL not in str(info.value)


def test_wait_backs_off_and_returns_once_the_database_answers(capsys):
    cfg = ep.db_config_from_env(env())
    now = [0.0]
    sleeps = []
    failures = iter([OSError("refused"), OSError("refused"), OSError("refused")])

    def fake_connect(_cfg, _timeout):
        err = next(failures, None)
        if err:
            raise err

    def fake_sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    attempts = ep.wait_for_database(cfg, 60, connect=fake_connect, sleep=fake_sleep,
                                    clock=lambda: now[0])
    assert attempts == 4
    assert sleeps == [1.0, 2.0, 4.0]
    assert capsys.readouterr().err.count("retrying in") == 3


def test_wait_never_sleeps_past_the_deadline():
    now = [0.0]
    sleeps = []

    def fake_connect(_cfg, _timeout):
        raise OSError("refused")

    def fake_sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    with pytest.raises(ep.DatabaseUnavailable):
        ep.wait_for_database(ep.db_config_from_env(env()), 20, connect=fake_connect,
                             sleep=fake_sleep, clock=lambda: now[0])
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 5.0]
    assert max(sleeps) <= ep.MAX_DELAY_SECONDS


# Fakes below raise psycopg2's own error type with the texts libpq 16 and PostgreSQL 15 print.
def fake_psycopg2_error(text):
    import psycopg2
    return psycopg2.OperationalError(text)


WRONG_PASSWORD = ('connection to server at "db.example.internal" (10.0.0.5), port 5432 failed: '
                  'FATAL:  password authentication failed for user "mlflow"\n')
STARTING_UP = ('connection to server at "db.example.internal" (10.0.0.5), port 5432 failed: '
               'FATAL:  the database system is starting up\n')


def counting_fake_connect(*errors):
    calls = []

    def fake_connect(_cfg, _timeout):
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
    return fake_connect, calls


@pytest.mark.parametrize("text", [
    WRONG_PASSWORD,
    'FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "mlflow", database "mlflow", no encryption',
    'FATAL:  role "mlflow" does not exist',
    'FATAL:  database "mlflow" does not exist',
    "fe_sendauth: no password supplied",
    'FATAL:  Cloud SQL IAM user authentication failed for user "mlflow@p.iam"',
])
def test_wait_fails_fast_when_the_database_rejects_the_login(text, capsys):
    cfg = ep.db_config_from_env(env(DB_PASSWORD=SPECIAL))
    fake_connect, calls = counting_fake_connect(*[fake_psycopg2_error(text)] * 5)
    sleeps = []
    with pytest.raises(ep.LoginRejected) as info:
        ep.wait_for_database(cfg, 300, connect=fake_connect, sleep=sleeps.append)
    assert len(calls) == 1 and sleeps == []
    message = str(info.value)
    assert "db.example.internal:5432 rejected the login of user 'mlflow'" in message
    assert "not retrying" in message
    assert SPECIAL not in message and SPECIAL not in capsys.readouterr().err


def test_a_rejected_login_with_a_trailing_newline_in_the_password_says_so():
    cfg = ep.db_config_from_env(env(DB_PASSWORD="s3cret\n"))
    fake_connect, _ = counting_fake_connect(fake_psycopg2_error(WRONG_PASSWORD))
    with pytest.raises(ep.LoginRejected, match="ends with whitespace or a line break") as info:
        ep.wait_for_database(cfg, 300, connect=fake_connect, sleep=lambda s: None)
    assert "s3cret" not in str(info.value)


def test_wait_retries_a_database_that_is_starting_up():
    fake_connect, calls = counting_fake_connect(fake_psycopg2_error(STARTING_UP), OSError("refused"))
    assert ep.wait_for_database(ep.db_config_from_env(env()), 60, connect=fake_connect,
                                sleep=lambda s: None) == 3
    assert len(calls) == 3


def test_wait_does_not_retry_an_error_that_is_not_a_connection_error():
    fake_connect, calls = counting_fake_connect(*[ValueError("invalid dsn")] * 5)
    with pytest.raises(RuntimeError, match="invalid dsn"):
        ep.wait_for_database(ep.db_config_from_env(env()), 60, connect=fake_connect,
                             sleep=lambda s: None)
    assert len(calls) == 1


def test_wait_timeout_zero_skips_waiting():
    def fake_connect(_cfg, _timeout):
        raise AssertionError("must not connect")

    assert ep.wait_for_database(ep.db_config_from_env(env()), 0, connect=fake_connect) == 0


# --- migrate -----------------------------------------------------------------------------

def transient_error():
    return sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))


def test_migrate_retries_transient_errors_then_succeeds():
    calls = []

    def fake_upgrade(uri):
        calls.append(uri)
        if len(calls) < 3:
            raise transient_error()
        return "abc", "def"

    cfg = ep.db_config_from_env(env())
    result = ep.migrate(cfg, 1, 5, upgrade=fake_upgrade, wait=lambda c, t: 1,
                        sleep=lambda s: None)
    assert result == "def"
    assert len(calls) == 3


def test_migrate_gives_up_after_the_attempt_limit_without_leaking_the_password():
    cfg = ep.db_config_from_env(env(DB_PASSWORD=SPECIAL))

    def fake_upgrade(uri):
        raise sqlalchemy.exc.OperationalError("x", {}, Exception(f"bad {SPECIAL}"))

    with pytest.raises(RuntimeError, match="attempt 3 of 3") as info:
        ep.migrate(cfg, 1, 3, upgrade=fake_upgrade, wait=lambda c, t: 1, sleep=lambda s: None)
    assert SPECIAL not in str(info.value)


def test_migrate_does_not_retry_a_non_transient_error():
    calls = []

    def fake_upgrade(uri):
        calls.append(uri)
        raise ValueError("schema is newer than this MLflow")

    with pytest.raises(RuntimeError, match="attempt 1 of 5"):
        ep.migrate(ep.db_config_from_env(env()), 1, 5, upgrade=fake_upgrade,
                   wait=lambda c, t: 1, sleep=lambda s: None)
    assert len(calls) == 1


def test_migrate_does_not_retry_a_rejected_login():
    calls = []

    def fake_upgrade(uri):
        calls.append(uri)
        raise sqlalchemy.exc.OperationalError("connect", {}, fake_psycopg2_error(WRONG_PASSWORD))

    with pytest.raises(ep.LoginRejected, match="rejected the login of user 'mlflow'"):
        ep.migrate(ep.db_config_from_env(env()), 1, 5, upgrade=fake_upgrade,
                   wait=lambda c, t: 1, sleep=lambda s: None)
    assert len(calls) == 1


def test_invalid_migrate_attempts_is_rejected():
    with pytest.raises(ep.ConfigError, match="MIGRATE_ATTEMPTS"):
        ep.migrate_attempts_from_env({"MIGRATE_ATTEMPTS": "0"})

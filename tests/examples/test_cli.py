"""The mediagen command as a user meets it: help texts in plain words (no reStructuredText markup), and
normal use without Airflow's RFC 3986 warning about the provider's connection types."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_mediagen.cli import NAMESPACE_LEVELS, quiet_connection_scheme_warning

HELPS = [[], ["sim"], ["demo"], ["connectors"], ["connectors", "build"], ["webhook"]]


def _mediagen(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "airflow_provider_mediagen.cli", *args], capture_output=True,
                          text=True, check=False, timeout=180, env=env)


@pytest.mark.parametrize("command", HELPS, ids=lambda c: " ".join(c) or "mediagen")
def test_help_has_no_restructuredtext_markup(command: list[str]) -> None:
    done = _mediagen(*command, "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage: mediagen" in done.stdout
    assert "``" not in done.stdout, done.stdout


def _env_with_apex_connection(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != NAMESPACE_LEVELS}
    env["AIRFLOW_HOME"] = str(tmp_path / "home")  # no airflow.cfg of its own: Airflow's defaults
    from cryptography.fernet import Fernet

    env["AIRFLOW__CORE__FERNET_KEY"] = Fernet.generate_key().decode()  # as a set-up installation has one
    env["AIRFLOW_CONN_MEDIAGEN_APEX_DEFAULT"] = json.dumps({
        "conn_type": "mediagen_apex", "host": "http://127.0.0.1:9/apex", "password": "sk_live_cli-test",
        "extra": {"webhook_secret": "a-long-enough-webhook-secret", "webhook_base_url": "https://airflow.example"}})
    return env


def test_a_cli_call_reading_a_mediagen_connection_is_silent(tmp_path: Path) -> None:
    """``mediagen webhook show`` reads the connection through Airflow's secrets backends (the path that
    logs the warning) and prints only its answer."""
    done = _mediagen("webhook", "show", "--service", "apex", env=_env_with_apex_connection(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "https://airflow.example/mediagen/webhooks/apex/mediagen_apex_default?token=***"
    output = done.stdout + done.stderr
    assert "RFC3986" not in output and "shall not contain" not in output, output[-2000:]


def test_a_level_the_user_set_for_that_logger_wins(tmp_path: Path) -> None:
    """The silencing goes through Airflow's [logging] namespace_levels: a user who asks for that logger's
    warnings gets them (which also shows the warning is real, and where it comes from)."""
    env = {**_env_with_apex_connection(tmp_path), NAMESPACE_LEVELS: "airflow.models.connection.Connection=warning"}
    done = _mediagen("webhook", "show", "--service", "apex", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "shall not contain '_' according to RFC3986" in done.stdout + done.stderr


def test_the_users_own_levels_are_kept(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "airflow.cfg").write_text("[logging]\nnamespace_levels = sqlalchemy=INFO httpx=DEBUG\n")
    environ = {"AIRFLOW_HOME": str(home)}
    quiet_connection_scheme_warning(environ)
    assert environ[NAMESPACE_LEVELS] == "sqlalchemy=INFO httpx=DEBUG airflow.models.connection.Connection=error"
    environ = {"AIRFLOW_HOME": str(home), NAMESPACE_LEVELS: "botocore=ERROR"}  # the variable overrides the file
    quiet_connection_scheme_warning(environ)
    assert environ[NAMESPACE_LEVELS] == "botocore=ERROR airflow.models.connection.Connection=error"
    environ = {"AIRFLOW_HOME": str(home), NAMESPACE_LEVELS: "airflow.models.connection.Connection=debug"}
    quiet_connection_scheme_warning(environ)
    assert environ[NAMESPACE_LEVELS] == "airflow.models.connection.Connection=debug"


@pytest.mark.parametrize("command", ["sim", "demo"])
def test_without_the_sim_extra_the_command_says_which_pip_line_fixes_it(command: str) -> None:
    """Before: ``mediagen sim`` started without ``av`` and its first video job failed, far from the cause.
    Here ``av`` and ``pyjwt``'s module are made unimportable in the child, as if never installed."""
    code = ("import sys; sys.modules['av'] = None; sys.modules['jwt'] = None; "
            "from airflow_provider_mediagen.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, command, "--port", "0"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "av, pyjwt are not installed" in done.stderr and "pip install 'airflow-provider-mediagen[sim]'" in done.stderr
    assert "READY" not in done.stdout  # nothing was started


def test_with_the_sim_extra_nothing_is_reported_missing() -> None:
    from airflow_provider_mediagen.extras import missing

    assert missing("sim") == []

"""Settings: the environment wins over .env; a missing variable stops the start with its name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.sealed import new_key
from tests.app_process import ROOT

FULL = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_SIGNING_SECRET": "s3cret",
    "BROWSER_USE_API_KEY": "bu_1",
}


def python_m_bot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot [args]` in an empty folder, with `env` and nothing else."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
    )


def test_missing_variables_are_all_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({}, tmp_path / ".env")
    message = str(caught.value)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "BROWSER_USE_API_KEY"):
        assert name in message


def test_socket_mode_needs_the_app_token_instead_of_the_signing_secret(tmp_path: Path) -> None:
    env = {**FULL, "SLACK_APP_TOKEN": "xapp-1"}
    del env["SLACK_SIGNING_SECRET"]
    settings = load_settings(env, tmp_path / ".env")
    assert settings.socket_mode


def test_dotenv_fills_gaps_but_never_overrides_the_environment(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("SLACK_BOT_TOKEN=xoxb-from-file\nPORT=4000\nBROWSER_USE_API_KEY=bu_file\n")
    settings = load_settings({**FULL, "PORT": "5000"}, dotenv)
    assert settings.slack_bot_token.get_secret_value() == "xoxb-1"
    assert settings.port == 5000
    assert settings.browser_use_api_url == "https://api.browser-use.com/api/v2"


def test_bad_values_are_all_named(tmp_path: Path) -> None:
    env = {**FULL, "PORT": "http", "BROWSER_USE_API_URL": "api.browser-use.com"}
    with pytest.raises(ConfigError) as caught:
        load_settings(env, tmp_path / ".env")
    message = str(caught.value)
    assert "PORT must be a whole number" in message
    assert "BROWSER_USE_API_URL must start with http" in message


MANY = {
    "SLACK_CLIENT_ID": "123.456",
    "SLACK_CLIENT_SECRET": "client-s3cret",
    "SLACK_SIGNING_SECRET": "s3cret",
    "SLACK_REDIRECT_URI": "https://bot.example.com/slack/oauth_redirect",
    "ENCRYPTION_KEYS": new_key(),
}


def test_many_workspaces_starts_with_no_token_and_no_key(tmp_path: Path) -> None:
    settings = load_settings(MANY, tmp_path / ".env")
    assert settings.many_workspaces and not settings.socket_mode
    assert settings.slack_bot_token is None and settings.browser_use_api_key is None
    assert "client-s3cret" not in repr(settings) and MANY["ENCRYPTION_KEYS"] not in repr(settings)


def test_many_workspaces_refuses_a_deployment_wide_token_or_key(tmp_path: Path) -> None:
    """A bot token, an app token or a Browser Use key in the environment would act for, or be
    paid by, every workspace: each is named, with why; so is what the mode lacks."""
    env = {**FULL, "SLACK_APP_TOKEN": "xapp-1", **MANY, "ENCRYPTION_KEYS": "not-a-key"}
    del env["SLACK_REDIRECT_URI"]
    with pytest.raises(ConfigError) as caught:
        load_settings(env, tmp_path / ".env")
    message = str(caught.value)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "BROWSER_USE_API_KEY"):
        assert f"{name} must not be set with many workspaces" in message
    assert "SLACK_REDIRECT_URI is not set" in message
    assert "ENCRYPTION_KEYS: not a Fernet key" in message
    # Half of the pair is a mistake too, not a single-workspace start.
    only_id = {**FULL, "SLACK_CLIENT_ID": "123.456"}
    with pytest.raises(ConfigError, match="SLACK_CLIENT_SECRET is not set"):
        load_settings(only_id, tmp_path / ".env")


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    settings = load_settings(FULL, Path("/nonexistent/.env"))
    assert "s3cret" not in repr(settings) and "xoxb-1" not in repr(settings)


@pytest.mark.slow
def test_python_m_bot_exits_non_zero_naming_what_is_missing(tmp_path: Path) -> None:
    result = python_m_bot(tmp_path, SLACK_BOT_TOKEN="xoxb-1")
    assert result.returncode == 2
    assert "BROWSER_USE_API_KEY is not set" in result.stderr
    assert "SLACK_SIGNING_SECRET is not set" in result.stderr
    assert "SLACK_BOT_TOKEN" not in result.stderr


def test_admin_defaults_are_read_and_checked(tmp_path: Path) -> None:
    env = {
        **FULL,
        "DEFAULT_LLM": "gpt-4.1",
        "DEFAULT_MAX_STEPS": "40",
        "DEFAULT_ALLOWED_DOMAINS": "example.com, *.example.com",
    }
    settings = load_settings(env, tmp_path / ".env")
    assert (settings.default_llm, settings.default_max_steps) == ("gpt-4.1", 40)
    assert settings.default_allowed_domains == ("example.com", "*.example.com")
    bad = {
        **FULL,
        "DEFAULT_LLM": "gpt-5000",
        "DEFAULT_MAX_STEPS": "0",
        "DEFAULT_ALLOWED_DOMAINS": "not a domain",
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(bad, tmp_path / ".env")
    message = str(caught.value)
    assert "DEFAULT_LLM 'gpt-5000'" in message
    assert "DEFAULT_MAX_STEPS must be a whole number from 1 to 10000" in message
    assert "DEFAULT_ALLOWED_DOMAINS must be domains" in message


@pytest.mark.slow
def test_a_bad_log_level_is_named_with_the_others_not_a_traceback(tmp_path: Path) -> None:
    result = python_m_bot(tmp_path, LOG_LEVEL="verbose")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL" in result.stderr
    assert "SLACK_BOT_TOKEN is not set" in result.stderr  # every problem at once


def test_log_format_is_text_or_json(tmp_path: Path) -> None:
    assert load_settings({**FULL, "LOG_FORMAT": "JSON"}, tmp_path / ".env").log_format == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT must be text or json"):
        load_settings({**FULL, "LOG_FORMAT": "logfmt"}, tmp_path / ".env")


def test_migrate_needs_only_the_database(tmp_path: Path) -> None:
    """A release phase runs before the app's other variables are set; it reaches only the
    store. Its own mistakes are still named."""
    database = f"sqlite:///{tmp_path}/release.db"
    ran = python_m_bot(tmp_path, "migrate", DATABASE_URL=database, LOG_FORMAT="json")
    assert ran.returncode == 0, ran.stderr
    (line,) = [json.loads(line) for line in ran.stderr.splitlines() if "store.migrated" in line]
    assert line["event"] == "store.migrated" and line["level"] == "INFO"
    refused = python_m_bot(tmp_path, "migrate", DATABASE_URL="nonsense", LOG_LEVEL="loud")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "DATABASE_URL must look like" in refused.stderr and "LOG_LEVEL" in refused.stderr

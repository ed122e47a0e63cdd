"""The README documents what the app offers, so the two cannot drift apart."""

from __future__ import annotations

from pathlib import Path

from handlers.options import OPTIONS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_documents_every_option_and_variable() -> None:
    readme = README.read_text()
    for option in OPTIONS:
        if option.inline:
            for flag in option.flags:
                assert f"`{flag}`" in readme, f"README does not document {flag}"
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "BROWSER_USE_API_KEY",
        "SLACK_APP_TOKEN",
        "DEFAULT_LLM",
        "DEFAULT_MAX_STEPS",
        "DEFAULT_ALLOWED_DOMAINS",
        "BROWSER_USE_TIMEOUT",
        "ADMIN_USER_IDS",
        "BROWSER_USE_WEBHOOK_SECRET",
        "POLL_INTERVAL_SECONDS",
        "SESSION_IDLE_MINUTES",
        "ALLOWED_USER_IDS",
        "ALLOWED_CHANNEL_IDS",
        "MAX_STEPS_LIMIT",
        "ALLOWED_LLMS",
        "FORCED_ALLOWED_DOMAINS",
        "MAX_RUNNING_TASKS_PER_USER",
        "MAX_TASKS_PER_HOUR_PER_USER",
        "BROWSER_USE_REQUESTS_PER_SECOND",
        "LOG_LEVEL",
        "PORT",
    ):
        assert f"`{name}`" in readme, f"README does not document {name}"


def test_every_test_the_promises_name_exists() -> None:
    """The README's promise table names real tests (a renamed test must update the table)."""
    import re

    tests = README.parent / "tests"
    section = README.read_text().split("## What the app promises")[1].split("\n## ")[0]
    for file_name, test_name in re.findall(r"`(test_\w+\.py)::(test_\w+)", section):
        source = (tests / file_name).read_text()
        assert f"def {test_name}" in source, f"{file_name}::{test_name} is gone"


def test_every_variable_the_app_reads_is_in_the_readme_and_env_example() -> None:
    import re

    config = (README.parent / "bot" / "config.py").read_text()
    # The two OAuth variables are named only to be refused; INFO is LOG_LEVEL's default.
    names = set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', config)) - {
        "INFO",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
    }
    assert "BROWSER_USE_API_KEY" in names and len(names) > 20
    readme, example = README.read_text(), (README.parent / ".env.example").read_text()
    for name in sorted(names):
        assert f"`{name}`" in readme, f"README does not document {name}"
        assert name in example, f".env.example does not mention {name}"

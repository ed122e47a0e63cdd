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
        "BROWSER_USE_REQUESTS_PER_SECOND",
        "LOG_LEVEL",
        "PORT",
    ):
        assert f"`{name}`" in readme, f"README does not document {name}"

"""The docs document what the app offers, so the two cannot drift apart; the README stays a front
door that reaches every page of them."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from handlers.flags import (
    AuditRequest,
    ChannelSettings,
    Every,
    Help,
    Logins,
    OpenForm,
    Run,
    SaveLogin,
    Schedules,
    Status,
    Stop,
    parse_command,
)
from handlers.options import OPTIONS, Defaults
from handlers.subcommands import SUBCOMMANDS, usage_hint
from handlers.views import messages

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def doc(name: str) -> str:
    return (DOCS / name).read_text()


def test_the_readme_is_a_front_door_to_every_page() -> None:
    readme = README.read_text()
    assert len(readme.encode()) < 12_000
    assert "make run" in readme and "make test" in readme
    for page in DOCS.glob("*.md"):
        assert f"(docs/{page.name})" in readme, f"README does not link to docs/{page.name}"


def test_every_link_between_the_pages_leads_somewhere() -> None:
    for page in [README, *DOCS.glob("*.md")]:
        for target, anchor in re.findall(
            r"\]\(((?:docs/)?[\w-]+\.md)?(?:#([\w-]+))?\)", page.read_text()
        ):
            if not target and not anchor:
                continue
            linked = (page.parent / target) if target else page
            assert linked.is_file(), f"{page.name} links to {target}, which is not there"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", linked.read_text(), flags=re.M)
                slugs = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
                assert anchor in slugs, f"{page.name} links to {target}#{anchor}: no such heading"


def test_the_docs_document_every_option_and_variable() -> None:
    usage, configuration = doc("usage.md"), doc("configuration.md")
    for option in OPTIONS:
        if option.inline:
            for flag in option.flags:
                assert f"`{flag}`" in usage, f"docs/usage.md does not document {flag}"
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "BROWSER_USE_API_KEY", "PORT"):
        assert f"`{name}`" in configuration, f"docs/configuration.md does not document {name}"


def test_every_test_the_promises_name_exists() -> None:
    """The promise table names real tests (a renamed test must update the table)."""
    tests = ROOT / "tests"
    named = re.findall(r"`(test_\w+\.py)::(test_\w+)", doc("promises.md"))
    assert len(named) > 20
    for file_name, test_name in named:
        source = (tests / file_name).read_text()
        assert f"def {test_name}" in source, f"{file_name}::{test_name} is gone"


def test_every_variable_the_app_reads_is_documented_and_in_env_example() -> None:
    config = (ROOT / "bot" / "config.py").read_text()
    # The two OAuth variables are named only to be refused; INFO is LOG_LEVEL's default.
    names = set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', config)) - {
        "INFO",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
    }
    assert "BROWSER_USE_API_KEY" in names and len(names) > 20
    documented, example = doc("configuration.md"), (ROOT / ".env.example").read_text()
    for name in sorted(names):
        assert f"`{name}`" in documented, f"docs/configuration.md does not document {name}"
        assert name in example, f".env.example does not mention {name}"


def test_every_sub_command_is_routed_and_listed_alike_in_help_the_readme_and_the_manifest() -> None:
    """One table (`handlers.subcommands`): the router takes each of its words, and the help, the
    README's table and the manifest's usage hint list each."""
    routed = {
        "": ("Find the opening hours of the Louvre", Run),
        "form": ("form", OpenForm),
        "every": ("every weekday at 9:00 check the news", Every),
        "login": ("login Expenses https://expenses.example.com/login", SaveLogin),
        "logins": ("logins", Logins),
        "schedules": ("schedules", Schedules),
        "settings": ("settings", ChannelSettings),
        "status": ("status 4f1a2b3c-0000-4000-8000-000000000001", Status),
        "stop": ("stop 4f1a2b3c-0000-4000-8000-000000000001", Stop),
        "audit": ("audit 7", AuditRequest),
        "help": ("help", Help),
    }
    assert set(routed) == {sub.name for sub in SUBCOMMANDS}
    for sub in SUBCOMMANDS:
        line, kind = routed[sub.name]
        assert isinstance(parse_command(line, Defaults()), kind), sub.name
        for alias in sub.aliases:
            assert isinstance(parse_command(alias, Defaults()), kind), alias
    help_text = messages.usage()["text"]
    readme = README.read_text()
    for sub in SUBCOMMANDS:
        assert f"`{sub.line}`" in help_text, sub.name
        assert f"| `{sub.line}` |" in readme, f"README's table lacks {sub.line}"
    manifest = yaml.safe_load((ROOT / "manifest.yaml").read_text())
    (command,) = manifest["features"]["slash_commands"]
    assert command["usage_hint"] == usage_hint()

"""The sub-commands of `/browser-use`: one table that the router (`handlers.flags`), the help
(`/browser-use help`), the README's table and the manifest's usage hint all come from or are
tested against (`tests/test_docs.py`), so none of them lists one the others lack.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.ids import COMMAND


@dataclass(frozen=True)
class SubCommand:
    name: str  # the word it starts with ("" for a task itself)
    usage: str  # what follows the command
    does: str  # one line, for the help and the README
    who: str  # who may use it
    hint: str  # its part of the manifest's usage hint (Slack shows it as one types)
    aliases: tuple[str, ...] = ()  # other words the router takes for it

    @property
    def words(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def line(self) -> str:
        return f"{COMMAND} {self.usage}".rstrip()


RUN = SubCommand(
    "",
    "<what the browser should do> [options]",
    "starts a task: a message in the channel, the IDs and the result in its thread",
    "anyone allowed to start tasks here",
    "<what the browser should do> [--model gpt-4.1 --url https://… …]",
)
SUBCOMMANDS: tuple[SubCommand, ...] = (
    RUN,
    SubCommand(
        "form",
        "form",
        "opens the task form with every option, secrets included (the command alone does too)",
        "anyone allowed to start tasks here",
        "form",
    ),
    SubCommand(
        "every",
        "every <when> <task> [--on-change] [--notify]",
        "a recurring task, posted here at each run (`--on-change`: only when the result "
        "changed; `--notify`: mention me at every run)",
        "anyone allowed to start tasks here",
        "every weekday at 9:00 <task>",
    ),
    SubCommand(
        "login",
        "login <name> <login page> [--proxy <country>]",
        "a browser for you alone to log in; then `--login <name>` on any task",
        "anyone allowed to start tasks here",
        "login <name> <page>",
    ),
    SubCommand(
        "logins",
        "logins",
        "the saved logins you may use here, only to you",
        "anyone",
        "logins",
        ("login list",),
    ),
    SubCommand(
        "schedules",
        "schedules",
        "this channel's recurring tasks, only to you",
        "anyone allowed to start tasks here",
        "schedules",
        ("recurring", "schedule"),
    ),
    SubCommand(
        "settings",
        "settings",
        "this channel's defaults, and the form to change them",
        "anyone allowed here; changing them: anyone, or only admins, as the admins set",
        "settings",
        ("defaults", "channel settings"),
    ),
    SubCommand(
        "status",
        "status <task ID>",
        "where a task stands, only to you",
        "anyone allowed to start tasks here",
        "status <task ID>",
    ),
    SubCommand(
        "stop",
        "stop <task ID>",
        "stops a task",
        "who started it, or an admin",
        "stop <task ID>",
    ),
    SubCommand(
        "audit",
        "audit [<person's member ID>] [<channel ID>] [<days>]",
        "who started, stopped or changed what, on which login, at what cost: a CSV file sent to "
        "you privately (the last 30 days, unless you say)",
        "admins",
        "audit",
    ),
    SubCommand(
        "help",
        "help",
        "every option with an example, only to you",
        "anyone",
        "help",
        ("-h", "--help", "?"),
    ),
)
BY_NAME = {sub.name: sub for sub in SUBCOMMANDS}


def usage_hint() -> str:
    """The manifest's `usage_hint` for the slash command."""
    return " | ".join(sub.hint for sub in SUBCOMMANDS)


def help_lines() -> str:
    """The sub-commands for `/browser-use help`, one a line (mrkdwn)."""
    return "\n".join(f"• `{sub.line}`: {sub.does}" for sub in SUBCOMMANDS)

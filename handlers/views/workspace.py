"""Many workspaces, as people see it: the installer's DM, Connect Browser Use in App Home and its
form, what every entry point answers until a key is connected, and the install's pages in the
browser. Pure: what they show comes in as arguments; never the key."""

from __future__ import annotations

from html import escape as html_escape
from typing import Any

from handlers.ids import Action, Callback
from handlers.slack_text import escape
from handlers.views import kit
from handlers.views.messages import Message, notice

KEY_BLOCK = "api_key"
KEYS_PAGE = "https://cloud.browser-use.com/settings?tab=api-keys"


def installed_dm() -> Message:
    return notice(
        ":wave: Thanks for adding *Browser Use*. One step is left before anyone can use it: "
        "connect the workspace's Browser Use account (its API key; tasks are paid from it). "
        "Open my *Home* tab and choose *Connect Browser Use*. Workspace admins and owners can."
    )


def not_connected_text(admin: bool) -> str:
    """What any entry point answers (privately) until the workspace connects Browser Use."""
    if admin:
        return (
            ":electric_plug: Browser Use is not connected in this workspace yet: open my "
            "*Home* tab and choose *Connect Browser Use* (it takes the API key)."
        )
    return (
        ":electric_plug: Browser Use is not connected in this workspace yet. A workspace admin "
        "or owner can connect it from my *Home* tab."
    )


def connect_section(admin: bool) -> list[dict[str, Any]]:
    """Home, before a key is connected."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Connect Browser Use"}},
        kit.section(
            "Browser tasks run on this workspace's own Browser Use account and are paid from it. "
            + (
                "Connect it with an API key from "
                f"<{KEYS_PAGE}|Browser Use's settings>. It is kept encrypted and never shown."
                if admin
                else "A workspace admin or owner connects it here."
            )
        ),
    ]
    if admin:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        **kit.button(Action.OPEN_CONNECT, "Connect Browser Use", "connect"),
                        "style": "primary",
                    }
                ],
            }
        )
    return blocks


def connected_blocks(
    project: str | None, credit: float | None, by: str, admin: bool
) -> list[dict[str, Any]]:
    """Home's account line once connected: the project and credit, never the key; admins may
    replace or disconnect it."""
    parts = [f"Browser Use project `{escape(project)}`" if project else "Browser Use connected"]
    if credit is not None:
        parts.append(f"credit left ${credit:,.2f}")
    parts.append(f"connected by <@{escape(by)}>")
    blocks: list[dict[str, Any]] = [kit.context(" · ".join(parts))]
    if admin:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    kit.button(Action.OPEN_CONNECT, "Replace the key…", "replace"),
                    {
                        **kit.button(Action.DISCONNECT, "Disconnect", "disconnect"),
                        "style": "danger",
                        "confirm": {
                            "title": {"type": "plain_text", "text": "Disconnect Browser Use?"},
                            "text": kit.plain(
                                "Nobody can start a task here until a key is connected again. "
                                "Tasks running now are no longer followed."
                            ),
                            "confirm": {"type": "plain_text", "text": "Disconnect"},
                            "deny": {"type": "plain_text", "text": "Keep it"},
                        },
                    },
                ],
            }
        )
    return blocks


def connect_form() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": Callback.CONNECT_BROWSER_USE,
        "title": {"type": "plain_text", "text": "Connect Browser Use"},
        "submit": {"type": "plain_text", "text": "Connect"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            kit.section(
                f"Paste an API key of this workspace's Browser Use project (<{KEYS_PAGE}|make "
                "one>). It is checked with Browser Use, kept encrypted, and never shown again."
            ),
            {
                "type": "input",
                "block_id": KEY_BLOCK,
                "label": {"type": "plain_text", "text": "API key"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": Action.VALUE,
                    "placeholder": {"type": "plain_text", "text": "bu_…"},
                    "max_length": 200,
                },
            },
        ],
    }


# What each failure of the install means to the person in the browser (Bolt's reasons, and
# Slack's own `error`).
INSTALL_FAILURES = {
    "access_denied": "You cancelled the install, so nothing was added to your workspace.",
    "invalid_browser": (
        "This browser did not start this install (or it blocks cookies), so it could not be "
        "finished safely. Start it again from this browser."
    ),
    "invalid_state": "This install link was used already or expired. Start it again.",
    "missing_code": "Slack did not say the install was approved. Start it again.",
    "invalid_code": "Slack did not confirm the install. Start it again.",
    "storage_error": "The install could not be saved. Try again in a minute.",
}


def install_failed_page(reason: str, install_url: str) -> str:
    what = INSTALL_FAILURES.get(reason, "The install did not finish. Start it again.")
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<title>Browser Use for Slack: not installed</title></head><body>"
        f"<h1>Browser Use was not added to Slack</h1><p>{html_escape(what)}</p>"
        f'<p><a href="{html_escape(install_url)}">Add Browser Use to Slack</a></p>'
        "</body></html>"
    )

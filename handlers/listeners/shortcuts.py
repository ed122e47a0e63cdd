""" "Run in browser" on a message, and "New browser task" from anywhere: both open the task form."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from handlers.flows.modals import open_task_form
from handlers.ids import Callback
from handlers.listeners import PerRequest, bind
from handlers.payloads import FormContext
from handlers.slack_text import slack_to_plain
from handlers.views.form import Prefill

_LINK = re.compile(r"<(https?://[^|>]+)(?:\|[^>]*)?>")


def prefill_from_message(message: dict[str, Any]) -> Prefill:
    """The message as a task: its text as plain words, and its first link as the start URL."""
    text = message.get("text") or ""
    link = _LINK.search(text)
    return Prefill(task=slack_to_plain(text).strip(), start_url=link[1] if link else None)


async def handle_run_in_browser(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Open the form with the message as the task; answers go to that message's thread."""
    await ack()
    message = shortcut.get("message") or {}
    context = FormContext(
        channel_id=shortcut["channel"]["id"],
        thread_ts=message.get("thread_ts") or message.get("ts") or shortcut.get("message_ts"),
    )
    prefill = prefill_from_message(message)
    person = _person(shortcut)
    deps.inflight.spawn(
        lambda: open_task_form(
            client, deps, shortcut["trigger_id"], context, prefill, person=person
        )
    )


async def handle_new_browser_task(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Open the form with a channel picker: a global shortcut has no channel of its own."""
    await ack()
    person = _person(shortcut)
    deps.inflight.spawn(
        lambda: open_task_form(client, deps, shortcut["trigger_id"], FormContext(), person=person)
    )


def _person(shortcut: dict[str, Any]) -> tuple[str, str]:
    """(team, user) of whoever used the shortcut: the logins the form lists are theirs."""
    user = shortcut.get("user") or {}
    return str((shortcut.get("team") or {}).get("id") or user.get("team_id", "")), str(user["id"])


def register(app: AsyncApp, deps: Deps | PerRequest[Deps]) -> None:
    app.message_shortcut(Callback.RUN_IN_BROWSER)(bind(handle_run_in_browser, deps))
    app.global_shortcut(Callback.NEW_BROWSER_TASK)(bind(handle_new_browser_task, deps))

"""A mention or a DM as the app heard it (`Said`: who, where, the text, the files), and
answering it where it was said: in its thread, with a reaction, or privately."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Failure
from bot.store import FollowUp
from handlers.errors import internal_error_text
from handlers.flows.submit import Origin
from handlers.ids import Reaction
from handlers.payloads import QueuedFollowUp, SharedFile, shared_files
from handlers.slack_io import post, react
from handlers.views import messages

log = logging.getLogger(__name__)

BUTTON_VALUE_MAX = 2000
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s,:]*")


@dataclass(frozen=True)
class Said:
    """One message to the bot: who, where, and in which thread."""

    team_id: str
    channel_id: str
    user_id: str
    text: str
    ts: str  # the message itself (it gets the reactions)
    thread_ts: str  # the thread it belongs to (its own ts when it starts one)
    files: tuple[SharedFile, ...] = ()  # shared with it: they reach the task's browser


def words_of(text: str) -> str:
    """The message without the bot's @mention in front."""
    return _LEADING_MENTION.sub("", text or "", count=1).strip()


async def say(client: AsyncWebClient, said: Said, message: messages.Message) -> None:
    await post(client, said.channel_id, message, said.thread_ts)


async def react_to(
    client: AsyncWebClient, said: Said, name: str, remove: str | None = None
) -> None:
    await react(client, said.channel_id, said.ts, name, remove)


async def refuse(client: AsyncWebClient, said: Said, message: messages.Message) -> None:
    """Say why nothing was started, in the thread; 👀 becomes ❌."""
    await say(client, said, message)
    await react_to(client, said, Reaction.FAILED, remove=Reaction.SEEN)


def reporter(client: AsyncWebClient, said: Said) -> Callable[[Failure], Awaitable[None]]:
    """For `InFlight.spawn`: an unexpected failure is told in the thread, and 👀 becomes ❌."""

    async def report(failure: Failure) -> None:
        await refuse(client, said, messages.notice(internal_error_text(failure)))

    return report


def origin_of(said: Said, **extra: Any) -> Origin:
    """Where a task asked for in a thread comes from: its person's message heads the thread
    already (nothing is announced), and gets the reactions."""
    return Origin(
        team_id=said.team_id,
        channel_id=said.channel_id,
        user_id=said.user_id,
        thread_ts=said.thread_ts,
        announce=False,
        react_ts=said.ts,
        **extra,
    )


def said_of(waiting: FollowUp) -> Said:
    """The message a queued follow-up was."""
    return Said(
        waiting.team, waiting.channel, waiting.user_id, waiting.text, waiting.ts, waiting.thread_ts
    )


def said_from_event(body: dict[str, Any]) -> Said | None:
    event = body.get("event") or {}
    # Bots (this one included), edits, joins and other message subtypes never start tasks; a
    # message that shares files (a DM's `file_share`) does.
    if event.get("bot_id") or event.get("subtype") not in (None, "file_share"):
        return None
    if not event.get("user"):
        return None
    return Said(
        team_id=str(body.get("team_id") or event.get("team") or ""),
        channel_id=str(event["channel"]),
        user_id=str(event["user"]),
        text=str(event.get("text") or ""),
        ts=str(event["ts"]),
        thread_ts=str(event.get("thread_ts") or event["ts"]),
        files=shared_files(event.get("files")),
    )


def follow_up_value(said: Said, session_id: str) -> str | None:
    """What the Queue button carries, or None when the follow-up is too long to carry."""
    value = QueuedFollowUp(
        text=said.text, user=said.user_id, ts=said.ts, session=session_id
    ).encode()
    return value if len(value) <= BUTTON_VALUE_MAX else None

"""`/browser-use`: parse, answer within Slack's 3 seconds, then start the task."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.models import CreateTaskRequest
from handlers import blocks
from handlers.errors import UserInputError, failure_text
from handlers.ids import COMMAND
from handlers.slack_text import slack_to_plain
from handlers.submit import Origin, start_task

HELP_WORDS = {"", "help", "-h", "--help", "?"}


def parse_command(text: str) -> CreateTaskRequest | None:
    """The Create Task request a command's text asks for; None when it asks for help."""
    task = slack_to_plain(text).strip()
    if task.lower() in HELP_WORDS:
        return None
    try:
        return CreateTaskRequest(task=task)
    except ValidationError as exc:
        raise UserInputError(exc.errors()[0]["msg"]) from None


def register(app: AsyncApp, deps: Deps) -> None:
    @app.command(COMMAND)
    async def handle_command(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Answer at once; the task is created after the ack so Browser Use never delays it."""
        try:
            request = parse_command(command.get("text", ""))
        except UserInputError as exc:
            await ack(response_type="ephemeral", text=failure_text(exc))
            return
        if request is None:
            await ack(**blocks.usage())
            return
        await ack()
        origin = Origin(
            team_id=command.get("team_id", ""),
            channel_id=command["channel_id"],
            user_id=command["user_id"],
            response_url=command.get("response_url"),
        )
        await deps.inflight.run(lambda: start_task(deps, client, request, origin))

"""Approve and Deny, on a task that waits for a yes, in an approver's DM."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from handlers.flows.approvals import decide
from handlers.ids import Action
from handlers.listeners import PerRequest, bind
from handlers.slack_io import clicker_reporter


async def handle_decision(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Approve or Deny: decided once, by an approver who did not ask."""
    await ack()
    approved = body["actions"][0]["action_id"] == Action.APPROVE

    async def work() -> None:
        await decide(deps, client, body, approved)

    deps.inflight.spawn(work, on_error=clicker_reporter(client, body))


def register(app: AsyncApp, deps: Deps | PerRequest[Deps]) -> None:
    for action in (Action.APPROVE, Action.DENY):
        app.action(action)(bind(handle_decision, deps))

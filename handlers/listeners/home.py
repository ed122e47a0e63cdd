"""The app's Home tab (the person's tasks and schedules) and Messages tab (suggested prompts)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from handlers.flows.home import publish_home, suggest_prompts
from handlers.listeners import PerRequest, bind


async def handle_home_opened(event: dict[str, Any], client: AsyncWebClient, *, deps: Deps) -> None:
    """The Home tab: the person's tasks. The Messages tab: what to ask the browser."""
    tab = event.get("tab", "home")
    if tab == "home":
        deps.inflight.spawn(lambda: publish_home(deps, client, event["user"]))
    elif tab == "messages" and event.get("channel"):
        deps.inflight.spawn(lambda: suggest_prompts(client, str(event["channel"])))


def register(app: AsyncApp, deps: Deps | PerRequest[Deps]) -> None:
    app.event("app_home_opened")(bind(handle_home_opened, deps))

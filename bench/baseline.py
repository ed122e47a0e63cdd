"""The way most Bolt tutorials write this bot, kept as the benchmark's point of comparison.

A sync `App` served by `app.start()`, Bolt's default listener pool (5 threads), and a blocking
HTTP call to Browser Use after `ack()`. Do not use this in production: the benchmark shows why.
"""

from __future__ import annotations

import os

import httpx
from slack_bolt import App
from slack_sdk import WebClient

app = App(
    client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
)
BROWSER_USE_API_URL = os.environ["BROWSER_USE_API_URL"]
BROWSER_USE_API_KEY = os.environ["BROWSER_USE_API_KEY"]


@app.command("/browser-use")
def handle_command(ack, command, client):  # type: ignore[no-untyped-def]
    ack()
    parent = client.chat_postMessage(
        channel=command["channel_id"], text=f"<@{command['user_id']}> asked: {command['text']}"
    )
    response = httpx.post(
        f"{BROWSER_USE_API_URL}/tasks",
        json={"task": command["text"]},
        headers={"X-Browser-Use-API-Key": BROWSER_USE_API_KEY},
        timeout=30,
    )
    task = response.json()
    client.chat_postMessage(
        channel=command["channel_id"],
        thread_ts=parent["ts"],
        text=f"Task started. Task ID: {task['id']} · Session ID: {task['sessionId']}",
    )


if __name__ == "__main__":
    app.start(port=int(os.environ.get("PORT", "3000")))

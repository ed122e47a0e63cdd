"""Requests signed exactly the way Slack signs them, sent to the running app over HTTP."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from tests.app_process import LOOPBACK, settle
from tests.fakes.slack import TEAM_ID

SIGNING_SECRET = "test-signing-secret-8f1c"


def signed_headers(
    body: str,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


class SlackSender:
    """Plays Slack's part: slash commands and interactive payloads, signed."""

    def __init__(self, app_url: str, response_url: str):
        self.app_url = app_url
        self.response_url = response_url
        self.http = LOOPBACK

    def post(self, body: str, headers: dict[str, str]) -> httpx.Response:
        return self.http.post(f"{self.app_url}/slack/events", content=body, headers=headers)

    def settle(self) -> None:
        """Wait until the app has done what it was sent (nothing in flight after the acks)."""
        settle(self.app_url)

    def command_body(
        self,
        text: str,
        *,
        user_id: str = "U123",
        channel_id: str = "C123",
        command: str = "/browser-use",
        **extra: str,
    ) -> str:
        fields = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "test",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": "ada",
            "command": command,
            "text": text,
            "api_app_id": "A0TEST",
            "is_enterprise_install": "false",
            "response_url": self.response_url,
            # Unique per command, as Slack's are: the app keeps one task per trigger ID.
            "trigger_id": f"13345224609.{uuid.uuid4().int % 10**9}.{uuid.uuid4().hex[:19]}",
            **extra,
        }
        return urlencode(fields)

    def command(self, text: str, **kw: Any) -> httpx.Response:
        body = self.command_body(text, **kw)
        return self.post(body, signed_headers(body))

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None
    ) -> httpx.Response:
        body = event_body(event, event_id=event_id)
        headers = signed_headers(body, content_type="application/json")
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(body, headers)

    def interactive(self, payload: dict[str, Any]) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, signed_headers(body))


def view_state(view: dict[str, Any], entered: dict[str, Any]) -> dict[str, Any]:
    """`view.state` as Slack sends it when a person filled `entered` (block ID → value) in."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        kind = element["type"]
        raw = entered.get(block["block_id"])
        state: dict[str, Any] = {"type": kind}
        if kind in ("checkboxes", "multi_static_select"):
            chosen = (
                raw if raw is not None else [o["value"] for o in element.get("initial_options", [])]
            )
            state["selected_options"] = [o for o in element["options"] if o["value"] in chosen]
        elif kind == "multi_users_select":
            state["selected_users"] = raw if raw is not None else element.get("initial_users", [])
        elif kind == "multi_conversations_select":
            state["selected_conversations"] = (
                raw if raw is not None else element.get("initial_conversations", [])
            )
        elif kind in ("static_select", "radio_buttons"):
            chosen = raw if raw is not None else element.get("initial_option", {}).get("value")
            state["selected_option"] = next(
                (o for o in element["options"] if o["value"] == chosen), None
            )
        elif kind == "conversations_select":
            state["selected_conversation"] = raw
        elif kind == "file_input":
            state["files"] = raw or []
        elif kind == "timepicker":
            state["selected_time"] = raw if raw is not None else element.get("initial_time")
        else:
            state["value"] = raw if raw is not None else element.get("initial_value")
        values[block["block_id"]] = {element["action_id"]: state}
    return {"values": values}


def view_submission(
    view: dict[str, Any],
    entered: dict[str, Any],
    *,
    user_id: str = "U123",
    response_urls: list[dict[str, str]] | None = None,
    view_id: str | None = None,
) -> dict[str, Any]:
    """A `view_submission` payload for the form `view`, as Slack sends it."""
    view_id = view_id or f"V{uuid.uuid4().hex[:10].upper()}"  # each opened view has its own
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "test"},
        "user": {"id": user_id, "username": "ada", "team_id": TEAM_ID},
        "api_app_id": "A0TEST",
        "token": "legacy-verification-token",
        "trigger_id": "1337.42.abcd",
        "view": {
            **view,
            "id": view_id,
            "team_id": TEAM_ID,
            "state": view_state(view, entered),
            "hash": "156772938.1827394",
            "root_view_id": view_id,
            "app_id": "A0TEST",
            "bot_id": "BBOT",
        },
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
    }


def event_body(event: dict[str, Any], *, event_id: str | None = None) -> str:
    """An Events API envelope, as Slack POSTs it."""
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0TEST",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": "UBOT", "is_bot": True}],
        }
    )

"""Requests signed exactly the way Slack signs them, sent to the running app over HTTP."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

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
        self.http = httpx.Client(timeout=10)

    def post(self, body: str, headers: dict[str, str]) -> httpx.Response:
        return self.http.post(f"{self.app_url}/slack/events", content=body, headers=headers)

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
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            **extra,
        }
        return urlencode(fields)

    def command(self, text: str, **kw: Any) -> httpx.Response:
        body = self.command_body(text, **kw)
        return self.post(body, signed_headers(body))

    def interactive(self, payload: dict[str, Any]) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, signed_headers(body))

"""What an approver reads: who asks to run what, where, why it needs a yes, with Approve and
Deny (pure builders)."""

from __future__ import annotations

from handlers.ids import Action
from handlers.slack_text import escape, quote, shorten
from handlers.views import kit
from handlers.views.messages import Message


def approval_request(
    approval_id: int, asker: str, channel: str, task: str, reason: str, hours: float
) -> Message:
    head = f":raised_hand: <@{asker}> asks to run a browser task in <#{channel}>:"
    body = f"{head}\n{quote(escape(shorten(task, 500)))}\n*Why it needs a yes:* {reason}."
    value = str(approval_id)
    buttons = {
        "type": "actions",
        "elements": [
            kit.button(Action.APPROVE, "Approve", value) | {"style": "primary"},
            kit.button(Action.DENY, "Deny", value) | {"style": "danger"},
        ],
    }
    wait = f"It waits {hours:g} hours at most; whoever decides first decides."
    return {
        "text": f"<@{asker}> asks to run a browser task in <#{channel}>",
        "blocks": [kit.section(body), buttons, kit.context(wait)],
    }

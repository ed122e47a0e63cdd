"""Listeners are module-level functions: called here directly, with what Bolt would pass them and
the app's real dependencies (the store, the Browser Use client and a Slack client, speaking HTTP
to the stand-ins), without a process or a request."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.ids import Action
from handlers.listeners.commands import handle_command
from handlers.listeners.task_buttons import handle_stop
from tests.conftest import wiped
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.in_process import InProcessApp


class Ack:
    """Bolt's `ack`, recording what the listener answered Slack."""

    def __init__(self) -> None:
        self.answers: list[dict[str, Any]] = []

    async def __call__(self, **answer: Any) -> None:
        self.answers.append(answer)


@pytest.fixture
def app(in_process: InProcessApp, slack: FakeSlack, browser_use: FakeBrowserUse) -> InProcessApp:
    return wiped(in_process, slack, browser_use)


def command(text: str, user: str = "U1") -> dict[str, Any]:
    return {
        "team_id": TEAM_ID,
        "channel_id": "C1",
        "user_id": user,
        "text": text,
        "trigger_id": f"trigger-{text}-{user}",
        "response_url": None,
    }


def test_the_command_listener_answers_help_in_its_ack_and_starts_nothing(
    app: InProcessApp, browser_use: FakeBrowserUse
) -> None:
    ack = Ack()
    app.run(handle_command(ack, command("help"), app.app.client, deps=app.deps))
    (answer,) = ack.answers
    assert "--model" in str(answer["blocks"])  # the options, in Slack's 3 seconds
    app.settle()
    assert browser_use.create_calls == 0


def test_the_stop_listener_stops_for_the_owner_only(
    app: InProcessApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    ack = Ack()
    app.run(
        handle_command(ack, command("Watch the queue", user="U1"), app.app.client, deps=app.deps)
    )
    assert ack.answers == [{}]  # acked at once; the task starts after
    (task,) = wait_for(lambda: browser_use.created, 5, "the task")

    def click(user: str) -> dict[str, Any]:
        return {
            "user": {"id": user},
            "channel": {"id": "C1"},
            "team": {"id": TEAM_ID},
            "container": {"type": "message"},
            "actions": [{"action_id": Action.STOP_TASK, "value": task.id}],
        }

    app.run(handle_stop(Ack(), click("U2"), app.app.client, deps=app.deps))
    app.settle()
    (told,) = slack.calls_to("chat.postEphemeral")
    assert told.args["user"] == "U2" and "Only <@U1>" in told.args["text"]
    assert browser_use.stops == []

    app.run(handle_stop(Ack(), click("U1"), app.app.client, deps=app.deps))
    app.settle()
    assert browser_use.stops == [task.id]

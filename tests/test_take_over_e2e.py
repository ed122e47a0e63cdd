"""Take over: the owner of a task stuck in a thread's browser stops the task, keeps the browser,
does what the agent could not (in the live view, theirs alone), then lets a new task go on in
that same browser."""

from __future__ import annotations

import json

from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SlackSender
from tests.test_conversations_e2e import first_task
from tests.test_following_e2e import Started, buttons, click, ephemerals_to


def test_the_owner_takes_over_a_stuck_browser_and_the_task_goes_on_in_it(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    said, task = first_task(sender, slack, browser_use, "file my expenses at https://exp.example")
    status = next(c for c in slack.posts() if task.id in c.args["text"])
    assert buttons(status.args)[-1] == "take_over"  # the thread's browser outlives its task
    started = Started(task.id, task.session_id, said.ts, status.answer["ts"])
    browser_use.step(task.id, "Log in", "https://exp.example/login")

    click(sender, "take_over", started, user="U9")  # not theirs
    (no,) = wait_for(lambda: ephemerals_to(slack, "U9"), 5, "the refusal")
    assert "Only <@U42>" in no.args["text"] and browser_use.stops == []

    click(sender, "take_over", started, user="U42")
    (mine,) = wait_for(lambda: ephemerals_to(slack, "U42"), 5, "the browser, privately")
    live_url = f"{browser_use.url}/live/{task.session_id}"
    blocks = json.dumps(mine.args["blocks"])
    assert live_url in blocks and "continue_task" in blocks
    assert browser_use.stops == [task.id]  # the task, not its browser
    assert browser_use.session_stops == []
    assert all(live_url not in c.raw for c in slack.posts() + slack.calls_to("chat.update"))
    wait_for(lambda: [c for c in slack.in_thread(said.ts) if "Stopped" in c.args["text"]], 5, "")

    click(sender, "continue_task", started, user="U42")
    wait_for(lambda: len(browser_use.created) == 2, 5, "the task going on")
    going_on = browser_use.created[1]
    assert going_on.body["sessionId"] == task.session_id
    assert going_on.body["task"].startswith("A person has just taken over this browser")
    assert "file my expenses at https://exp.example" in going_on.body["task"]
    wait_for(
        lambda: [r for r in slack.responses if r.args.get("replace_original")],
        5,
        "the private link taken away",
    )

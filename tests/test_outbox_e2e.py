"""Slack outages lose nothing: what the app owes people while Slack's Web API answers 503 is
kept in the store (the outbox) and delivered once Slack is back, once, in order in each thread."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import FakeSlack
from tests.test_following_e2e import start
from tests.test_scaling_e2e import messages, results

OUTAGE = 3.0
FAST = {"HEARTBEAT_SECONDS": "0.2"}


def test_commands_and_ends_during_an_outage_are_all_told_once_slack_is_back(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app(**FAST) as (app, sender):
        before = start(sender, slack, browser_use, text="Started before the outage")
        slack.outage(OUTAGE)
        browser_use.finish(before.task_id, output="Ended while Slack was down")
        for i in range(4):
            sender.command(f"Asked while Slack was down {i}", user_id=f"U{i}", channel_id=f"C{i}")
        # Each runs at once: nothing waits for Slack.
        wait_for(lambda: len(browser_use.created) == 5, 5, "the four tasks")
        assert slack.is_down()
        new = [task.id for task in browser_use.created[1:]]
        wait_for(lambda: not slack.is_down(), OUTAGE + 1, "Slack back")

        # Once back: each command's parent in its channel, its IDs in that thread, once each.
        wait_for(lambda: all(messages(slack, "browser_use_task", t) for t in new), 10, "the IDs")
        wait_for(lambda: results(slack, before.task_id), 10, "the result of the one that ended")
        sender.settle()
        for task in browser_use.created[1:]:
            (ids,) = messages(slack, "browser_use_task", task.id)
            asked = task.body["task"]
            i = int(asked[-1])
            posted = [c for c in slack.succeeded("chat.postMessage") if asked in str(c.args)]
            assert len(posted) == 1, posted  # the parent, once
            (parent,) = posted
            assert parent.args["channel"] == f"C{i}"
            assert ids.args["thread_ts"] == parent.answer["ts"]
            # Its thread's agent session is made as a start with Slack up makes it.
            session = slack.session(f"C{i}", ids.args["thread_ts"])
            assert session["statuses"] == ["processing"] and session["title"] == asked
            assert session["initiator"] == f"U{i}"
        assert len(results(slack, before.task_id)) == 1

        # A task announced late ends: its result goes in its thread, after its IDs.
        browser_use.finish(new[0], output="Ended after Slack came back")
        (result,) = wait_for(lambda: results(slack, new[0]), 10, "its result")
        (ids,) = messages(slack, "browser_use_task", new[0])
        assert result.args["thread_ts"] == ids.args["thread_ts"]
        assert slack.posts().index(result) > slack.posts().index(ids)
        channel, thread = result.args["channel"], result.args["thread_ts"]
        wait_for(lambda: slack.session(channel, thread)["statuses"][-1] == "closed", 5, "closed")
    assert "outbox.delivered" in app.logs()


def test_a_task_that_ends_before_slack_is_back_gets_its_result_after_its_ids(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app(**FAST) as (_, sender):
        slack.outage(OUTAGE)
        sender.command("Quick one while Slack was down", channel_id="C7")
        (created,) = wait_for(lambda: browser_use.created, 5, "the task")
        browser_use.finish(created.id, output="Done before Slack was back")
        time.sleep(0.5)  # read, and its report put off: its thread is not there yet
        assert slack.is_down()
        (result,) = wait_for(lambda: results(slack, created.id), OUTAGE + 15, "the result")
        (ids,) = messages(slack, "browser_use_task", created.id)
        sender.settle()
        assert result.args["thread_ts"] == ids.args["thread_ts"]
        assert slack.posts().index(result) > slack.posts().index(ids)
        assert len(results(slack, created.id)) == 1


def test_what_is_owed_survives_a_restart(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path}/owed.db"
    with own_app(DATABASE_URL=database, **FAST) as (_, sender):
        slack.outage(60)
        sender.command("Asked just before a deploy", channel_id="C8")
        (created,) = wait_for(lambda: browser_use.created, 5, "the task")
        sender.settle()
    slack.outage(0)
    with own_app(DATABASE_URL=database, **FAST) as (_, sender):
        (ids,) = wait_for(lambda: messages(slack, "browser_use_task", created.id), 10, "IDs")
        sender.settle()
        posted = [
            c
            for c in slack.succeeded("chat.postMessage")
            if "Asked just before a deploy" in str(c.args)
        ]
        assert len(posted) == 1
        assert ids.args["thread_ts"] == posted[0].answer["ts"]


def test_a_result_slack_does_not_take_is_tried_again_with_backoff_not_at_every_poll(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app(**FAST) as (_, sender):
        started = start(sender, slack, browser_use, text="Ends while Slack is down")
        slack.outage(6.0)
        browser_use.finish(started.task_id, output="Posted once Slack is back")
        time.sleep(6.0)
        full_reads = [
            at for _, path, at in browser_use.requests if path == f"/api/v2/tasks/{started.task_id}"
        ]
        # Polled every 0.2-1.5 s here; its full read (and the post) only after 2 s, then 4 s.
        assert len(full_reads) <= 4, full_reads
        wait_for(lambda: results(slack, started.task_id), 20, "the result")
        sender.settle()
        assert len(results(slack, started.task_id)) == 1


def test_a_workflow_steps_completion_during_an_outage_is_made_once_slack_is_back(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    from tests.test_workflow_e2e import completions, run_step

    with own_app(**FAST) as (_, sender):
        execution_id, _ = run_step(sender, slack, {"task": "Check the status page"})
        (task,) = wait_for(lambda: browser_use.created, 5, "the task")
        slack.outage(OUTAGE)
        browser_use.finish(task.id, output="All systems operational")
        time.sleep(1.0)
        assert slack.is_down() and completions(slack, execution_id) == []
        wait_for(lambda: completions(slack, execution_id), OUTAGE + 20, "the completion")
        sender.settle()
        ((method, _),) = completions(slack, execution_id)
        assert method == "functions.completeSuccess"

"""Accurate mode: a task on Browser Use's v4 agent (`POST /api/v4/runs`), started, followed,
stopped and reported through the same client and the same thread as a v2 task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SlackSender
from tests.test_following_e2e import Started, buttons, click, edits, one_result

ASK = "Find the cheapest flight to Lisbon"


def start_accurate(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, options: str = ""
) -> Started:
    before = len(browser_use.runs_created)
    sender.command(f"{ASK} --accurate {options}", user_id="U42", channel_id="C77")
    wait_for(lambda: len(browser_use.runs_created) > before, 5, "the run")
    run = browser_use.runs_created[-1]
    status = wait_for(
        lambda: [c for c in slack.posts() if run.id in c.args["text"]], 5, "the status message"
    )[0]
    return Started(run.id, run.session_id, status.args["thread_ts"], status.answer["ts"])


def ack_text(response: Any) -> str:
    return str(response.json().get("text", ""))


def test_an_accurate_task_runs_on_v4_and_its_result_comes_back_in_its_thread(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    options = "--url https://flights.example --model claude-opus-4-7 --max-cost 5 --judge"
    started = start_accurate(sender, slack, browser_use, options)
    (run,) = browser_use.runs_created
    # v4's own shape: the start URL said in the task, the model by its v4 name, the cost cap.
    assert run.body == {
        "task": f"Start at https://flights.example. {ASK}",
        "model": "claude-opus-4.7",
        "maxCostUsd": 5.0,
        "judge": {},
    }
    assert browser_use.created == []  # no v2 task
    parent = next(c for c in slack.posts() if c.answer.get("ts") == started.thread_ts)
    assert "accurate mode" in parent.args["text"] + str(parent.args.get("blocks"))

    browser_use.start_run(started.task_id)
    browser_use.finish_run(started.task_id, result="TAP, 14 March, 89 EUR", cost="1.6400")
    result = one_result(sender, slack, started)
    assert "89 EUR" in result.args["text"]
    final = edits(slack, started.status_ts)[-1].args
    assert buttons(final) == []
    shown = str(final["blocks"])
    assert "$1.6400" in shown
    assert "steps and the agent's own success claim not reported" in shown


def test_options_accurate_mode_has_no_place_for_are_refused_and_nothing_starts(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    for text, said in (
        (f"{ASK} --accurate --max-steps 30", "--max-cost"),
        (f"{ASK} --accurate --flash", "Flash mode"),
        (f"{ASK} --accurate --model browser-use-2.0", "not one accurate mode offers"),
        (f"{ASK} --accurate --domains example.com", "cannot keep the browser"),
    ):
        answer = sender.command(text, user_id="U42", channel_id="C77")
        assert said in ack_text(answer), (text, ack_text(answer))
    sender.settle()
    assert browser_use.runs_created == [] and browser_use.created == []


def test_a_zero_data_retention_project_is_told_it_cannot_use_accurate_mode(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    browser_use.zero_data_retention = True
    sender.command(f"{ASK} --accurate", user_id="U42", channel_id="C77")
    told = wait_for(
        lambda: [c for c in slack.posts() if "cannot use accurate mode" in c.args["text"]],
        5,
        "the refusal",
    )
    assert len(told) == 1
    sender.settle()
    assert browser_use.runs_created == []


def test_stop_cancels_the_run_and_its_thread_says_it_stopped(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start_accurate(sender, slack, browser_use)
    browser_use.start_run(started.task_id)
    click(sender, "stop_task", started, user="U99")
    wait_for(
        lambda: any("Only <@U42>" in c.args["text"] for c in slack.calls_to("chat.postEphemeral")),
        5,
        "no",
    )
    assert browser_use.cancels == []
    click(sender, "stop_task", started, user="U42")
    wait_for(lambda: browser_use.cancels == [started.task_id], 5, "the cancel")
    result = one_result(sender, slack, started)
    assert "Stopped" in result.args["text"]


def test_a_run_in_a_busy_session_is_refused_clearly(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    first = start_accurate(sender, slack, browser_use)
    browser_use.start_run(first.task_id)
    sender.command(
        f"{ASK} --accurate --session {first.session_id}", user_id="U42", channel_id="C77"
    )
    told = wait_for(
        lambda: [c for c in slack.posts() if "still working on a previous task" in c.args["text"]],
        5,
        "the refusal",
    )
    assert len(told) == 1
    assert len(browser_use.runs_created) == 1


def test_a_run_is_followed_across_a_restart_to_one_result(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        started = start_accurate(sender, slack, browser_use)
        browser_use.start_run(started.task_id)
    browser_use.finish_run(started.task_id, result="Finished while the app was down")
    with own_app() as (_, sender):
        result = one_result(sender, slack, started, timeout=10)
    assert "Finished while the app was down" in result.args["text"]


def test_a_conversation_in_accurate_mode_keeps_its_v4_session_and_queues_with_browser_use(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    from tests.test_conversations_e2e import mention

    first = mention(sender, f"{ASK} --accurate", channel="C6")
    (run,) = wait_for(lambda: browser_use.runs_created, 5, "the first run")
    assert "sessionId" not in run.body  # v4 makes the thread's session with its first run
    assert browser_use.session_requests == []  # and no v2 browser is opened
    wait_for(lambda: [c for c in slack.in_thread(first.ts) if run.id in c.args["text"]], 5, "IDs")
    browser_use.start_run(run.id)

    # A follow-up while the first runs: queued with Browser Use, in the same session.
    mention(sender, "And book it", channel="C6", thread_ts=first.ts)
    wait_for(lambda: browser_use.queued, 5, "the queued message")
    assert [(m["sessionId"], m["text"]) for m in browser_use.queued] == [
        (run.session_id, "And book it")
    ]
    wait_for(
        lambda: [
            c for c in slack.in_thread(first.ts) if "Queued with Browser Use" in c.args["text"]
        ],
        5,
        "the queued note",
    )
    # The first ends; Browser Use starts the queued one as a run, which the app finds, follows
    # and reports in the thread.
    browser_use.finish_run(run.id, result="Found: TAP, 89 EUR")
    queued_run = wait_for(lambda: browser_use.queued[0]["runId"], 5, "the queued run")
    wait_for(
        lambda: [c for c in slack.in_thread(first.ts) if queued_run in c.args["text"]],
        10,
        "the queued run's IDs",
    )
    browser_use.finish_run(queued_run, result="Booked, reference QX7")
    wait_for(
        lambda: [c for c in slack.in_thread(first.ts) if "Booked, reference QX7" in c.args["text"]],
        10,
        "its result",
    )
    # A follow-up once the thread's browser is free: the next run in the same session.
    mention(sender, "Send me the receipt", channel="C6", thread_ts=first.ts)
    wait_for(lambda: len(browser_use.runs_created) == 2, 5, "the third run")
    assert browser_use.runs_created[-1].body == {
        "task": "Send me the receipt",
        "sessionId": run.session_id,
    }
    sender.settle()
    assert browser_use.created == []


def test_who_may_use_accurate_mode_and_how_often_are_the_admins_to_say(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app(ACCURATE_BY="admins") as (_, sender):
        sender.command(f"{ASK} --accurate", user_id="U42", channel_id="C77")
        wait_for(lambda: slack.responses, 5, "the refusal")
        assert "Only admins may use accurate mode" in slack.responses[-1].args["text"]
        sender.command(f"{ASK} --accurate", user_id="UADMIN", channel_id="C77")
        wait_for(lambda: browser_use.runs_created, 5, "the admin's run")
    browser_use.runs_created.clear()
    with own_app(MAX_ACCURATE_TASKS_PER_HOUR_PER_USER="1") as (_, sender):
        start_accurate(sender, slack, browser_use)
        before = len(slack.responses)
        sender.command(f"{ASK} --accurate", user_id="U42", channel_id="C77")
        wait_for(lambda: len(slack.responses) > before, 5, "the refusal")
        assert "the limit here is 1" in slack.responses[-1].args["text"]
        sender.command(ASK, user_id="U42", channel_id="C77")  # on v2, no such limit
        wait_for(lambda: browser_use.created, 5, "the v2 task")
        sender.settle()
    assert len(browser_use.runs_created) == 1


def test_a_channel_in_accurate_mode_runs_its_tasks_on_v4_unless_one_says_v2(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    from tests.test_channel_defaults_e2e import set_defaults

    answer = set_defaults(sender, slack, {"switches": ["accurate"]}, channel="C4ACC")
    assert answer.status_code == 200 and not answer.text, answer.text
    sender.settle()  # saved
    sender.command(ASK, user_id="U42", channel_id="C4ACC")
    wait_for(lambda: browser_use.runs_created, 5, "the run")
    sender.command(f"{ASK} --engine v2 --max-steps 10", user_id="U42", channel_id="C4ACC")
    (task,) = wait_for(lambda: browser_use.created, 5, "the v2 task")
    assert task.body["maxSteps"] == 10
    # A channel in accurate mode cannot also keep tasks to domains: said under the field.
    refused = set_defaults(
        sender, slack, {"switches": ["accurate"], "allowed_domains": "a.example"}, channel="C4B"
    )
    assert "cannot keep the browser" in refused.json()["errors"]["allowed_domains"]


def test_a_workflow_step_and_a_recurring_task_run_in_accurate_mode(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    from tests.test_workflow_e2e import run_step

    run_step(sender, slack, {"task": ASK, "engine": "v4", "channel": "C77"})
    (run,) = wait_for(lambda: browser_use.runs_created, 5, "the step's run")
    assert run.body == {"task": ASK}
    answer = sender.command(f"every day at 9:00 {ASK} --accurate", user_id="U42", channel_id="C5")
    assert answer.status_code == 200
    sender.settle()
    assert "accurate mode" in str([c.args for c in slack.posts() if c.args["channel"] == "C5"])


@pytest.mark.slow
def test_a_run_started_through_one_process_is_reported_once_by_the_other_when_it_stops(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path, database: str
) -> None:
    from tests.test_scaling_e2e import FAST_TAKEOVER, two_processes

    with two_processes(slack, browser_use, tmp_path, database, **FAST_TAKEOVER) as apps:
        (first, first_sender), (_, second_sender) = apps
        started = start_accurate(first_sender, slack, browser_use)
        browser_use.start_run(started.task_id)
        first.proc.kill()  # no goodbye: its poll's lease runs out, and the other takes over
        first.proc.wait()
        browser_use.finish_run(started.task_id, result="Reported by the one left")
        result = one_result(second_sender, slack, started, timeout=15)
    assert "Reported by the one left" in result.args["text"]


def test_the_live_view_of_a_run_comes_from_its_browser_ready_event_to_its_owner_alone(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    from tests.test_following_e2e import ephemerals_to

    started = start_accurate(sender, slack, browser_use)
    click(sender, "live_view", started, user="U42")
    (early,) = wait_for(lambda: ephemerals_to(slack, "U42"), 5, "the answer")
    assert "not up right now" in early.args["text"]  # no browser.ready event yet
    live_url = "https://live.browser-use.com/r/run-of-u42"
    browser_use.start_run(started.task_id, live_view_url=live_url)
    click(sender, "live_view", started, user="U42")
    wait_for(lambda: len(ephemerals_to(slack, "U42")) == 2, 5, "the live view")
    assert live_url in ephemerals_to(slack, "U42")[-1].args["text"]
    click(sender, "live_view", started, user="U99")
    (no,) = wait_for(lambda: ephemerals_to(slack, "U99"), 5, "the refusal")
    assert live_url not in no.args["text"]
    assert live_url not in str([c.args for c in slack.posts() + slack.calls_to("chat.update")])


def test_a_run_in_a_kept_browser_gives_its_live_view_from_browser_reattached(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    """A follow-up run in a session's kept browser says `browser.reattached`, not
    `browser.ready`: its live view is there."""
    from tests.test_following_e2e import ephemerals_to

    started = start_accurate(sender, slack, browser_use)
    live_url = "https://live.browser-use.com/r/reattached-run"
    browser_use.start_run(started.task_id, live_view_url=live_url, reattached=True)
    click(sender, "live_view", started, user="U42")
    (shown,) = wait_for(lambda: ephemerals_to(slack, "U42"), 5, "the live view")
    assert live_url in shown.args["text"]


def test_the_forms_accurate_box_runs_on_v4_and_says_under_a_field_what_it_cannot_take(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    from tests.slack_requests import view_submission
    from tests.test_form_e2e import more_options, opened_view

    sender.command("", channel_id="C9")
    view = more_options(sender, slack, opened_view(slack))
    asked = {"task": "File the expense report", "switches": ["accurate"]}
    refused = sender.interactive(view_submission(view, {**asked, "max_steps": "25"}, user_id="U7"))
    errors = refused.json()["errors"]
    assert list(errors) == ["max_steps"] and "--max-cost" in errors["max_steps"]
    sender.settle()
    assert browser_use.runs_created == []
    done = sender.interactive(view_submission(view, {**asked, "max_cost_usd": "3"}, user_id="U7"))
    assert done.status_code == 200 and done.text == ""  # the form closes
    (run,) = wait_for(lambda: browser_use.runs_created, 5, "the run")
    assert run.body == {"task": "File the expense report", "maxCostUsd": 3.0}
    assert browser_use.created == []


def test_a_mention_in_a_commands_accurate_thread_carries_its_engine_over(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    """The thread of an accurate-mode command shows a v4 run: a mention there is the next run
    of that session, not a v2 task in a new browser."""
    from tests.test_conversations_e2e import mention

    started = start_accurate(sender, slack, browser_use)
    browser_use.finish_run(started.task_id)
    wait_for(lambda: [c for c in slack.posts() if "Done." in c.args["text"]], 5, "the result")
    mention(sender, "Now the return flight", channel="C77", thread_ts=started.thread_ts)
    wait_for(lambda: len(browser_use.runs_created) == 2, 5, "the next run")
    follow_up = browser_use.runs_created[-1]
    assert follow_up.body["sessionId"] == started.session_id
    assert browser_use.created == [] and browser_use.session_requests == []

"""What the app promises under misuse, bad input and load: each with what the person is told and
the exact number of tasks created and messages posted."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from bot.config import Timers
from tests.app_process import LOOPBACK, AppProcess
from tests.conftest import TIMER_SCALE, WEBHOOK_SECRET, OwnApp, app_env, wipe
from tests.fakes.browser_use import API_KEY, FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.slack_requests import SIGNING_SECRET, SlackSender, signed_headers, view_submission
from tests.test_form_e2e import more_options, opened_view


def thread_starts(slack: FakeSlack) -> list:
    return [
        c for c in slack.posts() if c.args.get("thread_ts") and "Task started" in c.args["text"]
    ]


def test_a_double_submitted_form_creates_one_task(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    sender.command("")
    payload = view_submission(opened_view(slack), {"task": "Only once, please"})
    assert sender.interactive(payload).status_code == 200
    assert sender.interactive(payload).status_code == 200  # Slack re-sends, or a double click
    wait_for(lambda: thread_starts(slack), 5, "the thread reply")
    sender.settle()
    assert len(browser_use.created) == 1 and len(thread_starts(slack)) == 1


def test_forged_stale_and_unsigned_requests_run_nothing_and_the_app_keeps_serving(
    app: AppProcess, sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    url = f"{app.url}/slack/events"
    body = sender.command_body("Book it")
    assert LOOPBACK.post(url, content=body).status_code == 401
    headers = signed_headers(body)
    headers.pop("X-Slack-Signature")
    assert LOOPBACK.post(url, content=body, headers=headers).status_code == 401
    huge = "x" * (300 * 1024)
    assert LOOPBACK.post(url, content=huge, headers=signed_headers(huge)).status_code == 413
    for junk in ("payload=%7Bnot-json", "payload=", "\x00\xff", '{"type": "nonsense"}'):
        response = LOOPBACK.post(url, content=junk, headers=signed_headers(junk))
        assert 400 <= response.status_code < 500, (junk, response.status_code)
    sender.settle()
    assert browser_use.create_calls == 0 and slack.posts() == []
    assert sender.command("Still here?").status_code == 200
    wait_for(lambda: thread_starts(slack), 5, "a task after the junk")


def test_no_token_or_key_reaches_slack_or_a_log_line(
    app: AppProcess, sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    sender.command("Look up the weather --model gpt-4.1")
    wait_for(lambda: thread_starts(slack), 5, "the thread reply")
    browser_use.finish(browser_use.created[0].id, output="Sunny")
    wait_for(lambda: len(slack.posts()) >= 3, 5, "the result")
    logs, sent = app.logs(), slack.everything_sent()
    for secret in (BOT_TOKEN, API_KEY, SIGNING_SECRET, WEBHOOK_SECRET):
        assert secret not in logs, "a secret is in the log (at DEBUG, the most verbose level)"
        assert secret not in sent
    assert "Look up the weather" not in "\n".join(
        line for line in logs.splitlines() if " INFO " in line
    ), "prompts are not logged at INFO"


@pytest.mark.slow
def test_a_burst_is_paced_and_each_person_is_told_they_are_queued(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    rate = 4
    notice_after = Timers().queue_notice_after * TIMER_SCALE
    env = {"BROWSER_USE_REQUESTS_PER_SECOND": str(rate), "POLL_INTERVAL_SECONDS": "30"}
    with own_app(**env) as (_, sender):
        acks = [sender.command(f"Burst task {i}", user_id=f"U{i}") for i in range(12)]
        assert [r.status_code for r in acks] == [200] * 12
        wait_for(lambda: len(thread_starts(slack)) == 12, 15, "twelve tasks started")
    assert len(browser_use.created) == 12 and browser_use.create_calls == 12
    first = min(c.at for c in browser_use.created)
    span = max(c.at for c in browser_use.created) - first
    assert span >= 1.5, f"12 at {rate} a second take ~2 s, not {span:.2f} s"
    told = {c.args["thread_ts"] for c in slack.posts() if "Queued" in c.args["text"]}
    for task in browser_use.created:
        thread_ts = task.body["metadata"]["slack"].split("/")[2]
        if task.at - first >= notice_after + 0.5:  # waited well past the notice's threshold
            assert thread_ts in told, "a task that waited was not told it was queued"
        if task.at - first < notice_after / 3:  # went at once: no note
            assert thread_ts not in told


POLICY = {
    "ALLOWED_USER_IDS": "U1,U2",
    "ALLOWED_CHANNEL_IDS": "C1",
    "ADMIN_USER_IDS": "UADMIN",
    "MAX_STEPS_LIMIT": "50",
    "ALLOWED_LLMS": "gpt-4.1,o3",
    "FORCED_ALLOWED_DOMAINS": "intranet.example",
    "MAX_RUNNING_TASKS_PER_USER": "2",
    "MAX_TASKS_PER_HOUR_PER_USER": "3",
}


@pytest.fixture(scope="module")
def strict_app(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppProcess]:
    env = {**app_env(slack, browser_use), **POLICY, "POLL_INTERVAL_SECONDS": "30"}
    process = AppProcess(env, tmp_path_factory.mktemp("strict")).start()
    yield process
    process.stop()


@pytest.fixture
def strict(strict_app: AppProcess, slack: FakeSlack, browser_use: FakeBrowserUse) -> SlackSender:
    wipe(slack, browser_use)
    return SlackSender(strict_app.url, slack.response_url())


def refused(response: httpx.Response) -> str:
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"
    return body["text"]


def test_only_allowed_people_in_allowed_channels_start_tasks(
    strict: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    assert "can't start browser tasks" in refused(
        strict.command("Go", user_id="U9", channel_id="C1")
    )
    assert "can't be started in this channel" in refused(
        strict.command("Go", user_id="U1", channel_id="C2")
    )
    assert "can't start browser tasks" in refused(strict.command("", user_id="U9", channel_id="C1"))
    strict.settle()
    assert browser_use.create_calls == 0 and slack.posts() == []
    assert slack.calls_to("views.open") == []
    assert strict.command("Go", user_id="UADMIN", channel_id="C2").text == ""  # admins may
    wait_for(lambda: len(browser_use.created) == 1, 5, "the admin's task")


def test_the_admins_limits_on_models_steps_and_domains(
    strict: SlackSender, browser_use: FakeBrowserUse
) -> None:
    assert "Max steps is limited to 50" in refused(
        strict.command("Go --max-steps 80", user_id="U1", channel_id="C1")
    )
    text = refused(strict.command("Go --model gemini-2.5-pro", user_id="U1", channel_id="C1"))
    assert "`gemini-2.5-pro` is not allowed here" in text and "`gpt-4.1`" in text
    strict.command("Go", user_id="U1", channel_id="C1")
    strict.command("Go --domains shop.example --model o3", user_id="U2", channel_id="C1")
    wait_for(lambda: len(browser_use.created) == 2, 5, "two tasks")
    bodies = sorted((c.body for c in browser_use.created), key=lambda b: b["llm"])
    assert (bodies[0]["llm"], bodies[0]["maxSteps"], bodies[0]["allowedDomains"]) == (
        "gpt-4.1",
        50,
        ["intranet.example"],
    )
    assert (bodies[1]["llm"], bodies[1]["allowedDomains"]) == (
        "o3",
        ["shop.example", "intranet.example"],
    )


def test_the_form_shows_a_limit_under_its_field(
    strict: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    strict.command("", user_id="U1", channel_id="C1")
    view = more_options(strict, slack, opened_view(slack))
    response = strict.interactive(
        view_submission(view, {"task": "Go", "max_steps": "80", "llm": "gpt-4.1"}, user_id="U1")
    )
    assert response.json()["errors"] == {"max_steps": "Max steps is limited to 50 here."}
    assert browser_use.create_calls == 0


def test_per_person_limits_on_running_tasks_and_tasks_an_hour(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    """Counted by the app in its store (a task runs until its end is reported), both engines:
    an accurate-mode run counts like a task."""
    with own_app(**{**POLICY, "FORCED_ALLOWED_DOMAINS": ""}) as (_, strict):
        strict.command("Task 0", user_id="U1", channel_id="C1")
        wait_for(lambda: len(browser_use.created) == 1, 5, "a task")
        strict.command("Task 1 --accurate", user_id="U1", channel_id="C1")
        wait_for(lambda: len(browser_use.runs_created) == 1, 5, "a run")
        strict.command("A third at once", user_id="U1", channel_id="C1")
        (no,) = wait_for(lambda: slack.responses, 5, "the refusal")
        assert "already have 2 tasks running" in no.args["text"]
        assert len(browser_use.created) == 1 and len(browser_use.runs_created) == 1
        assert not [c for c in slack.posts() if "A third at once" in c.args["text"]]

        browser_use.finish(browser_use.created[0].id)
        browser_use.finish_run(browser_use.runs_created[0].id, cost="0.0100")
        wait_for(lambda: len(finished(slack)) == 2, 10, "both ends reported")
        strict.settle()  # their slots end just after their results are posted
        strict.command("Third in the hour", user_id="U1", channel_id="C1")
        wait_for(lambda: len(browser_use.created) == 2, 5, "the third task")
        browser_use.finish(browser_use.created[-1].id)
        wait_for(lambda: len(finished(slack)) == 3, 10, "its end reported")
        strict.settle()
        strict.command("Fourth in the hour", user_id="U1", channel_id="C1")
        wait_for(lambda: len(slack.responses) == 2, 5, "the second refusal")
        assert "3 tasks in the last hour" in slack.responses[1].args["text"]
        assert len(browser_use.created) == 2
        strict.command("Someone else", user_id="U2", channel_id="C1")  # limits are per person
        wait_for(lambda: len(browser_use.created) == 3, 5, "U2's task")


def finished(slack: FakeSlack) -> list[Any]:
    """The results the app posted: each a task whose end it reported."""
    return [c for c in slack.posts() if "Finished" in c.args["text"] and "<@U" in c.args["text"]]


def test_two_commands_at_the_same_instant_under_a_limit_of_one_make_one_task(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app(MAX_RUNNING_TASKS_PER_USER="1") as (_, sender):
        browser_use.create_delay = 0.3  # as Browser Use takes its time: the checks overlap
        bodies = [sender.command_body(f"Book table {i}", user_id="U7") for i in range(6)]
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda body: sender.post(body, signed_headers(body)), bodies))
        wait_for(lambda: len(slack.responses) == 5, 5, "five refusals")
        sender.settle()
    assert len(browser_use.created) == 1
    assert all("limit here is 1" in r.args["text"] for r in slack.responses)


def test_a_domain_fence_keeps_every_task_inside_it_and_refuses_a_wider_domain(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    """`DOMAIN_FENCE`: a person may narrow it, never widen it; the floor (its old name,
    FORCED_ALLOWED_DOMAINS, still read) is added on top, as before."""
    fence = {"DOMAIN_FENCE": "example.com,*.example.com", "FORCED_ALLOWED_DOMAINS": "sso.corp"}
    with own_app(**fence) as (_, sender):
        assert "outside that" in refused(sender.command("Buy it --domains evil.com"))
        wider = sender.command("Buy it --domains *.example.com,mail.example")
        assert "outside that" in refused(wider)
        assert browser_use.create_calls == 0
        sender.command("Buy it --domains shop.example.com")
        sender.command("Buy it")
        wait_for(lambda: len(browser_use.created) == 2, 5, "two tasks")
        asked = [t.body["allowedDomains"] for t in browser_use.created]
    assert sorted(asked) == sorted(
        [["shop.example.com", "sso.corp"], ["example.com", "*.example.com", "sso.corp"]]
    )


def test_what_lies_inside_a_fence() -> None:
    from handlers.access import inside

    fence = ("example.com", "*.shop.example")
    assert inside("example.com", fence) and inside("EXAMPLE.com", fence)
    assert inside("shop.example", fence) and inside("eu.shop.example", fence)
    assert inside("*.eu.shop.example", fence) and inside("*.shop.example", fence)
    assert not inside("www.example.com", fence)  # example.com alone, not its subdomains
    assert not inside("*.example", fence) and not inside("evilshop.example", fence)


def test_a_spend_cap_reached_by_costs_that_add_up_refuses_and_says_whose(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse, database_url: str
) -> None:
    """A person's day cap counts the costs their tasks reported (both engines); past it, a
    start is refused, told whose cap, how much and when it resets; another person, and the
    channel's own cap, go on."""
    caps = {"MAX_SPEND_PER_PERSON_DAY": "0.02", "MAX_SPEND_PER_CHANNEL_MONTH": "0.03"}
    caps["DATABASE_URL"] = database_url  # on each store
    with own_app(**caps) as (_, sender):
        for i, kind in enumerate(("", " --accurate")):
            sender.command(f"Price check {i}{kind}", user_id="U1", channel_id="C1")
        wait_for(lambda: browser_use.created and browser_use.runs_created, 5, "both started")
        browser_use.finish(browser_use.created[0].id)  # $0.0123
        browser_use.finish_run(browser_use.runs_created[0].id, cost="0.0100")
        wait_for(lambda: len(finished(slack)) == 2, 10, "both ends reported")
        sender.settle()  # their costs are kept just after their results are posted

        def told(line: str, user: str) -> str:
            before = len(slack.responses)
            assert sender.command(line, user_id=user, channel_id="C1").status_code == 200
            return str(wait_for(lambda: slack.responses[before:], 5, "the answer")[0].args["text"])

        said = told("One more", "U1")
        assert "You spent $" in said and "of a $0.02 cap this day" in said
        assert "resets at midnight UTC" in said
        sender.command("Mine", user_id="U2", channel_id="C1")  # another person: their own cap
        wait_for(lambda: len(browser_use.created) == 2, 5, "U2's task")
        browser_use.finish(browser_use.created[1].id)
        wait_for(lambda: len(finished(slack)) == 3, 10, "its end reported")
        sender.settle()
        said = told("And mine", "U3")
        assert "This channel spent $" in said and "of a $0.03 cap this month" in said
        sender.command("Elsewhere", user_id="U3", channel_id="C2")
        wait_for(lambda: len(browser_use.created) == 3, 5, "a task in another channel")


def test_a_v2_task_is_stopped_once_its_cost_reaches_its_cap_and_told_once(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    """v2 has no cost cap of its own: the app reads a capped task until it ends and stops it
    once its reported cost reaches `--max-cost`; v4 gets `maxCostUsd` (test_accurate_e2e)."""
    with own_app() as (process, sender):
        sender.command("Dig through the archive --max-cost 0.05")
        (task,) = wait_for(lambda: browser_use.created, 5, "the task")
        assert "maxCostUsd" not in task.body  # not v2's: the app keeps it
        browser_use.step(task.id, "Open the archive")
        browser_use.tasks[task.id]["cost"] = "0.0300"
        time.sleep(1)  # read, under its cap: it goes on
        assert browser_use.stops == []
        browser_use.step(task.id, "Read the next box")
        browser_use.tasks[task.id]["cost"] = "0.0610"
        told = wait_for(
            lambda: [c for c in slack.posts() if "I stopped this task" in c.args["text"]],
            10,
            "the notice",
        )
        assert "$0.061" in told[0].args["text"] and "$0.05" in told[0].args["text"]
        wait_for(lambda: [c for c in slack.posts() if "Stopped" in c.args["text"]], 10, "end")
        sender.settle()
        assert browser_use.stops == [task.id]
        assert len([c for c in slack.posts() if "I stopped this task" in c.args["text"]]) == 1
        assert "task.cost_cap" in process.logs()


def test_an_admin_ceiling_caps_every_task_and_refuses_a_higher_cap(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app(MAX_COST_PER_TASK="1") as (_, sender):
        assert "at most $1.00 here" in refused(sender.command("Go --max-cost 5"))
        sender.command("Go --accurate")
        (run,) = wait_for(lambda: browser_use.runs_created, 5, "the run")
    assert run.body["maxCostUsd"] == 1


def test_app_home_shows_each_person_their_months_spend_and_admins_the_biggest_spenders(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    from tests.test_admin_settings_e2e import home_of

    with own_app() as (_, sender):
        for user, channel in (("U1", "C1"), ("U1", "C1"), ("U2", "C2")):
            sender.command("Price check", user_id=user, channel_id=channel)
        wait_for(lambda: len(browser_use.created) == 3, 5, "three tasks")
        for task in browser_use.created:
            browser_use.finish(task.id)  # $0.0123 each
        wait_for(lambda: len(finished(slack)) == 3, 10, "three ends reported")
        sender.settle()  # their costs are kept just after their results are posted
        own = json.dumps(home_of(sender, slack, "U1"))
        assert "You: $0.0246 this month" in own and "By person" not in own
        admin = json.dumps(home_of(sender, slack, "UADMIN"))
        assert "By person, the biggest first: <@U1> $0.0246, <@U2> $0.0123" in admin
        assert "By channel: <#C1> $0.0246, <#C2> $0.0123" in admin

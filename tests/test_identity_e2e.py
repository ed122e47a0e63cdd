"""Who acts is who Slack verified, checked at every use of a saved login: a typed-in user ID, a
reply in someone's thread, a Run again or a recurring run after the login was un-shared, and a
live view of a logged-in browser never lend anyone's login to someone else. Each test failed
before the rule was held at every use."""

from __future__ import annotations

from typing import Any

from tests.conftest import OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SlackSender, view_submission
from tests.test_agent_e2e import click as click_result
from tests.test_conversations_e2e import created_count, mention, status_in
from tests.test_following_e2e import Started, ephemerals_to
from tests.test_following_e2e import click as click_status
from tests.test_logins_e2e import click, login_button, opened_form, save_login, told
from tests.test_recurring_e2e import click as click_schedule
from tests.test_recurring_e2e import schedules_in
from tests.test_workflow_e2e import completions, run_step

ALICE, BOB = "U1", "U2"


def alices_login(
    sender: SlackSender,
    slack: FakeSlack,
    browser_use: FakeBrowserUse,
    entered: dict[str, Any] | None = None,
) -> tuple[str, Any]:
    """Alice's saved login "CRM" (private unless `entered` shares it): its profile, and the
    message with its buttons."""
    before = set(browser_use.profiles)
    message, session_id = save_login(
        sender, slack, browser_use, "CRM https://crm.example", user=ALICE, entered=entered
    )
    browser_use.log_in(session_id, "crm.example")
    click(sender, ALICE, login_button(message, "logged_in"))
    told(slack, "It holds")
    (profile_id,) = set(browser_use.profiles) - before
    return profile_id, message


def reshare(sender: SlackSender, slack: FakeSlack, message: Any, **entered: Any) -> None:
    """Alice changes who may use her login."""
    change = {"action_id": "change_login", "value": login_button(message, "logged_in")["value"]}
    before = len(slack.calls_to("views.open"))
    click(sender, ALICE, change, view={"type": "home", "id": "VHOME"})
    view = opened_form(slack, before)
    assert sender.interactive(view_submission(view, entered, user_id=ALICE)).text == ""


def test_a_typed_person_to_notify_borrows_nobodys_login_the_user_context_does(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        profile_id, _ = alices_login(sender, slack, browser_use)
        step = {"task": "Export the leads", "channel": "CWF", "login": "crm", "notify": ALICE}
        # Built by anyone, naming Alice: it acts as nobody, and her private login is refused.
        execution_id, _ = run_step(sender, slack, step)
        ((method, args),) = wait_for(lambda: completions(slack, execution_id), 5, "the failure")
        assert method == "functions.completeError"
        assert "does not know who ran it" in args["error"] and "builder" in args["error"]
        assert browser_use.create_calls == 0
        # Run by Alice herself (Slack says so): her login, her task.
        ran_by_alice = {**step, "user_context": {"id": ALICE, "secret": "opaque"}}
        run_step(sender, slack, ran_by_alice)
        (task,) = wait_for(lambda: browser_use.created, 5, "Alice's task")
        assert task.body["sessionSettings"] == {"profileId": profile_id}
        # Run by Bob, naming Alice to notify: Bob acts, and may not use it.
        ran_by_bob = {**step, "user_context": {"id": BOB, "secret": "opaque"}}
        execution_id, _ = run_step(sender, slack, ran_by_bob)
        ((method, args),) = wait_for(lambda: completions(slack, execution_id), 5, "the failure")
        assert method == "functions.completeError" and "not shared with you" in args["error"]
        assert browser_use.create_calls == 1


def test_a_reply_in_someone_elses_login_thread_runs_nowhere_near_their_browser(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        profile_id, _ = alices_login(sender, slack, browser_use)
        said = mention(sender, "Open the pipeline --login crm", user=ALICE, channel="C5")
        (task,) = created_count(browser_use, 1)
        status = status_in(slack, said.ts, task.id)[0]
        browser = task.body["sessionId"]
        assert browser_use.session_requests[-1]["profileId"] == profile_id
        sessions = len(browser_use.sessions)

        mention(sender, "Now export every contact", user=BOB, channel="C5", thread_ts=said.ts)
        refusal = wait_for(
            lambda: [c for c in slack.calls if "not shared with you here" in c.raw], 5, "refusal"
        )[0]
        assert "<@U1>'s saved login “CRM”" in refusal.raw
        assert browser_use.create_calls == 1 and len(browser_use.sessions) == sessions

        # An admin's click on Live view gets no link either: the view is Alice's logged-in
        # browser itself. Alice's does.
        started = Started(task.id, browser, said.ts, status.answer["ts"])
        browser_use.step(task.id, "Open the pipeline")
        click_status(sender, "live_view", started, user="UADMIN", channel="C5")
        (no,) = wait_for(lambda: ephemerals_to(slack, "UADMIN"), 5, "the refusal")
        assert "/live/" not in no.args["text"] and "not shared with you" in no.args["text"]
        click_status(sender, "live_view", started, user=ALICE, channel="C5")
        (yes,) = wait_for(lambda: ephemerals_to(slack, ALICE), 5, "Alice's live view")
        assert f"/live/{browser}" in yes.args["text"]


def test_unsharing_a_login_stops_run_again_and_the_recurring_run(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (process, sender):
        shared = {"login_shared": "channels", "login_channels": ["C9"]}
        _, message = alices_login(sender, slack, browser_use, shared)
        sender.command("Count the open deals --login crm", user_id=BOB, channel_id="C9")
        (task,) = created_count(browser_use, 1)
        every = "every day at 9:00 count the open deals --login crm"
        sender.command(every, user_id=BOB, channel_id="C9")
        store = f"sqlite+aiosqlite:///{process.workdir}/data/bot.db"
        (schedule,) = wait_for(lambda: schedules_in(store, "C9"), 5, "the schedule")
        browser_use.finish(task.id, output="12 deals")
        result = wait_for(
            lambda: [c for c in slack.posts() if c.args["text"].startswith(f"<@{BOB}> Finished")],
            5,
            "the result",
        )[0]

        reshare(sender, slack, message, login_shared="me")  # Alice keeps it to herself now
        wait_for(lambda: "shared=me" in process.logs(), 5, "the change saved")

        click_result(sender, result, "run_again", BOB)
        click_schedule(sender, "schedule_run_now", schedule.id, BOB, "C9")

        def dms() -> list[Any]:
            return [c for c in slack.posts() if c.args.get("channel") == BOB]

        refused = "not shared with you here"
        (again,) = wait_for(lambda: [r for r in slack.responses if refused in r.raw], 5, "again")
        (run,) = wait_for(lambda: [c for c in dms() if refused in c.raw], 5, "the recurring run")
        assert "CRM" in again.raw and "did not run" in run.raw
        sender.settle()
        assert browser_use.create_calls == 1  # neither ran again on Alice's login

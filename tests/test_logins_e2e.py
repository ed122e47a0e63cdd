"""Saved logins, end to end: a browser opened for one person to log in, saved when it closes,
used by later tasks with its profile and proxy, and private to whom it is shared with. Each test
has an app of its own (they keep logins in its store)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests import databases
from tests.app_process import AppProcess
from tests.conftest import OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.slack_requests import SlackSender, view_submission
from tests.test_admin_settings_e2e import home_of
from tests.test_conversations_e2e import mention


def every_row(database: Path) -> str:
    """Every row of every table of a SQLite store, as text."""
    with sqlite3.connect(database) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return repr([list(conn.execute(f"SELECT * FROM {t}")) for t in tables])  # noqa: S608


def told(slack: FakeSlack, words: str, after: int = 0) -> Any:
    """The message that says how a login browser ended: its own message edited, or (when the
    click came before the app kept that message's ts) a new DM to its person."""
    found = wait_for(
        lambda: [
            c
            for c in slack.calls[after:]
            if c.method in ("chat.update", "chat.postMessage") and words in c.raw
        ],
        5,
        f"the person told: {words}",
    )
    return found[-1]


def opened_form(slack: FakeSlack, before: int) -> dict[str, Any]:
    wait_for(lambda: len(slack.calls_to("views.open")) > before, 5, "the login form")
    view = slack.calls_to("views.open")[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def initial(view: dict[str, Any], block_id: str) -> Any:
    (block,) = [b for b in view["blocks"] if b.get("block_id") == block_id]
    return block["element"].get("initial_value")


def dms_to(slack: FakeSlack, user: str) -> list[Any]:
    return [c for c in slack.posts() if c.args.get("channel") == user]


def login_button(message: Any, action_id: str) -> dict[str, Any]:
    blocks = message.args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return next(
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )


def click(sender: SlackSender, user: str, button: dict[str, Any], **where: Any) -> None:
    sender.interactive(
        {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": user, "team_id": TEAM_ID},
            "trigger_id": "7.7.7",
            "response_url": where.pop("response_url", None),
            "channel": {"id": where.pop("channel", "D1")},
            "message": {"ts": "1700000000.000100"},
            "actions": [
                {"action_id": button["action_id"], "value": button["value"], "type": "button"}
            ],
            **where,
        }
    )


def save_login(
    sender: SlackSender,
    slack: FakeSlack,
    browser_use: FakeBrowserUse,
    text: str,
    *,
    user: str = "U1",
    entered: dict[str, Any] | None = None,
) -> tuple[Any, str]:
    """`/browser-use login …`, the form submitted: the DM with the login browser, its session."""
    before, dms = len(slack.calls_to("views.open")), len(dms_to(slack, user))
    assert sender.command(f"login {text}", user_id=user).status_code == 200
    view = opened_form(slack, before)
    assert sender.interactive(view_submission(view, entered or {}, user_id=user)).text == ""
    wait_for(lambda: len(dms_to(slack, user)) > dms, 5, "the login browser's message")
    message = dms_to(slack, user)[-1]
    session_id = next(
        s for s in browser_use.sessions if browser_use.sessions[s]["status"] == "active"
    )
    return message, session_id


def saved_login(
    sender: SlackSender,
    slack: FakeSlack,
    browser_use: FakeBrowserUse,
    text: str,
    site: str,
    *,
    entered: dict[str, Any] | None = None,
) -> str:
    """A login saved by U1, logged in to `site`: its profile's ID."""
    before = set(browser_use.profiles)
    message, session_id = save_login(sender, slack, browser_use, text, entered=entered)
    browser_use.log_in(session_id, site)
    click(sender, "U1", login_button(message, "logged_in"))
    told(slack, "It holds")
    (profile_id,) = set(browser_use.profiles) - before
    return profile_id


def test_a_login_is_saved_privately_and_tasks_that_use_it_start_logged_in(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (process, sender):
        browser_use.live_url_after_reads = 1  # the browser boots: no live view at first
        before = len(slack.calls_to("views.open"))
        sender.command("login Expenses https://expenses.example/login --proxy de", user_id="U1")
        view = opened_form(slack, before)
        assert initial(view, "login_name") == "Expenses"
        assert initial(view, "login_url") == "https://expenses.example/login"
        assert initial(view, "login_proxy") == "de"
        assert sender.interactive(view_submission(view, {}, user_id="U1")).text == ""
        (message,) = wait_for(lambda: dms_to(slack, "U1"), 5, "the login browser's message")

        (profile_id,) = browser_use.profiles
        assert browser_use.profile_requests == [{"name": "Expenses", "userId": f"{TEAM_ID}:U1"}]
        (session_id,) = browser_use.sessions
        assert browser_use.session_requests == [
            {
                "keepAlive": True,
                "persistMemory": False,
                "profileId": profile_id,
                "proxyCountryCode": "de",
                "startUrl": "https://expenses.example/login",
            }
        ]
        live_url = f"{browser_use.url}/live/{session_id}"
        assert login_button(message, "open_login_browser")["url"] == live_url
        # The live view went to its person alone: no channel, no log line, no store row.
        assert all(live_url not in c.raw for c in slack.calls if c is not message)
        assert live_url not in process.logs()
        rows = every_row(process.workdir / "data" / "bot.db")
        assert live_url not in rows and session_id in rows  # it keeps the session, not its view

        browser_use.log_in(session_id, "expenses.example", "sso.example")
        click(sender, "U1", login_button(message, "logged_in"))
        saved = told(slack, "It holds")
        assert saved.args["channel"] in ("D1", "U1")  # its DM, by channel or by person
        assert live_url not in saved.raw
        assert "`expenses.example`" in str(saved.args["blocks"])
        assert browser_use.session_stops == [session_id]  # stopping it is what saves it

        sender.command("File last week's receipts --login expenses", user_id="U1", channel_id="C1")
        (task,) = wait_for(lambda: browser_use.created, 5, "the task")
        assert task.body["sessionSettings"] == {"profileId": profile_id, "proxyCountryCode": "de"}
        parent = next(c for c in slack.posts() if c.args.get("channel") == "C1")
        assert "using <@U1>'s login “Expenses”" in str(parent.args["blocks"])
        assert live_url not in process.logs()


def test_a_login_not_shared_is_refused_and_starts_nothing(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        entered = {"login_shared": "channels", "login_channels": ["CSHARED"]}
        message, session_id = save_login(
            sender, slack, browser_use, "CRM https://crm.example", entered=entered
        )
        browser_use.log_in(session_id, "crm.example")
        click(sender, "U1", login_button(message, "logged_in"))
        told(slack, "It holds")

        sender.command("Export the leads --login crm", user_id="U2", channel_id="COTHER")
        (refusal,) = wait_for(lambda: slack.responses, 5, "the refusal")
        assert "not shared with you here" in refusal.args["text"]
        assert "nothing was started" in refusal.args["text"]
        assert browser_use.create_calls == 0 and len(browser_use.sessions) == 1

        sender.command("Export the leads --login crm", user_id="U2", channel_id="CSHARED")
        (task,) = wait_for(lambda: browser_use.created, 5, "the task where it is shared")
        assert task.body["sessionSettings"]["profileId"] in browser_use.profiles

        said = mention(sender, "export the leads --login crm", user="U2", channel="COTHER")
        wait_for(lambda: slack.in_thread(said.ts), 5, "the refusal in the thread")
        assert "not shared with you here" in slack.in_thread(said.ts)[0].args["text"]
        assert len(browser_use.created) == 1


def test_cancel_closes_the_browser_and_keeps_nothing(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        message, session_id = save_login(sender, slack, browser_use, "Bank https://bank.example")
        click(sender, "U1", login_button(message, "cancel_login"))
        told(slack, "you cancelled")
        assert browser_use.session_stops == [session_id]
        assert browser_use.profiles == {}  # never saved: its profile is deleted too
        sender.command("Check the balance --login bank", user_id="U1")
        (refusal,) = wait_for(lambda: slack.responses, 5, "the refusal")
        assert "no saved login named “bank”" in refusal.args["text"]
        # A click from someone else on the owner's browser changes nothing.
        message, session_id = save_login(sender, slack, browser_use, "Bank https://bank.example")
        click(sender, "U2", login_button(message, "logged_in"))
        wait_for(lambda: slack.calls_to("chat.postEphemeral"), 5, "the refusal to U2")
        assert browser_use.sessions[session_id]["status"] == "active"


def test_the_deadline_closes_the_browser_and_the_person_is_told(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app(LOGIN_MINUTES="0.02", HEARTBEAT_SECONDS="0.2") as (_, sender):
        _, session_id = save_login(sender, slack, browser_use, "Intranet https://intra.example")
        wait_for(lambda: session_id in browser_use.session_stops, 5, "the browser closed")
        told(slack, "time to log in ran out")
        assert browser_use.profiles == {}


@pytest.mark.slow
def test_a_login_browser_is_closed_by_a_restart_or_by_the_process_that_outlives_its_watcher(
    own_app: OwnApp,
    slack: FakeSlack,
    browser_use: FakeBrowserUse,
    postgres_server: str,
    tmp_path: Any,
) -> None:
    database = databases.fresh_database(postgres_server)
    shared = {"DATABASE_URL": database, "HEARTBEAT_SECONDS": "0.2", "FOLLOW_LEASE_SECONDS": "1"}
    with own_app(**shared) as (first, sender):
        _, session_id = save_login(sender, slack, browser_use, "Wiki https://wiki.example")
        first.stop()  # a graceful restart: the browser is closed and its person told
        assert session_id in browser_use.session_stops
        told(slack, "I restarted")

    from tests.conftest import app_env

    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    one = AppProcess({**app_env(slack, browser_use), **shared}, tmp_path / "one").start()
    two = AppProcess({**app_env(slack, browser_use), **shared}, tmp_path / "two").start()
    try:
        sender = SlackSender(one.url, slack.response_url())
        # Opened through one process, finished through the other.
        message, session_id = save_login(sender, slack, browser_use, "Docs https://docs.example")
        browser_use.log_in(session_id, "docs.example")
        click(SlackSender(two.url, slack.response_url()), "U1", login_button(message, "logged_in"))
        told(slack, "It holds")
        assert session_id in browser_use.session_stops

        _, session_id = save_login(sender, slack, browser_use, "Wiki https://wiki.example")
        after = len(slack.calls)
        assert one.proc is not None
        one.proc.kill()  # dies mid-login: the other process closes the browser once its lease ends
        wait_for(lambda: session_id in browser_use.session_stops, 10, "the orphan closed")
        told(slack, "process of mine watching it stopped", after)
    finally:
        one.stop()
        two.stop()


def test_logins_are_listed_privately_and_only_the_owner_or_an_admin_deletes(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        entered = {"login_shared": "channels", "login_channels": ["C1"]}
        message, session_id = save_login(sender, slack, browser_use, "Docs", entered=entered)
        browser_use.log_in(session_id, "docs.example")
        click(sender, "U1", login_button(message, "logged_in"))
        told(slack, "It holds")
        (profile_id,) = browser_use.profiles

        sender.command("logins", user_id="U2", channel_id="C1")
        (listing,) = wait_for(lambda: slack.responses, 5, "the list")
        assert listing.args["response_type"] == "ephemeral"
        assert "Docs" in str(listing.args["blocks"]) and "delete_login" not in listing.raw
        delete = {"action_id": "delete_login", "value": login_button(message, "logged_in")["value"]}
        click(sender, "U2", delete, channel="C1")  # forged: U2 is not its owner
        wait_for(lambda: slack.calls_to("chat.postEphemeral"), 5, "the refusal")
        assert "Only <@U1> and the admins" in slack.calls_to("chat.postEphemeral")[-1].raw
        assert profile_id in browser_use.profiles

        home = home_of(sender, slack, "U1")  # the owner's Home tab lists it, with Add
        assert "Your saved logins" in json.dumps(home) and "Docs" in json.dumps(home)
        before = len(slack.calls_to("views.open"))
        click(
            sender,
            "U1",
            {"action_id": "add_login", "value": "add"},
            view={"type": "home", "id": "VHOME"},
        )
        assert opened_form(slack, before)["callback_id"] == "save_login"

        url = slack.response_url("mine")
        click(sender, "U1", delete, channel="C1", response_url=url)
        wait_for(lambda: len(slack.responses) > 1, 5, "the list again")
        assert "is deleted" in slack.responses[-1].raw
        assert browser_use.profiles == {}


def test_the_form_lists_the_logins_one_may_use_and_runs_on_the_one_picked(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        profile_id = saved_login(sender, slack, browser_use, "Expenses", "expenses.example")

        before = len(slack.calls_to("views.open"))
        sender.command("", user_id="U2", channel_id="C1")  # not shared with U2: not listed
        (block,) = [b for b in opened_form(slack, before)["blocks"] if b.get("block_id") == "login"]
        assert block["element"]["type"] == "plain_text_input"

        before = len(slack.calls_to("views.open"))
        sender.command("", user_id="U1", channel_id="C1")
        view = opened_form(slack, before)
        (block,) = [b for b in view["blocks"] if b.get("block_id") == "login"]
        assert [o["value"] for o in block["element"]["options"]] == ["-", "Expenses"]
        assert block["element"]["initial_option"]["value"] == "-"  # none, unless the channel's
        entered = {"task": "File the receipts", "login": "Expenses"}
        assert sender.interactive(view_submission(view, entered, user_id="U1")).text == ""
        (task,) = wait_for(lambda: browser_use.created, 5, "the task")
        assert task.body["sessionSettings"] == {"profileId": profile_id}
        parent = next(c for c in slack.posts() if c.args.get("channel") == "C1")
        assert "login “Expenses”" in str(parent.args["blocks"])


def test_a_workflow_step_uses_a_login_shared_with_its_channel_and_fails_on_another(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    from tests.test_workflow_e2e import completions, run_step

    with own_app() as (_, sender):
        entered = {"login_shared": "channels", "login_channels": ["CWF"]}
        profile_id = saved_login(sender, slack, browser_use, "Ops", "ops.example", entered=entered)

        step = {"task": "Restart the queue", "channel": "CWF", "login": "ops"}
        run_step(sender, slack, step)
        (task,) = wait_for(lambda: browser_use.created, 5, "the step's task")
        assert task.body["sessionSettings"] == {"profileId": profile_id}

        execution_id, _ = run_step(sender, slack, {**step, "channel": "CELSEWHERE"})
        ((method, args),) = wait_for(lambda: completions(slack, execution_id), 5, "the failure")
        assert method == "functions.completeError" and "not shared" in args["error"]
        assert len(browser_use.created) == 1


def test_a_channel_default_login_starts_its_tasks_logged_in_unless_the_person_says_otherwise(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        entered = {"login_shared": "channels", "login_channels": ["CSH"]}
        profile_id = saved_login(sender, slack, browser_use, "Ops", "ops.example", entered=entered)

        before = len(slack.calls_to("views.open"))
        sender.command("settings", user_id="U2", channel_id="CSH")
        view = opened_form(slack, before)
        (block,) = [b for b in view["blocks"] if b.get("block_id") == "login"]
        assert [o["value"] for o in block["element"]["options"]] == ["default", "Ops"]
        submitted = view_submission(view, {"login": "Ops"}, user_id="U2")
        submitted["view"]["private_metadata"] = view["private_metadata"]
        assert sender.interactive(submitted).text == ""
        wait_for(
            lambda: [c for c in slack.posts() if "changed this channel's defaults" in c.raw],
            5,
            "the change announced",
        )

        sender.command("Check the queue", user_id="U2", channel_id="CSH")
        (task,) = wait_for(lambda: browser_use.created, 5, "the task")
        assert task.body["sessionSettings"] == {"profileId": profile_id}
        sender.command("Check the queue --proxy us", user_id="U2", channel_id="CSH")
        wait_for(lambda: len(browser_use.created) == 2, 5, "the second task")
        assert browser_use.created[1].body["sessionSettings"] == {"proxyCountryCode": "us"}


def test_the_owner_renames_and_reshares_a_login_and_others_may_not(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        message, session_id = save_login(sender, slack, browser_use, "Expenses")
        browser_use.log_in(session_id, "expenses.example")
        click(sender, "U1", login_button(message, "logged_in"))
        told(slack, "It holds")
        (profile_id,) = browser_use.profiles
        change = {"action_id": "change_login", "value": login_button(message, "logged_in")["value"]}

        click(sender, "U2", change, channel="C9")  # not theirs
        wait_for(lambda: slack.calls_to("chat.postEphemeral"), 5, "the refusal")
        assert "Only <@U1> and the admins" in slack.calls_to("chat.postEphemeral")[-1].raw

        before = len(slack.calls_to("views.open"))
        click(sender, "U1", change, view={"type": "home", "id": "VHOME"})
        view = opened_form(slack, before)
        assert view["callback_id"] == "edit_login" and initial(view, "login_name") == "Expenses"
        entered = {"login_name": "Spend", "login_shared": "channels", "login_channels": ["C9"]}
        assert sender.interactive(view_submission(view, entered, user_id="U1")).text == ""
        wait_for(lambda: browser_use.profiles[profile_id]["name"] == "Spend", 5, "renamed")

        sender.command("Report the month --login spend", user_id="U2", channel_id="C9")
        (task,) = wait_for(lambda: browser_use.created, 5, "U2's task where it is shared now")
        assert task.body["sessionSettings"] == {"profileId": profile_id}


def test_a_login_browser_browser_use_refuses_is_told_and_keeps_nothing(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        busy = {"detail": "Too many concurrent active sessions"}
        browser_use.session_refusals.append((429, busy))
        before = len(slack.calls_to("views.open"))
        sender.command("login Expenses https://expenses.example", user_id="U1")
        view = opened_form(slack, before)
        assert sender.interactive(view_submission(view, {}, user_id="U1")).text == ""
        (note,) = wait_for(lambda: dms_to(slack, "U1"), 5, "the person told")
        assert "Too many browser sessions" in note.args["text"]
        assert "not saved" in note.args["text"]
        assert browser_use.profiles == {}  # the profile made for it is gone too
        sender.command("Check it --login expenses", user_id="U1")
        (refusal,) = wait_for(lambda: slack.responses, 5, "no such login")
        assert "no saved login" in refusal.args["text"]


def test_a_raw_profile_id_is_for_admins_unless_an_admin_allows_anyone(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    profile = browser_use.add_profile()
    with own_app(PROFILE_IDS_BY="admins") as (_, sender):
        sender.command(f"Check the dashboard --profile {profile}", user_id="U1")
        (refusal,) = wait_for(lambda: slack.responses, 5, "the refusal")
        assert "Only admins can give a browser profile ID" in refusal.args["text"]
        said = mention(sender, f"check the dashboard --profile {profile}", user="U1")
        wait_for(lambda: slack.in_thread(said.ts), 5, "the refusal in the thread")
        assert "Only admins" in slack.in_thread(said.ts)[0].args["text"]
        assert browser_use.create_calls == 0 and browser_use.session_requests == []

        sender.command(f"Check the dashboard --profile {profile}", user_id="UADMIN")
        (task,) = wait_for(lambda: browser_use.created, 5, "the admin's task")
        assert task.body["sessionSettings"] == {"profileId": profile}


def test_a_taken_over_browser_on_a_saved_login_is_saved_into_it(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    from tests.test_following_e2e import Started
    from tests.test_following_e2e import click as click_task

    with own_app() as (_, sender):
        profile_id = saved_login(sender, slack, browser_use, "Portal", "portal.example")

        said = mention(sender, "download my invoice --login portal", user="U1")
        (task,) = wait_for(lambda: browser_use.created, 5, "the task")
        status = wait_for(
            lambda: [c for c in slack.posts() if task.id in c.args["text"]], 5, "its status"
        )[0]
        started = Started(task.id, task.session_id, said.ts, status.answer["ts"])
        click_task(sender, "take_over", started, user="U1")
        mine = wait_for(
            lambda: [c for c in slack.calls_to("chat.postEphemeral") if "save_taken_over" in c.raw],
            5,
            "the browser, with Save the login",
        )
        assert "Save the login Portal" in mine[0].raw
        browser_use.log_in(task.session_id, "sso.portal.example")  # what the person did
        assert "sso.portal.example" not in browser_use.profiles[profile_id]["cookieDomains"]
        click_task(sender, "save_taken_over", started, user="U1")
        wait_for(lambda: task.session_id in browser_use.session_stops, 5, "the browser closed")
        assert "sso.portal.example" in browser_use.profiles[profile_id]["cookieDomains"]
        wait_for(lambda: [r for r in slack.responses if "is saved" in r.raw], 5, "told")


def test_a_recurring_task_keeps_the_login_it_names(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (process, sender):
        profile_id = saved_login(sender, slack, browser_use, "Inbox --proxy de", "mail.example")
        sender.command("every weekday at 9:00 sort my inbox --login inbox", user_id="U1")
        store = process.workdir / "data" / "bot.db"

        def schedule() -> str:
            with sqlite3.connect(store) as conn:
                rows = list(conn.execute("SELECT request FROM schedules"))
            return rows[0][0] if rows else ""

        kept = json.loads(wait_for(schedule, 5, "the schedule"))
        assert kept["session_settings"] == {"profile_id": profile_id, "proxy_country_code": "de"}

"""Many workspaces end to end (`SLACK_CLIENT_ID`), on SQLite and on a real PostgreSQL: two
workspaces installed through the real routes by a browser that follows redirects and keeps
cookies as browsers do, each connecting its own Browser Use key (a bad one refused), each task
run with its workspace's key and posted with its workspace's token, nothing of one reachable from
the other, one uninstalled (everything of it gone, the other untouched), and a key rotation."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.sealed import new_key
from handlers.ids import Action, Callback
from tests.app_process import ROOT, AppProcess
from tests.conftest import app_env, wipe
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import APP_ID, CLIENT_ID, CLIENT_SECRET, Approval, FakeSlack, Workspace
from tests.slack_requests import SlackSender, event_body, signed_headers, view_submission

ADMIN = "UINSTALLER"  # installs, and is an admin of each workspace
T1, T2 = "T1AAAA", "T2BBBB"


def workflow_step(token: str, execution_id: str, channel: str) -> dict[str, Any]:
    """The Workflow Builder step's `function_executed` event, posting in `channel`."""
    return {
        "type": "function_executed",
        "function": {"id": "Fn0TEST", "callback_id": "run_browser_task", "app_id": APP_ID},
        "inputs": {"task": "Check the status page", "channel": channel},
        "function_execution_id": execution_id,
        "workflow_execution_id": f"Wx{execution_id}",
        "event_ts": f"{time.time():.6f}",
        "bot_access_token": token,
    }


def clicked(action: str, value: str, **more: Any) -> dict[str, Any]:
    """An admin's click on a button (of App Home, unless `more` says where)."""
    return {
        "type": "block_actions",
        "user": {"id": ADMIN},
        "api_app_id": APP_ID,
        "trigger_id": "1.2.3",
        "actions": [{"action_id": action, "value": value}],
        "container": {"type": "view", "view_id": "VHOME"},
        **more,
    }


class Browser:
    """A person's browser: follows nothing by itself (each redirect is a step the test takes),
    and keeps cookies per host as a browser does, `Secure` ones included on loopback (browsers
    treat `http://localhost` and `127.0.0.1` as secure; Python's cookie jar does not)."""

    def __init__(self) -> None:
        self.http = httpx.Client(follow_redirects=False, timeout=10, trust_env=False)
        self.cookies: dict[str, dict[str, str]] = {}  # host -> name -> value

    def get(self, url: str) -> httpx.Response:
        host = urlparse(url).netloc
        jar = self.cookies.setdefault(host, {})
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
        answer = self.http.get(url, headers=headers)
        for raw in answer.headers.get_list("set-cookie"):
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in raw.lower() or not value:
                jar.pop(name.strip(), None)
            else:
                jar[name.strip()] = value
        return answer


@dataclass
class Many:
    """The app serving many workspaces, and how to reach it as each workspace."""

    app: AppProcess
    slack: FakeSlack
    browser_use: FakeBrowserUse
    database_url: str
    keys: dict[str, str] = field(default_factory=dict)  # tenant -> its Browser Use key

    @property
    def sender(self) -> SlackSender:
        return SlackSender(self.app.url, self.slack.response_url())

    def install(self, team: str | None, org: str | None = None) -> httpx.Response:
        """What "Add to Slack" for `team` (or org-wide, for `org`) gets, approved by its admin:
        the app's last answer."""
        self.slack.workspace_admins.add(ADMIN)
        self.slack.approve_next(Approval(Workspace(team, org), user=ADMIN))
        browser = Browser()
        to_slack = browser.get(f"{self.app.url}/slack/install")
        assert to_slack.status_code == 302
        back = browser.get(to_slack.headers["location"])
        assert back.status_code == 302
        return browser.get(back.headers["location"])

    def ready(self, *teams: str) -> None:
        """Each of `teams` installed, and connected to a Browser Use project of its own."""
        for team in teams:
            self.install(team)
            self.keys[team], _ = self.browser_use.add_project()
            assert self.connect(team, self.keys[team]).status_code == 200
        self.app.settle()

    def interactive(
        self, team: str, payload: dict[str, Any], org: str | None = None
    ) -> httpx.Response:
        """A click or a submission in `team` (of the enterprise `org`, installed org-wide)."""
        payload = {**payload, "team": {"id": team, "domain": team.lower()}}
        payload["user"] = {**payload.get("user", {}), "team_id": team}
        if "view" in payload:
            payload["view"] = {**payload["view"], "team_id": team}
        if org:
            payload |= {"enterprise": {"id": org, "name": "Org"}, "is_enterprise_install": True}
        return self.sender.interactive(payload)

    def event(self, team: str, event: dict[str, Any], org: str | None = None) -> httpx.Response:
        body = json.loads(event_body(event))
        body["team_id"] = team
        authorization = {"team_id": team, "user_id": "UBOT", "is_bot": True}
        if org:
            body["enterprise_id"] = org
            authorization |= {"enterprise_id": org, "is_enterprise_install": True}
        body["authorizations"] = [authorization]
        raw = json.dumps(body)
        return self.sender.post(raw, signed_headers(raw, content_type="application/json"))

    def command(
        self, team: str, line: str, user: str = "U1", org: str | None = None
    ) -> httpx.Response:
        extra = {"enterprise_id": org, "is_enterprise_install": "true"} if org else {}
        return self.sender.command(line, team_id=team, user_id=user, channel_id=f"C{team}", **extra)

    def home_of(self, team: str) -> dict[str, Any]:
        """The Home tab last published in `team` (with its bot token)."""
        published = self.slack.calls_by(team, "views.publish")
        assert published, f"no Home published in {team}"
        view = published[-1].args["view"]
        return json.loads(view) if isinstance(view, str) else view

    def connect(self, team: str, key: str, org: str | None = None) -> httpx.Response:
        """An admin opens Connect Browser Use from Home and submits `key`."""
        self.event(team, {"type": "app_home_opened", "user": ADMIN, "tab": "home"}, org)
        self.app.settle()
        assert (
            self.interactive(team, clicked(Action.OPEN_CONNECT, "connect"), org).status_code == 200
        )
        self.app.settle()
        opened = self.slack.calls_by(org or team, "views.open")[-1].args["view"]
        form = json.loads(opened) if isinstance(opened, str) else opened
        assert form["callback_id"] == Callback.CONNECT_BROWSER_USE
        submitted = view_submission(form, {"api_key": key}, user_id=ADMIN)
        answer = self.interactive(team, submitted, org)
        # The key is saved after the form's ack: connected once the app is settled, as it is
        # for a person long before their next command.
        self.app.settle()
        return answer

    def rows(self, sql: str, **params: Any) -> list[Any]:
        """What the store holds, read (or changed) as an operator would: the database itself."""

        async def read() -> list[Any]:
            engine = create_async_engine(self.database_url)
            try:
                async with engine.begin() as conn:
                    found = await conn.execute(text(sql), params)
                    return list(found) if found.returns_rows else []
            finally:
                await engine.dispose()

        return asyncio.run(read())


def many_env(base: dict[str, str], port: int, database_url: str, keys: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in base.items()
        if k not in ("SLACK_BOT_TOKEN", "BROWSER_USE_API_KEY", "BROWSER_USE_WEBHOOK_SECRET")
    }
    return {
        **env,
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_REDIRECT_URI": f"http://127.0.0.1:{port}/slack/oauth_redirect",
        "ENCRYPTION_KEYS": keys,
        "DATABASE_URL": database_url,
    }


def start_many(
    slack: FakeSlack, browser_use: FakeBrowserUse, workdir: Path, database_url: str, keys: str
) -> AppProcess:
    process = AppProcess({}, workdir)
    process.env.update(many_env(app_env(slack, browser_use), process.port, database_url, keys))
    return process.start()


@pytest.fixture
def many(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path, database_url: str
) -> Iterator[Many]:
    wipe(slack, browser_use)
    keys = new_key()
    process = start_many(slack, browser_use, tmp_path, database_url, keys)
    try:
        yield Many(process, slack, browser_use, database_url, {"ENCRYPTION_KEYS": keys})
    finally:
        process.stop()


def test_two_workspaces_each_with_its_own_token_and_key_and_nothing_crosses(many: Many) -> None:
    slack, browser_use = many.slack, many.browser_use
    # Installed through the real routes: the browser lands in the app's Home tab in Slack.
    for team in (T1, T2):
        landed = many.install(team)
        assert landed.status_code == 302
        assert landed.headers["location"] == f"slack://app?team={team}&id={APP_ID}&tab=home"
    many.app.settle()
    # The installer is told, in a DM from the new install, to connect Browser Use.
    for team in (T1, T2):
        told = slack.calls_by(team, "chat.postMessage")
        assert [c.args["channel"] for c in told] == [ADMIN]
        assert "Connect Browser Use" in told[0].args["text"]
    # Tokens are sealed at rest: no bot token is in the database in the clear.
    installed = many.rows("SELECT tenant, bot_token FROM installations ORDER BY tenant")
    assert [r.tenant for r in installed] == [T1, T2]
    for token in slack.tokens:
        assert all(token not in r.bot_token for r in installed)

    # Before a key is connected, a command answers privately and creates nothing.
    assert many.command(T1, "find the weather").status_code == 200
    many.app.settle()
    assert browser_use.create_calls == 0
    said = slack.responses[-1].args
    assert "not connected" in said["text"] and said.get("response_type") == "ephemeral"
    # Home shows the admin where to connect.
    many.event(T1, {"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    many.app.settle()
    assert Action.OPEN_CONNECT in json.dumps(many.home_of(T1))

    # A bad key is refused under the field, and nothing is saved.
    refused = many.connect(T1, "bu_not_a_key")
    assert refused.json()["response_action"] == "errors"
    assert "does not accept this key" in refused.json()["errors"]["api_key"]
    assert many.rows("SELECT tenant FROM workspace_keys") == []
    # Each workspace connects its own project's key; Home shows the project, never the key.
    for team in (T1, T2):
        key, project = browser_use.add_project()
        many.keys[team] = key
        assert many.connect(team, key).status_code == 200
        many.app.settle()
        home = json.dumps(many.home_of(team))
        assert project in home and key not in home
        stored = many.rows("SELECT api_key FROM workspace_keys WHERE tenant = :t", t=team)
        assert stored and key not in stored[0].api_key

    # A task in each: created with its workspace's key, told with its workspace's token.
    task_of: dict[str, str] = {}
    for team in (T1, T2):
        assert many.command(team, f"check the prices for {team}").status_code == 200
        many.app.settle()
        created = browser_use.created[-1]
        assert created.headers["X-Browser-Use-API-Key"] == many.keys[team]
        assert browser_use.project_of(created.id) == browser_use.keys[many.keys[team]]
        task_of[team] = created.id
        posted = slack.calls_by(team, "chat.postMessage")
        assert any(created.id in json.dumps(c.args) for c in posted)
    browser_use.finish(task_of[T1])
    wait_for(lambda: any("Finished" in str(c.args.get("text")) for c in slack.calls_by(T1)))
    assert not [c for c in slack.calls if c.tenant is None and c.method != "oauth.v2.access"]
    # No token and no key in the log (it logs at DEBUG, the Slack SDK's bodies included).
    logs = many.app.logs()
    assert "oauth.v2.access" in logs and "views.publish" in logs
    for secret in [*slack.tokens, *many.keys.values()]:
        assert secret not in logs

    # From T2, T1's task is out of reach: a forged Stop button and a copied ID both fail.
    forged = clicked(
        Action.STOP_TASK,
        task_of[T1],
        channel={"id": f"C{T2}"},
        response_url=slack.response_url("forged"),
        container={"type": "message", "message_ts": "1.1", "channel_id": f"C{T2}"},
        message={"ts": "1.1", "text": "x"},
    )
    unfinished = task_of[T2]
    assert many.interactive(T2, forged).status_code == 200
    many.app.settle()
    assert browser_use.stops == []
    told = json.dumps([c.args for c in slack.calls_by(T2, "chat.postEphemeral")])
    assert f"There is no task `{task_of[T1]}` in this Browser Use account" in told
    copied = many.command(T2, f"status {task_of[T1]}")
    many.app.settle()
    answers = json.dumps([r.args for r in slack.responses]) + copied.text
    assert "Browser Use could not find that: Task not found." in answers
    assert "check the prices for T1" not in answers
    assert browser_use.tasks[unfinished]["status"] != "stopped"


def test_two_workspaces_paying_with_one_project_cannot_touch_each_others_tasks(
    many: Many,
) -> None:
    """The same person in two workspaces that connected the same Browser Use project: from one,
    a Stop button naming the other's task is refused before anything is done."""
    slack, browser_use = many.slack, many.browser_use
    key, _ = browser_use.add_project()
    for team in (T1, T2):
        many.install(team)
        many.keys[team] = key
        assert many.connect(team, key).status_code == 200
    many.app.settle()
    assert many.command(T1, "watch the queue", user=ADMIN).status_code == 200
    many.app.settle()
    task = browser_use.created[-1].id
    forged = clicked(
        Action.STOP_TASK,
        task,
        channel={"id": f"C{T2}"},
        response_url=slack.response_url("forged"),
        container={"type": "message", "message_ts": "1.1", "channel_id": f"C{T2}"},
        message={"ts": "1.1", "text": "x"},
    )
    assert many.interactive(T2, forged).status_code == 200
    many.app.settle()
    assert browser_use.stops == []
    told = json.dumps([c.args for c in slack.calls_by(T2, "chat.postEphemeral")])
    assert f"There is no task `{task}` in this workspace" in told


def test_uninstalled_workspace_is_forgotten_and_the_other_untouched(many: Many) -> None:
    slack, browser_use = many.slack, many.browser_use
    many.ready(T1, T2)
    # T1 keeps a browser open for a thread (a mention), and has a recurring task.
    many.event(
        T1,
        {
            "type": "app_mention",
            "user": "U1",
            "channel": f"C{T1}",
            "text": "<@UBOT> look at example.com",
            "ts": "1700000000.000100",
        },
    )
    many.app.settle()
    session_id = browser_use.created[-1].session_id
    browser_use.finish(browser_use.created[-1].id)
    assert many.command(T1, "every day at 9:00 check the news").status_code == 200
    many.app.settle()
    wait_for(lambda: many.rows("SELECT id FROM schedules WHERE team = :t", t=T1) != [])
    wait_for(lambda: many.rows("SELECT session_id FROM threads WHERE team = :t", t=T1) != [])
    # From T2, T1's recurring task cannot be deleted with its ID copied into a button.
    ((schedule_id,),) = many.rows("SELECT id FROM schedules WHERE team = :t", t=T1)
    forged = clicked(Action.SCHEDULE_DELETE, str(schedule_id))
    assert many.interactive(T2, forged).status_code == 200
    many.app.settle()
    assert many.rows("SELECT id FROM schedules WHERE id = :i", i=schedule_id) == [(schedule_id,)]
    # When it is due, the heartbeat finds it (one query for every workspace's work) and runs it.
    many.rows(
        "UPDATE schedules SET next_run_at = :t WHERE id = :i", t=time.time() - 1, i=schedule_id
    )
    wait_for(lambda: "check the news" in browser_use.created[-1].body["task"], timeout=15)
    assert browser_use.created[-1].headers["X-Browser-Use-API-Key"] == many.keys[T1]
    # Its own Run now runs it with its own key, and its run is posted with its own token.
    run_now = clicked(Action.SCHEDULE_RUN_NOW, str(schedule_id))
    assert many.interactive(T1, run_now).status_code == 200
    many.app.settle()
    ran = browser_use.created[-1]
    assert "check the news" in ran.body["task"]
    assert ran.headers["X-Browser-Use-API-Key"] == many.keys[T1]
    assert any(ran.id in json.dumps(c.args) for c in slack.calls_by(T1, "chat.postMessage"))

    uninstalled = {"type": "app_uninstalled"}
    slack.uninstall(T1)
    for _ in range(2):  # delivered twice, and `tokens_revoked` after it
        assert many.event(T1, uninstalled).status_code == 200
    many.event(T1, {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}})
    many.app.settle()
    # Its browser is closed (with its own key), and nothing of it is left in the store.
    assert session_id in browser_use.session_stops
    for table in ("tasks", "threads", "schedules", "settings", "logins", "outbox", "follow_ups"):
        assert many.rows(f"SELECT * FROM {table} WHERE team = :t", t=T1) == [], table  # noqa: S608
    assert many.rows("SELECT * FROM installations WHERE tenant = :t", t=T1) == []
    assert many.rows("SELECT * FROM workspace_keys WHERE tenant = :t", t=T1) == []
    assert many.app.logs().count(f"workspace.forgotten tenant={T1}") == 1
    # T2 goes on as before.
    assert many.command(T2, "still here?").status_code == 200
    many.app.settle()
    assert browser_use.created[-1].headers["X-Browser-Use-API-Key"] == many.keys[T2]
    assert many.rows("SELECT tenant FROM installations") == [(T2,)]


def test_install_failures_get_a_page_that_says_what_happened(many: Many) -> None:
    slack = many.slack
    # Cancelled on Slack's page.
    slack.approve_next(Approval(Workspace(T1), deny=True))
    browser = Browser()
    to_slack = browser.get(f"{many.app.url}/slack/install")
    back = browser.get(to_slack.headers["location"])
    page = browser.get(back.headers["location"])
    assert page.status_code == 200 and "You cancelled the install" in page.text
    assert '<a href="/slack/install">' in page.text
    # Another browser (no state cookie) at the redirect: refused, nothing installed.
    slack.approve_next(Approval(Workspace(T1)))
    browser = Browser()
    back = browser.get(browser.get(f"{many.app.url}/slack/install").headers["location"])
    stranger = Browser().get(back.headers["location"])
    assert stranger.status_code == 400 and "did not start this install" in stranger.text
    # The same link twice: the second finds its state used.
    done = browser.get(back.headers["location"])
    assert done.status_code == 302
    again = browser.get(back.headers["location"])
    assert again.status_code in (400, 401)
    assert "did not start this install" in again.text or "used already" in again.text
    assert many.rows("SELECT tenant FROM installations") == [(T1,)]


def test_many_workspaces_survive_a_key_rotation(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path, database_url: str
) -> None:
    wipe(slack, browser_use)
    old = new_key()
    process = start_many(slack, browser_use, tmp_path, database_url, old)
    many = Many(process, slack, browser_use, database_url)
    try:
        many.install(T1)
        key, _ = browser_use.add_project()
        many.connect(T1, key)
        many.app.settle()
    finally:
        process.stop()
    new = new_key()
    rekeyed = subprocess.run(
        [sys.executable, "-m", "bot", "rekey"],
        cwd=ROOT,
        env={"PATH": "", "ENCRYPTION_KEYS": f"{new},{old}", "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rekeyed.returncode == 0, rekeyed.stderr
    # The old key dropped: the installation and the Browser Use key still open.
    (tmp_path / "after").mkdir()
    process = start_many(slack, browser_use, tmp_path / "after", database_url, new)
    many.app = process
    try:
        assert many.command(T1, "after the rotation").status_code == 200
        process.settle()
        assert browser_use.created[-1].headers["X-Browser-Use-API-Key"] == key
        assert browser_use.created[-1].body["task"] == "after the rotation"
    finally:
        process.stop()


def test_before_it_is_connected_every_way_in_answers_privately(many: Many) -> None:
    """A mention and a shortcut are told where to connect, and who can; nothing starts. After a
    disconnect, the same."""
    slack, browser_use = many.slack, many.browser_use
    many.install(T1)
    mention = {
        "type": "app_mention",
        "user": "U1",
        "channel": f"C{T1}",
        "text": "<@UBOT> look at example.com",
        "ts": "1700000000.000100",
    }
    shortcut = {
        "type": "shortcut",
        "callback_id": Callback.NEW_BROWSER_TASK,
        "user": {"id": ADMIN},
        "api_app_id": APP_ID,
        "trigger_id": "1.2.3",
    }

    def refused_both() -> None:
        many.event(T1, {**mention, "ts": f"{time.time():.6f}"})
        many.interactive(T1, shortcut)
        many.app.settle()
        private = slack.calls_by(T1, "chat.postEphemeral")[-1].args
        assert private["user"] == "U1" and "connect it from my *Home* tab" in private["text"]
        modal = json.dumps(slack.calls_by(T1, "views.open")[-1].args)
        assert "choose *Connect Browser Use*" in modal  # the admin is told how
        assert browser_use.create_calls == 0
        assert [
            c for c in slack.calls_by(T1, "chat.postMessage") if c.args["channel"] != ADMIN
        ] == []

    refused_both()
    # The Workflow step fails at once, saying why.
    token = f"xwfp-{uuid.uuid4().hex}"
    slack.workflow_tokens.add(token)
    many.event(T1, workflow_step(token, "FxNOTCONNECTED", f"C{T1}"))
    many.app.settle()
    failed = slack.succeeded("functions.completeError")
    assert [c.args["function_execution_id"] for c in failed] == ["FxNOTCONNECTED"]
    assert "not connected" in failed[0].args["error"] and browser_use.create_calls == 0
    key, _ = browser_use.add_project()
    many.connect(T1, key)
    many.app.settle()
    many.interactive(T1, clicked(Action.DISCONNECT, "disconnect"))
    many.app.settle()
    assert many.rows("SELECT tenant FROM workspace_keys") == []
    assert Action.OPEN_CONNECT in json.dumps(many.home_of(T1))
    slack.calls.clear()
    refused_both()


def test_an_org_wide_install_serves_every_team_of_the_enterprise(many: Many) -> None:
    """Enterprise Grid: installed once for the org, its rows are the enterprise's, and a team of
    it runs tasks with the org's key and token."""
    slack, browser_use = many.slack, many.browser_use
    landed = many.install(None, org="E1ORG")
    assert landed.headers["location"] == f"slack://app?team=E1ORG&id={APP_ID}&tab=home"
    key, _ = browser_use.add_project()
    # The org's key is the org's admins' to connect: an admin of one of its workspaces may not.
    opened = len(slack.calls_to("views.open"))
    many.interactive("T9TEAM", clicked(Action.OPEN_CONNECT, "connect"), "E1ORG")
    many.app.settle()
    assert len(slack.calls_to("views.open")) == opened
    assert "whole organisation" in slack.everything_sent()
    assert many.rows("SELECT tenant FROM workspace_keys") == []
    slack.org_admins.add(ADMIN)
    assert many.connect("T9TEAM", key, org="E1ORG").status_code == 200
    many.app.settle()
    assert many.rows("SELECT tenant FROM workspace_keys") == [("E1ORG",)]
    assert many.command("T9TEAM", "a task for the org", org="E1ORG").status_code == 200
    many.app.settle()
    created = browser_use.created[-1]
    assert created.headers["X-Browser-Use-API-Key"] == key
    assert slack.calls_by("E1ORG", "chat.postMessage")[-1].args["channel"] == "CT9TEAM"
    assert many.rows("SELECT team FROM tasks") == [("E1ORG",)]


def test_a_reinstall_brings_its_new_token_to_every_process_at_once(many: Many) -> None:
    """Installed again (new scopes, say), a workspace's next request and its background work use
    the new bot token: the old one may be revoked already."""
    slack, browser_use = many.slack, many.browser_use
    many.install(T1)
    key, _ = browser_use.add_project()
    many.connect(T1, key)
    many.app.settle()
    old = set(slack.tokens)
    many.install(T1)
    # Connected already: the installer is not asked to connect again.
    many.app.settle()
    assert (
        len([c for c in slack.calls_by(T1, "chat.postMessage") if c.args["channel"] == ADMIN]) == 1
    )
    for token in old - {t for t, w in slack.tokens.items() if w.tenant != T1}:
        del slack.tokens[token]  # Slack revoked the old token
    assert many.command(T1, "with the new token").status_code == 200
    many.app.settle()
    created = browser_use.created[-1]
    browser_use.finish(created.id)
    wait_for(lambda: any("Finished" in str(c.args.get("text")) for c in slack.calls_by(T1)))
    refused = [c for c in slack.calls if c.answer.get("error") == "invalid_auth"]
    assert refused == []


def test_a_workflow_step_runs_with_its_workspaces_key_and_token(many: Many) -> None:
    """The Workflow Builder step: its task is created with the workspace's key, its thread is
    posted with the workspace's bot token, and the step is completed when the task ends."""
    slack, browser_use = many.slack, many.browser_use
    many.ready(T1, T2)
    token = f"xwfp-{uuid.uuid4().hex}"
    slack.workflow_tokens.add(token)
    assert many.event(T2, workflow_step(token, "FxWORKSPACE1", f"C{T2}")).status_code == 200
    many.app.settle()
    created = browser_use.created[-1]
    assert created.headers["X-Browser-Use-API-Key"] == many.keys[T2]
    assert any(created.id in json.dumps(c.args) for c in slack.calls_by(T2, "chat.postMessage"))
    browser_use.finish(created.id)
    wait_for(lambda: slack.succeeded("functions.completeSuccess") != [])
    assert [c for c in slack.calls if c.answer.get("error") == "invalid_auth"] == []


def test_an_admin_replaces_the_key_and_every_task_after_uses_the_new_one(many: Many) -> None:
    slack, browser_use = many.slack, many.browser_use
    many.install(T1)
    old, _ = browser_use.add_project()
    many.connect(T1, old)
    many.command(T1, "with the old key")
    many.app.settle()
    assert browser_use.created[-1].headers["X-Browser-Use-API-Key"] == old
    new, project = browser_use.add_project()
    assert many.connect(T1, new).status_code == 200  # Replace the key… opens the same form
    many.app.settle()
    browser_use.revoke(old)
    assert project in json.dumps(many.home_of(T1))
    many.command(T1, "with the new key")
    many.app.settle()
    assert browser_use.created[-1].headers["X-Browser-Use-API-Key"] == new
    assert browser_use.created[-1].body["task"] == "with the new key"
    assert "rejected the API key" not in json.dumps([r.args for r in slack.responses])

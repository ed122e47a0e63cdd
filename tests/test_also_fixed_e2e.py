"""Small promises found broken while reading main: each failed before its fix."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.deps import Failure, InFlight
from handlers.errors import STORE_UNREACHABLE, internal_error_text
from tests import databases
from tests.app_process import LOOPBACK
from tests.conftest import OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.fakes.tcp_proxy import TcpProxy
from tests.slack_requests import SlackSender
from tests.test_conversations_e2e import first_task, mention


def test_shutdown_does_not_wait_for_the_start_up_resume(
    own_app: OwnApp, browser_use: FakeBrowserUse
) -> None:
    browser_use.list_delay = 30.0  # the resume's task listing hangs
    with own_app() as (process, _):
        wait_for(lambda: any(p == "/api/v2/tasks" for _, p, _ in browser_use.requests), 5, "resume")
        assert process.proc is not None
        started = time.monotonic()
        process.proc.terminate()
        assert process.proc.wait(10) == 0
        assert time.monotonic() - started < 5


def test_help_by_mention_is_for_everyone_as_on_the_command(
    own_app: OwnApp, slack: FakeSlack
) -> None:
    with own_app(ALLOWED_USER_IDS="U1") as (_, sender):
        said = mention(sender, "help", user="U9")
        (reply,) = wait_for(lambda: slack.in_thread(said.ts), 5, "the help")
        assert "Tell me what the browser should do" in reply.args["text"]
        assert "can't start" not in reply.args["text"]
        assert sender.command("help", user_id="U9").status_code == 200


def test_a_store_outage_is_told_as_such_and_starts_nothing(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse, postgres_server: str
) -> None:
    database = databases.fresh_database(postgres_server)
    with own_app(DATABASE_URL=database) as (process, sender):
        databases.drop_database(postgres_server, database)  # the database goes away
        said = mention(sender, "open the news")
        (told,) = wait_for(lambda: slack.in_thread(said.ts), 5, "the note")
        assert told.args["text"] == STORE_UNREACHABLE
        wait_for(lambda: slack.reactions(said.ts) == ["x"], 5, "❌ instead of 👀")
        assert sender.command("Find the opening hours of the Louvre").status_code == 200
        (answer,) = wait_for(lambda: slack.responses, 5, "the private answer")
        assert answer.args["text"] == STORE_UNREACHABLE
        assert browser_use.create_calls == 0 and browser_use.session_requests == []
        process.settle()
        # One line a request, saying so; no traceback.
        assert process.logs().count("store.unreachable ref=") == 2
        assert "Traceback" not in process.logs()


def test_an_unexpected_failure_is_told_with_the_reference_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    told: list[str] = []

    async def crash() -> None:
        raise RuntimeError("a bug")

    async def tell(failure: Failure) -> None:
        told.append(internal_error_text(failure))

    async def run() -> bool:
        inflight = InFlight()
        inflight.spawn(crash, on_error=tell)
        return await inflight.wait_idle(5)

    assert asyncio.run(run())
    (text,) = told
    reference = text.split("reference `")[1].split("`")[0]
    (record,) = [r for r in caplog.records if f"ref={reference}" in r.getMessage()]
    assert record.exc_info is not None  # the traceback, for whoever reads the log
    assert "went wrong on my side" in text


def test_a_post_answered_without_a_ts_is_not_taken_for_a_message(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    slack.answer_next("chat.postMessage", {"ok": True})  # the parent's answer lacks its ts
    sender.command("Find the opening hours of the Louvre")
    (task,) = wait_for(lambda: browser_use.created, 5, "the task")
    # No thread to answer in, so the IDs come privately, never into a thread called "None".
    (told,) = wait_for(lambda: slack.responses, 5, "the private answer")
    assert task.id in told.args["text"]
    assert all(c.args.get("thread_ts") != "None" for c in slack.calls)


def test_queueing_a_follow_up_is_answered_before_anything_is_posted(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    first, task = first_task(sender, slack, browser_use, "compare three laptops")
    value = (
        '{"text":"add it to the cart","user":"U42","ts":"1800000999.000100",'
        f'"session":"{task.session_id}"}}'
    )
    slack.delays["chat.postMessage"] = 2.0
    started = time.monotonic()
    response = sender.interactive(
        {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": "U42"},
            "channel": {"id": "C77"},
            "message": {"ts": "1800000998.000100", "thread_ts": first.ts, "text": "busy"},
            "response_url": sender.response_url,
            "actions": [{"action_id": "queue_follow_up", "value": value, "type": "button"}],
        }
    )
    assert response.status_code == 200
    assert time.monotonic() - started < 1.0
    wait_for(
        lambda: [c for c in slack.in_thread(first.ts) if "Queued" in c.args["text"]], 5, "queued"
    )
    slack.delays.clear()
    # Leave nothing running for the next test: the follow-up starts once the first task ends.
    browser_use.finish(task.id)
    second = wait_for(lambda: browser_use.created[1:], 5, "the follow-up's task")[0]
    assert second.body["task"] == "add it to the cart"
    browser_use.finish(second.id)
    wait_for(lambda: [c for c in slack.in_thread(first.ts) if c.args.get("metadata")], 5, "results")
    assert LOOPBACK.get(f"{sender.app_url}/healthz").status_code == 200


@pytest.mark.slow
def test_healthz_says_503_while_the_store_is_out_of_reach_and_200_once_it_is_back(
    own_app: OwnApp, postgres_server: str, tmp_path: Path
) -> None:
    """The platform routes to, and keeps, only a process that can reach its store."""
    database = make_url(databases.fresh_database(postgres_server))
    folder = tmp_path / "pg"  # where the app finds PostgreSQL's socket: the proxy's
    folder.mkdir()
    socket_dir = database.query.get("host")
    if isinstance(socket_dir, str):
        name = f".s.PGSQL.{database.port or 5432}"
        proxy = TcpProxy(f"{socket_dir}/{name}", str(folder / name)).start()
        proxied = database.update_query_dict({"host": str(folder)})
    else:
        proxy = TcpProxy((database.host or "127.0.0.1", database.port or 5432)).start()
        proxied = database.set(host="127.0.0.1", port=proxy.port)
    through_proxy = proxied.render_as_string(hide_password=False)
    try:
        with own_app(DATABASE_URL=through_proxy) as (process, _):
            health = f"{process.url}/healthz"
            assert LOOPBACK.get(health).status_code == 200
            proxy.cut()
            cut = wait_for(lambda: unhealthy(health), 10, "a 503")
            assert cut["store"] == "unreachable" and cut["ok"] is False
            proxy.restore()
            wait_for(lambda: LOOPBACK.get(health).status_code == 200, 10, "a 200 again")
        logs = process.logs()
        assert "store.health ok=false" in logs and "store.health ok=true" in logs
        assert "Traceback" not in logs.split("store.health ok=false")[1].split("ok=true")[0]
    finally:
        proxy.stop()


def unhealthy(url: str) -> dict[str, object] | None:
    """`/healthz`'s answer when it is a 503."""
    answer = LOOPBACK.get(url)
    return answer.json() if answer.status_code == 503 else None


def test_a_process_asks_slack_who_the_bot_is_once(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    """Bolt's authorize and the tracker each asked `auth.test` at every start."""
    with own_app() as (process, sender):
        assert sender.command("Check the weather in Lisbon").status_code == 200
        wait_for(lambda: browser_use.created, 5, "the task")
        wait_for(lambda: "tracker.resumed" in process.logs(), 5, "the tracker's start")
        sender.command("Check the weather in Porto")
        sender.settle()
    assert len(slack.calls_to("auth.test")) == 1

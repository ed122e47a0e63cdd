"""`python -m bench.workspaces`: two workspaces on two processes (issue "Many workspaces").

One deployment in many-workspace mode (`SLACK_CLIENT_ID`; two `python -m bot` processes on one
PostgreSQL) serves two workspaces, each installed (its bot token sealed in the store) and
connected to a Browser Use project of its own; the stand-in keeps each project's limit (125
requests per 5 s) apart, as Browser Use does. Workspace BUSY has `--busy` tasks running (a tenth
of them taking a step each second) and sends a burst of 30 commands; workspace QUIET has 10
tasks running and sends one command a second. Then 20 tasks of each end (no webhooks: in this
mode the app follows each workspace itself).

`--idle 100,300`: instead, one process serving that many installed and connected workspaces with
nothing to do, and what that costs it: CPU, memory, Browser Use requests a minute.

Printed per workspace: its project's Browser Use requests per 5 s (the peak, and the steady
state before the ends) and the 429s it got; end → result p50/p95; how long its commands waited
for their create p95; posts made with the other workspace's token; results doubled. Run with
`--busy 10,1000`: the quiet workspace's numbers beside an idle and a busy neighbour.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.__main__ import MARK, Sent, StandIns, percentile, send_all
from bench.follow import Stepping, cpu_seconds, peak, results_posted
from tests import databases
from tests.app_process import AppProcess, app_env
from tests.fakes.slack import APP_ID, CLIENT_ID, CLIENT_SECRET
from tests.slack_requests import SlackSender

BUSY, QUIET = "TBUSY0001", "TQUIET001"
QUIET_TASKS = 10
ENDS = 20
ENDS_OVER = 8.0
BURST = 30  # the busy workspace's commands, all at once
QUIET_COMMANDS = 10  # the quiet one's, one a second
STARTED_OVER = 600.0


def seed(database: str, keys: str, workspaces: dict[str, dict[str, Any]]) -> None:
    """Each workspace installed and connected (as Add to Slack and App Home leave them), with
    its running tasks in the store, started over the last ten minutes."""
    from slack_sdk.oauth.installation_store.models.installation import Installation

    from bot.models import SlackRoute
    from bot.sealed import Sealer
    from bot.store import Store, TaskRecord
    from handlers.installations import BOT_SCOPES, StoreInstallations

    now = time.time()

    async def go() -> None:
        store = await Store.open(database)
        sealer = Sealer(keys)
        installs = StoreInstallations(store, sealer)
        for team, w in workspaces.items():
            await installs.async_save(
                Installation(
                    app_id=APP_ID,
                    team_id=team,
                    bot_token=w["token"],
                    bot_id="BBENCH",
                    bot_user_id="UBOT",
                    bot_scopes=list(BOT_SCOPES),
                    user_id="UBENCH",
                )
            )
            await store.connect_key(team, sealer.seal(w["key"]), w["project"], "UBENCH")
            view = store.scoped(team)
            for n, task_id in enumerate(w["ids"]):
                route = SlackRoute(
                    team=team,
                    channel=f"C{team[1:3]}{n % 10}",
                    thread_ts=f"1700000000.{n:06d}",
                    user=f"U4{n % 20}",
                )
                record = TaskRecord.from_route(
                    task_id,
                    w["sessions"][task_id],
                    route,
                    status_ts=f"1700000001.{n:06d}",
                    created_at=now - STARTED_OVER * (n + 1) / len(w["ids"]),
                )
                await view.add_task(record)
        await store.close()

    asyncio.run(go())


def spread(ids: list[str]) -> list[str]:
    """`ENDS` of the tasks, spread over their ages and over the ten channels (the n-th task is in
    channel n % 10): twenty results in one channel would measure Slack's pace (about a post a
    second per channel), not the following."""
    step = max(1, len(ids) // ENDS)
    step += step % 10 == 0 and step > 1
    return ids[::step][:ENDS]


def run(busy: int, settle: float, limit: float) -> list[dict[str, Any]]:
    """One measured run: a row per workspace."""
    from bot.sealed import new_key

    stand_ins = StandIns()
    http = stand_ins.http
    keys = new_key()
    try:
        with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
            server = stack.enter_context(contextlib.contextmanager(databases.start_postgres)())
            database = databases.fresh_database(server)
            http.post(f"{stand_ins.slack_url}/_control/reset")
            http.post(
                f"{stand_ins.browser_use_url}/_control",
                json={"rate_limit_per_window": 125, "check_contract": False},
            )
            workspaces: dict[str, dict[str, Any]] = {}
            for team, count in ((BUSY, busy), (QUIET, QUIET_TASKS)):
                made = http.post(f"{stand_ins.browser_use_url}/_control/projects").json()
                tasks = http.post(
                    f"{stand_ins.browser_use_url}/_control/tasks",
                    json={"count": count, "route": f"{team}/C1/1.1/U1", "key": made["key"]},
                ).json()
                workspaces[team] = {
                    **made,
                    **tasks,
                    "token": f"xoxb-{team}-bench",
                }
            http.post(
                f"{stand_ins.slack_url}/_control/tokens",
                json={w["token"]: team for team, w in workspaces.items()},
            )
            seed(database, keys, workspaces)
            apps = []
            for n in range(2):
                workdir = Path(folder) / f"app{n}"
                workdir.mkdir()
                apps.append(many_workspace_app(stand_ins, workdir, database, keys).start())
            try:
                started = time.monotonic()
                stepping = Stepping(stand_ins, max(1, (busy + QUIET_TASKS) // 10))
                time.sleep(settle)
                steady_from = time.monotonic() - 10
                ended: dict[str, tuple[str, float]] = {}  # task -> (workspace, when)
                ending = {team: spread(w["ids"]) for team, w in workspaces.items()}
                for n in range(ENDS):
                    time.sleep(max(0.0, started + settle + n * ENDS_OVER / ENDS - time.monotonic()))
                    for team, ids in ending.items():
                        if n < len(ids):
                            answer = http.post(
                                f"{stand_ins.browser_use_url}/_control/finish", json={"id": ids[n]}
                            )
                            ended[ids[n]] = (team, answer.json()["ended"])
                senders = [SlackSender(a.url, f"{stand_ins.slack_url}/response/b") for a in apps]
                sent = {
                    BUSY: [Sent(n, 0.0) for n in range(BURST)],
                    QUIET: [Sent(n, 0.0) for n in range(QUIET_COMMANDS)],
                }

                async def commands() -> None:
                    await asyncio.gather(
                        send_all(
                            senders,
                            sent[BUSY],
                            in_flight=BURST,
                            rate=None,
                            tag="busy",
                            team_id=BUSY,
                            channel_id="CBUSY",
                        ),
                        send_all(
                            senders,
                            sent[QUIET],
                            in_flight=1,
                            rate=1.0,
                            tag="quiet",
                            team_id=QUIET,
                            channel_id="CQUIET",
                        ),
                    )

                asyncio.run(commands())
                results = results_posted(stand_ins, list(ended), limit)
                finished = time.monotonic()
                stepping.stop()
            finally:
                for app in apps:
                    app.stop()
            requests = http.get(f"{stand_ins.browser_use_url}/_control/project_requests").json()
            calls = http.get(f"{stand_ins.slack_url}/_control/calls").json()
            created = stand_ins.created()["created"]
    finally:
        stand_ins.close()

    rows = []
    for team, w in workspaces.items():
        mine = [at for project, at, _ in requests if project == w["project"]]
        latencies = [
            results[t] - at for t, (ws, at) in ended.items() if ws == team and t in results
        ]
        tag = "busy" if team == BUSY else "quiet"
        creates = {
            int(m.group(1)): c["at"]
            for c in created
            if f"bench {tag} task" in c["task"] and (m := MARK.search(c["task"]))
        }
        waits = [creates[s.index] - s.at for s in sent[team] if s.index in creates]
        posted = [c for c in calls if c["method"] == "chat.postMessage" and c["ok"]]
        mine_ended = [t for t, (ws, _) in ended.items() if ws == team]
        other = BUSY if team == QUIET else QUIET
        rows.append(
            {
                "busy_tasks": busy,
                "workspace": tag,
                "running_tasks": len(w["ids"]),
                "requests_per_5s_peak": peak(mine, started, finished),
                "requests_per_5s_steady": peak(mine, steady_from, steady_from + 10),
                "rate_limited_429": sum(1 for p, _, r in requests if p == w["project"] and r),
                "end_to_result_p50_s": round(percentile(latencies, 50), 2) if latencies else None,
                "end_to_result_p95_s": round(percentile(latencies, 95), 2) if latencies else None,
                "results_missing": len(mine_ended) - len(latencies),
                "create_wait_p95_s": round(percentile(waits, 95), 2) if waits else None,
                "creates_lost": len(sent[team]) - len(waits),
                # Its channels' posts made with the other workspace's token: must be none.
                "posts_with_the_other_token": sum(
                    1
                    for c in calls
                    if c["tenant"] == other and any(t in c["text"] for t in mine_ended)
                ),
                "results_doubled": sum(
                    max(0, sum(1 for c in posted if f"result of {t}" in c["text"]) - 1)
                    for t in mine_ended
                ),
                "wall_s": round(finished - started, 1),
            }
        )
    return rows


def idle(count: int, seconds: float = 30.0) -> dict[str, Any]:
    """One process (its store a SQLite file) serving `count` workspaces with nothing to do."""
    from bot.sealed import new_key

    stand_ins = StandIns()
    http = stand_ins.http
    keys = new_key()
    try:
        http.post(f"{stand_ins.browser_use_url}/_control", json={"check_contract": False})
        made = http.post(f"{stand_ins.browser_use_url}/_control/projects").json()
        teams = [f"TIDLE{n:05d}" for n in range(count)]
        workspaces = {
            team: {**made, "ids": [], "sessions": {}, "token": f"xoxb-{team}-idle"}
            for team in teams
        }
        http.post(
            f"{stand_ins.slack_url}/_control/tokens",
            json={w["token"]: team for team, w in workspaces.items()},
        )
        with tempfile.TemporaryDirectory() as folder:
            database = f"sqlite+aiosqlite:///{folder}/bot.db"
            seed(database, keys, workspaces)
            (Path(folder) / "app").mkdir()
            app = many_workspace_app(stand_ins, Path(folder) / "app", database, keys)
            app.start(timeout=120)
            try:
                time.sleep(15)  # each workspace's start-up reads are done
                pid = app.proc.pid  # type: ignore[union-attr]
                cpu, requests, began = (
                    cpu_seconds(pid),
                    len(project_requests(stand_ins)),
                    time.monotonic(),
                )
                time.sleep(seconds)
                took = time.monotonic() - began
                row = {
                    "idle_workspaces": count,
                    "cpu_pct": round(100 * (cpu_seconds(pid) - cpu) / took, 1),
                    "browser_use_requests_per_min": round(
                        (len(project_requests(stand_ins)) - requests) * 60 / took
                    ),
                    "rss_mb": round(app.rss_mb()),
                }
            finally:
                app.stop()
    finally:
        stand_ins.close()
    return row


def project_requests(stand_ins: StandIns) -> list[Any]:
    return stand_ins.http.get(f"{stand_ins.browser_use_url}/_control/project_requests").json()


def many_workspace_app(stand_ins: StandIns, workdir: Path, database: str, keys: str) -> AppProcess:
    """`python -m bot` serving many workspaces (`SLACK_CLIENT_ID`), not started yet."""
    env = {
        k: v
        for k, v in app_env(stand_ins.slack_url, stand_ins.browser_use_url).items()
        if k not in ("SLACK_BOT_TOKEN", "BROWSER_USE_API_KEY")
    }
    app = AppProcess(env, workdir, argv=[sys.executable, "-m", "bot"])
    app.env |= {
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database,
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_REDIRECT_URI": f"http://127.0.0.1:{app.port}/slack/oauth_redirect",
        "ENCRYPTION_KEYS": keys,
    }
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", default="10,1000", help="the busy workspace's running tasks")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds before the ends")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds to wait for results")
    parser.add_argument("--json", default=None, help="write the rows here too")
    parser.add_argument("--idle", default=None, help="instead: idle workspaces, comma-separated")
    args = parser.parse_args()
    if args.idle:
        rows = [idle(int(n)) for n in args.idle.split(",")]
    else:
        rows = [row for n in args.busy.split(",") for row in run(int(n), args.settle, args.limit)]
    for row in rows:
        print(json.dumps(row))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

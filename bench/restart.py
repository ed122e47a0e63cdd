"""`python -m bench.restart`: a deploy in a busy channel (issue "It deploys where the docs say").

Two app processes (`python -m bot`) on one store follow N tasks running at the Browser Use
stand-in, all in one channel. One process is restarted as a deploy restarts it (`SIGTERM`, then
a new process; or `--how SIGKILL`, a crash), and the tasks then end together with no webhook:
their results queue behind Slack's pace in that one channel (about one post a second) for far
longer than a report claim lasts (`--report-lease`, short here so a run takes a minute or two;
production's is 120 s against a queue of minutes). It prints how many results were posted
twice, how many never, and how long the last one took.
"""

from __future__ import annotations

import argparse
import json
import signal
import tempfile
import time
from typing import Any

from bench.__main__ import StandIns
from tests.app_process import AppProcess

ROUTE = "T0TEST/C77/1700000000.000100/U42"


def seed(database: str, ids: list[str], sessions: dict[str, str]) -> None:
    """The running tasks in the store, as a restart finds them: started in the last minute by
    ten people, all in one channel, each with its thread and status message."""
    import asyncio

    from bot.models import SlackRoute
    from bot.store import Store, TaskRecord

    now = time.time()

    async def go() -> None:
        store = await Store.open(database)
        for n, task_id in enumerate(ids):
            route = SlackRoute(
                team="T0TEST", channel="C77", thread_ts=f"1700000000.{n:06d}", user=f"U4{n % 10}"
            )
            record = TaskRecord.from_route(
                task_id,
                sessions[task_id],
                route,
                status_ts=f"1700000001.{n:06d}",
                created_at=now - 60 * (n + 1) / len(ids),
            )
            await store.add_task(record)
        await store.close()

    asyncio.run(go())


def run(tasks: int, report_lease: float, how: str, limit: float) -> dict[str, Any]:
    stand_ins = StandIns()
    http = stand_ins.http
    try:
        ids, sessions = stand_ins.running(tasks, ROUTE)
        with tempfile.TemporaryDirectory() as folder:
            database = f"sqlite+aiosqlite:///{folder}/bot.db"
            seed(database, ids, sessions)
            env = {
                "DATABASE_URL": database,
                "REPORT_LEASE_SECONDS": str(report_lease),
                "FOLLOW_LEASE_SECONDS": str(report_lease),
            }

            def start(name: str) -> AppProcess:
                return stand_ins.app(folder, name, **env)

            apps = [start("a"), start("b")]
            try:
                time.sleep(5)  # both follow the tasks (the sweep, the watched ones)
                for task_id in ids:  # together, announced by no webhook
                    http.post(f"{stand_ins.browser_use_url}/_control/finish", json={"id": task_id})
                ended = time.monotonic()
                time.sleep(2)  # the first results are out; the rest are claimed and queued
                first = apps[0]
                assert first.proc is not None
                first.proc.send_signal(signal.SIGTERM if how == "SIGTERM" else signal.SIGKILL)
                first.proc.wait(30)
                apps.append(start("a2"))  # the deploy's new process
                posted = wait_for_results(stand_ins, ids, limit)
                last = max(posted.values(), default=ended) - ended
                time.sleep(3 * report_lease)  # any claim left over runs out, and is acted on
                counts = result_counts(stand_ins, ids)
            finally:
                for app in apps:
                    app.stop()
    finally:
        stand_ins.close()
    return {
        "tasks": tasks,
        "how": how,
        "report_lease_s": report_lease,
        "results_doubled": sum(1 for n in counts.values() if n > 1),
        "results_missing": sum(1 for n in counts.values() if n == 0),
        "last_result_after_s": round(last, 1),
    }


def result_counts(stand_ins: StandIns, ids: list[str]) -> dict[str, int]:
    calls = stand_ins.http.get(f"{stand_ins.slack_url}/_control/calls").json()
    posted = [c for c in calls if c["method"] == "chat.postMessage" and c["ok"]]
    return {t: sum(1 for c in posted if f"result of {t}" in c["text"]) for t in ids}


def wait_for_results(stand_ins: StandIns, ids: list[str], within: float) -> dict[str, float]:
    deadline = time.monotonic() + within
    while True:
        counts = result_counts(stand_ins, ids)
        if all(counts.values()) or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    return {t: time.monotonic() for t, n in counts.items() if n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=60, help="tasks ending in one channel")
    parser.add_argument("--report-lease", type=float, default=10.0, help="REPORT_LEASE_SECONDS")
    parser.add_argument("--how", default="SIGTERM", choices=["SIGTERM", "SIGKILL"])
    parser.add_argument("--limit", type=float, default=240.0, help="seconds to wait for results")
    args = parser.parse_args()
    print(json.dumps(run(args.tasks, args.report_lease, args.how, args.limit)))


if __name__ == "__main__":
    main()

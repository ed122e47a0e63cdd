"""`python -m bench.follow`: following many running tasks (issue "Follow a thousand tasks").

One app process (`python -m bot`, its store a SQLite file) follows N tasks already running at the
Browser Use stand-in (its project limit: 125 requests per 5 s), as a team at scale would have
them. Once it is in its steady state, 40 of them end over 8 seconds, half announced by a signed
webhook, half not. It prints, per N: Browser Use requests per 5 s (the peak, and the steady
state before the ends), end → result in Slack (p50, p95, and how many had none within the
limit) with and without a webhook, Slack calls a minute by method, and the app's CPU and memory.
The tasks are given to the app through its store, as a restart finds them, so a thousand start
being followed at once rather than over the minutes creating them would take.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.__main__ import StandIns, percentile
from tests.app_process import AppProcess, app_env
from tests.fakes.browser_use import peak_in

SECRET = "whsec-bench"
ENDS = 40
ENDS_OVER = 8.0
ROUTE = "T0TEST/C77/1700000000.000100/U42"


def seed(database: str, ids: list[str], sessions: dict[str, str]) -> None:
    """The running tasks, in the app's store (as a restart finds them)."""
    from bot.models import SlackRoute
    from bot.store import Store, TaskRecord

    route = SlackRoute.decode(ROUTE)
    assert route is not None

    async def go() -> None:
        store = await Store.open(database)
        for task_id in ids:
            await store.add_task(TaskRecord.from_route(task_id, sessions[task_id], route))
        await store.close()

    asyncio.run(go())


def cpu_seconds(pid: int) -> float:
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def peak(times: list[float], start: float, end: float) -> int:
    """The most requests in any 5 s between `start` and `end`."""
    return peak_in([t for t in times if start <= t <= end])


def run(tasks: int, settle: float, limit: float) -> dict[str, Any]:
    stand_ins = StandIns()
    http = stand_ins.http
    try:
        http.post(f"{stand_ins.slack_url}/_control/reset")
        http.post(
            f"{stand_ins.browser_use_url}/_control",
            json={"rate_limit_per_window": 125, "check_contract": False},
        )
        made = http.post(
            f"{stand_ins.browser_use_url}/_control/tasks", json={"count": tasks, "route": ROUTE}
        ).json()
        ids, sessions = made["ids"], made["sessions"]
        with tempfile.TemporaryDirectory() as folder:
            database = f"sqlite+aiosqlite:///{folder}/bot.db"
            seed(database, ids, sessions)
            env = {
                **app_env(stand_ins.slack_url, stand_ins.browser_use_url),
                "LOG_LEVEL": "WARNING",
                "DATABASE_URL": database,
                "BROWSER_USE_WEBHOOK_SECRET": SECRET,
            }
            (Path(folder) / "app").mkdir()
            app = AppProcess(env, Path(folder) / "app", argv=[sys.executable, "-m", "bot"])
            app.start()
            try:
                started = time.monotonic()
                cpu_before = cpu_seconds(app.proc.pid)  # type: ignore[union-attr]
                time.sleep(settle)
                steady_from = time.monotonic() - 10
                webhook = f"{app.url}/browser-use/webhook"
                ending = ids[:ENDS]
                ended: dict[str, tuple[float, bool]] = {}
                for n, task_id in enumerate(ending):
                    time.sleep(max(0.0, started + settle + n * ENDS_OVER / ENDS - time.monotonic()))
                    announce = n % 2 == 0
                    body = {
                        "id": task_id,
                        **({"webhook": webhook, "secret": SECRET} if announce else {}),
                    }
                    answer = http.post(f"{stand_ins.browser_use_url}/_control/finish", json=body)
                    ended[task_id] = (answer.json()["ended"], announce)
                deadline = time.monotonic() + limit
                results: dict[str, float] = {}
                while time.monotonic() < deadline and len(results) < len(ending):
                    for call in http.get(f"{stand_ins.slack_url}/_control/calls").json():
                        if call["method"] == "chat.postMessage":
                            for task_id in ending:
                                if f"result of {task_id}" in call["text"]:
                                    results.setdefault(task_id, call["at"])
                    time.sleep(0.5)
                finished = time.monotonic()
                cpu = cpu_seconds(app.proc.pid) - cpu_before  # type: ignore[union-attr]
                rss = app.rss_mb()
            finally:
                app.stop()
        requests = [
            at
            for _, path, at in http.get(f"{stand_ins.browser_use_url}/_control/requests").json()
            if path.startswith("/api/v2/")
        ]
        calls = http.get(f"{stand_ins.slack_url}/_control/calls").json()
    finally:
        stand_ins.close()

    def latencies(announced: bool) -> list[float]:
        return [results[t] - at for t, (at, a) in ended.items() if a == announced and t in results]

    minutes = (finished - started) / 60
    per_minute = {
        method: round(sum(1 for c in calls if c["method"] == method) / minutes, 1)
        for method in ("chat.postMessage", "chat.update", "assistant.threads.setStatus")
    }
    row: dict[str, Any] = {"tasks": tasks}
    row["requests_per_5s_peak"] = peak(requests, started, finished)
    row["requests_per_5s_steady"] = peak(requests, steady_from, steady_from + 10)
    for name, announced in (("webhook", True), ("no_webhook", False)):
        values = latencies(announced)
        row[f"{name}_p50_s"] = percentile(values, 50) if values else None
        row[f"{name}_p95_s"] = percentile(values, 95) if values else None
        row[f"{name}_none_within_{int(limit)}s"] = sum(
            1 for t, (_, a) in ended.items() if a == announced and t not in results
        )
    row["slack_calls_per_minute"] = per_minute
    row["app_cpu_s"] = round(cpu, 1)
    row["app_rss_mb"] = round(rss)
    row["wall_s"] = round(finished - started, 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="100,300,1000", help="running tasks, comma-separated")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds before the ends")
    parser.add_argument("--limit", type=float, default=90.0, help="seconds to wait for results")
    parser.add_argument("--json", default=None, help="write the rows here too")
    args = parser.parse_args()
    rows = [run(int(n), args.settle, args.limit) for n in args.tasks.split(",")]
    for row in rows:
        print(json.dumps(row))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    medians = [r["webhook_p50_s"] for r in rows if r["webhook_p50_s"] is not None]
    if medians:
        print(f"webhook → result p50, median over the runs: {statistics.median(medians):.1f} s")


if __name__ == "__main__":
    main()

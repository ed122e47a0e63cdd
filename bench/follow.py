"""`python -m bench.follow`: following many running tasks (issue "Follow a thousand tasks").

One app process (`python -m bot`, its store a SQLite file) follows N tasks already running at the
Browser Use stand-in (its project limit: 125 requests per 5 s), as a team at scale would have
them. Once it is in its steady state, 40 of them end over 8 seconds, half announced by a signed
webhook, half not. It prints, per N: Browser Use requests per 5 s (the peak, and the steady
state before the ends), end → result in Slack (p50, p95, and how many had none within the
limit) with and without a webhook, Slack calls a minute by method, and the app's CPU and memory.
The tasks are given to the app through its store, as a restart finds them (started over the
last ten minutes, each with its status message), so a thousand start being followed at once
rather than over the minutes creating them would take. While they run, a tenth of them take a
step each second (as agents do), and ten new commands arrive, one a second: how long each waits
for its create to reach Browser Use is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.__main__ import MARK, Sent, StandIns, percentile, send_all
from tests.fakes.browser_use import peak_in
from tests.slack_requests import SlackSender

SECRET = "whsec-bench"
ENDS = 40
ENDS_OVER = 8.0
ROUTE = "T0TEST/C77/1700000000.000100/U42"


STARTED_OVER = 600.0
CREATES = 10


def seed(database: str, ids: list[str], sessions: dict[str, str]) -> None:
    """The running tasks, in the app's store (as a restart finds them): started over the last
    ten minutes by twenty people in ten channels, each with its thread and status message."""
    from bot.models import SlackRoute
    from bot.store import Store, TaskRecord

    now = time.time()

    async def go() -> None:
        store = await Store.open(database)
        for n, task_id in enumerate(ids):
            # Twenty people in ten channels, a thread each.
            route = SlackRoute(
                team="T0TEST",
                channel=f"C7{n % 10}",
                thread_ts=f"1700000000.{n:06d}",
                user=f"U4{n % 20}",
            )
            record = TaskRecord.from_route(
                task_id,
                sessions[task_id],
                route,
                status_ts=f"1700000001.{n:06d}",
                created_at=now - STARTED_OVER * (n + 1) / len(ids),
            )
            await store.add_task(record)
        await store.close()

    asyncio.run(go())


class Stepping:
    """Agents at work: `count` running tasks take a step every second, until `stop`."""

    def __init__(self, stand_ins: StandIns, count: int):
        self._stop = threading.Event()
        url = f"{stand_ins.browser_use_url}/_control/steps"

        def run() -> None:
            with httpx.Client(timeout=30) as http:
                while not self._stop.wait(1.0):
                    http.post(url, json={"count": count})

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def cpu_seconds(pid: int) -> float:
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def results_posted(stand_ins: StandIns, ids: list[str], within: float) -> dict[str, float]:
    """When each task's result was posted in Slack (the stand-in's clock), waiting up to
    `within` seconds for all of them."""
    deadline = time.monotonic() + within
    results: dict[str, float] = {}
    while time.monotonic() < deadline and len(results) < len(ids):
        for call in stand_ins.http.get(f"{stand_ins.slack_url}/_control/calls").json():
            if call["method"] == "chat.postMessage" and call["ok"]:
                for task_id in ids:
                    if f"result of {task_id}" in call["text"]:
                        results.setdefault(task_id, call["at"])
        time.sleep(0.5)
    return results


def peak(times: list[float], start: float, end: float) -> int:
    """The most requests in any 5 s between `start` and `end`."""
    return peak_in([t for t in times if start <= t <= end])


def run(tasks: int, settle: float, limit: float, outage: float = 0.0) -> dict[str, Any]:
    """One measured run; with an `outage`, Slack's Web API answers 503 for that many seconds
    from the moment the tasks start ending (the ends and the new commands all fall in it)."""
    stand_ins = StandIns()
    http = stand_ins.http
    try:
        ids, sessions = stand_ins.running(tasks, ROUTE)
        with tempfile.TemporaryDirectory() as folder:
            database = f"sqlite+aiosqlite:///{folder}/bot.db"
            seed(database, ids, sessions)
            app = stand_ins.app(folder, DATABASE_URL=database, BROWSER_USE_WEBHOOK_SECRET=SECRET)
            try:
                started = time.monotonic()
                cpu_before = cpu_seconds(app.proc.pid)  # type: ignore[union-attr]
                stepping = Stepping(stand_ins, max(1, tasks // 10))
                time.sleep(settle)
                steady_from = time.monotonic() - 10
                webhook = f"{app.url}/browser-use/webhook"
                # Spread over the tasks' ages: a few are still watched, most are not.
                ending = ids[:: max(1, len(ids) // ENDS)][:ENDS]
                ended: dict[str, tuple[float, bool]] = {}
                if outage:
                    http.post(f"{stand_ins.slack_url}/_control/outage", json={"seconds": outage})
                for n, task_id in enumerate(ending):
                    time.sleep(max(0.0, started + settle + n * ENDS_OVER / ENDS - time.monotonic()))
                    announce = n % 2 == 0
                    body = {
                        "id": task_id,
                        **({"webhook": webhook, "secret": SECRET} if announce else {}),
                    }
                    answer = http.post(f"{stand_ins.browser_use_url}/_control/finish", json=body)
                    ended[task_id] = (answer.json()["ended"], announce)
                sent = [Sent(n, 0.0) for n in range(CREATES)]
                sender = SlackSender(app.url, f"{stand_ins.slack_url}/response/bench")
                asyncio.run(send_all([sender], sent, in_flight=CREATES, rate=1.0, tag="follow"))
                results = results_posted(stand_ins, ending, limit + outage)
                finished = time.monotonic()
                stepping.stop()
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
        creates = {
            int(m.group(1)): c["at"]
            for c in stand_ins.created()["created"]
            if (m := MARK.search(c["task"]))
        }
    finally:
        stand_ins.close()

    def latencies(announced: bool) -> list[float]:
        return [results[t] - at for t, (at, a) in ended.items() if a == announced and t in results]

    minutes = (finished - started) / 60
    per_minute = {
        method: round(sum(1 for c in calls if c["method"] == method) / minutes, 1)
        for method in ("chat.postMessage", "chat.update", "assistant.threads.setStatus")
    }
    row: dict[str, Any] = {"tasks": tasks, "slack_outage_s": outage}
    row["requests_per_5s_peak"] = peak(requests, started, finished)
    row["requests_per_5s_steady"] = peak(requests, steady_from, steady_from + 10)
    for name, announced in (("webhook", True), ("no_webhook", False)):
        values = latencies(announced)
        row[f"{name}_p50_s"] = percentile(values, 50) if values else None
        row[f"{name}_p95_s"] = percentile(values, 95) if values else None
        row[f"{name}_none_within_{int(limit)}s"] = sum(
            1 for t, (_, a) in ended.items() if a == announced and t not in results
        )
    waits = [creates[item.index] - item.at for item in sent if item.index in creates]
    row["create_wait_p95_s"] = round(percentile(waits, 95), 2) if waits else None
    row["creates_lost"] = CREATES - len(waits)
    posted = [c for c in calls if c["method"] == "chat.postMessage" and c["ok"]]
    row["commands_untold"] = CREATES - sum(
        1 for c in posted if c["text"].startswith("Task started")
    )
    row["results_doubled"] = sum(
        max(0, sum(1 for c in posted if f"result of {t}" in c["text"]) - 1) for t in ending
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
    parser.add_argument("--outage", type=float, default=0.0, help="seconds Slack is down (503)")
    parser.add_argument("--json", default=None, help="write the rows here too")
    args = parser.parse_args()
    rows = [run(int(n), args.settle, args.limit, args.outage) for n in args.tasks.split(",")]
    for row in rows:
        print(json.dumps(row))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    medians = [r["webhook_p50_s"] for r in rows if r["webhook_p50_s"] is not None]
    if medians:
        print(f"webhook → result p50, median over the runs: {statistics.median(medians):.1f} s")


if __name__ == "__main__":
    main()

"""`make bench`: the app against the tutorial-style baseline, on the same local stand-ins.

Starts the Slack and Browser Use stand-ins in a process of their own, then for each target sends
slash commands signed as Slack signs them. The targets: `app` (`python -m bot`, its store in a
SQLite file), `app-2` (two `python -m bot` processes sharing one PostgreSQL, the commands spread
over both as a router would), and `baseline` (`bench/baseline.py`, the tutorial-style bot).

  single     one command at a time: ack latency, and the app's overhead (command to thread reply,
             minus Browser Use's own latency)
  burst      N commands with M in flight: ack percentiles, acks later than 3 s, tasks, replies
  sustained  R commands a second for S seconds, open loop
  memory     resident set size idle and after the burst

Prints a Markdown table and writes the numbers as JSON. Everything runs on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from tests import databases
from tests.app_process import ROOT, AppProcess, app_env
from tests.slack_requests import SlackSender, signed_headers

SLACK_ACK_LIMIT = 3.0
MARK = re.compile(r"n(\d+)z")


@dataclass
class Sent:
    index: int
    at: float
    ack_seconds: float | None = None  # None: no answer (timeout or refused)
    status: int | None = None


@dataclass
class Row:
    target: str
    scenario: str
    commands: int
    ack_p50_ms: float
    ack_p95_ms: float
    ack_p99_ms: float
    ack_max_ms: float
    late_acks: int
    tasks_created: int
    thread_replies: int
    overhead_p50_ms: float | None
    wall_seconds: float
    rss_mb: float | None = None
    requests_per_5s_peak: int | None = None  # to Browser Use, all processes together
    # Transactions and rows written in the store per task created (PostgreSQL only).
    store_per_task: dict[str, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


class StandIns:
    """The stand-ins as a child process, controlled over their `/_control` routes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        urls = json.loads(self.proc.stdout.readline())
        self.slack_url, self.browser_use_url = urls["slack"], urls["browser_use"]
        self.http = httpx.Client(timeout=30)

    def reset(self, create_delay: float) -> None:
        self.http.post(f"{self.slack_url}/_control/reset")
        self.http.post(
            f"{self.browser_use_url}/_control",
            # As the real API: 125 requests per 5-second window for the project.
            json={"create_delay": create_delay, "rate_limit_per_window": 125},
        )

    def running(self, count: int, route: str) -> tuple[list[str], dict[str, str]]:
        """Slack wiped, Browser Use at its real project limit (its contract checks off, for
        speed), and `count` tasks running there with `route` in their metadata: their IDs, and
        their sessions by task."""
        self.http.post(f"{self.slack_url}/_control/reset")
        self.http.post(
            f"{self.browser_use_url}/_control",
            json={"rate_limit_per_window": 125, "check_contract": False},
        )
        made = self.http.post(
            f"{self.browser_use_url}/_control/tasks", json={"count": count, "route": route}
        ).json()
        return made["ids"], made["sessions"]

    def app(self, folder: str, name: str = "app", **env: str) -> AppProcess:
        """An app process (`python -m bot`, logging warnings only) speaking to these stand-ins,
        with `env` on top and its own working folder `name` in `folder`; started."""
        settings = {**app_env(self.slack_url, self.browser_use_url), "LOG_LEVEL": "WARNING", **env}
        (Path(folder) / name).mkdir()
        argv = [sys.executable, "-m", "bot"]
        return AppProcess(settings, Path(folder) / name, argv=argv).start()

    def posts(self) -> list[dict[str, Any]]:
        return self.http.get(f"{self.slack_url}/_control/posts").json()

    def created(self) -> dict[str, Any]:
        return self.http.get(f"{self.browser_use_url}/_control/created").json()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


async def send_all(
    senders: list[SlackSender],
    sent: list[Sent],
    *,
    in_flight: int,
    rate: float | None,
    tag: str,
    **fields: str,
) -> None:
    """Send a command for each of `sent`: at most `in_flight` at once, or at `rate` a second,
    round-robin over the processes of `senders`; `fields` change the command's (its team).

    aiohttp rather than httpx on this side: httpx's pool costs more CPU than the app under test
    at 50 requests in flight, and the sender shares the machine's two cores with it.
    """
    gate = asyncio.Semaphore(in_flight)
    urls = [f"{sender.app_url}/slack/events" for sender in senders]
    bodies = [
        senders[0].command_body(f"bench {tag} task n{item.index}z", **fields) for item in sent
    ]
    connector = aiohttp.TCPConnector(limit=in_flight)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def one(item: Sent, body: str) -> None:
            if rate:
                await asyncio.sleep(max(0.0, start + item.index / rate - time.monotonic()))
            async with gate:
                headers = signed_headers(body)
                item.at = time.monotonic()
                url = urls[item.index % len(urls)]
                try:
                    async with http.post(url, data=body, headers=headers) as response:
                        await response.read()
                        item.status = response.status
                    item.ack_seconds = time.monotonic() - item.at
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    item.ack_seconds = None

        start = time.monotonic() - (sent[0].index / rate if rate else 0)
        await asyncio.gather(*(one(item, body) for item, body in zip(sent, bodies, strict=True)))


def is_ids_reply(post: dict[str, Any]) -> bool:
    """The thread reply with the task and session IDs (not a "queued" note or a status)."""
    return bool(post["thread_ts"]) and (post["text"] or "").startswith("Task started")


def wait_for_replies(stand_ins: StandIns, expected: int, quiet_seconds: float) -> list[dict]:
    """Poll until every command has its thread reply, or nothing new came for a while."""
    last, last_change = -1, time.monotonic()
    while True:
        posts = stand_ins.posts()
        replies = sum(1 for p in posts if is_ids_reply(p))
        if replies >= expected:
            return posts
        if replies != last:
            last, last_change = replies, time.monotonic()
        elif time.monotonic() - last_change > quiet_seconds:
            return posts
        time.sleep(0.1)


def scenario(
    target: str,
    name: str,
    stand_ins: StandIns,
    senders: list[SlackSender],
    upstream: float,
    count: int,
    *,
    in_flight: int,
    rate: float | None = None,
    one_by_one: bool = False,
    store_stats: StoreStats | None = None,
) -> Row:
    """Run one scenario; `one_by_one` waits for each thread reply before the next command."""
    stand_ins.reset(upstream)
    quiet = max(5.0, 3 * upstream)
    before = store_stats.read() if store_stats else None
    started = time.monotonic()
    sent = [Sent(i, 0.0) for i in range(count)]
    batches = [[s] for s in sent] if one_by_one else [sent]
    for batch in batches:
        asyncio.run(send_all(senders, batch, in_flight=in_flight, rate=rate, tag=name))
        posts = wait_for_replies(stand_ins, batch[-1].index + 1, quiet_seconds=quiet)
    wall = time.monotonic() - started
    acks = [s.ack_seconds for s in sent if s.ack_seconds is not None and s.status == 200]
    late = sum(1 for s in sent if s.ack_seconds is None or s.status != 200 or s.ack_seconds > 3.0)
    parents = {
        p["ts"]: int(m[1])
        for p in posts
        if not p["thread_ts"]
        if (m := MARK.search(p["text"] or ""))
    }
    replies = [p for p in posts if is_ids_reply(p) and p["thread_ts"] in parents]
    created = stand_ins.created()
    overheads = [(r["at"] - sent[parents[r["thread_ts"]]].at - upstream) * 1000 for r in replies]
    return Row(
        target=target,
        scenario=name,
        commands=count,
        ack_p50_ms=percentile(acks, 50) * 1000,
        ack_p95_ms=percentile(acks, 95) * 1000,
        ack_p99_ms=percentile(acks, 99) * 1000,
        ack_max_ms=max(acks, default=float("nan")) * 1000,
        late_acks=late,
        tasks_created=len(stand_ins.created()["created"]),
        thread_replies=len(replies),
        overhead_p50_ms=statistics.median(overheads) if overheads else None,
        wall_seconds=wall,
        requests_per_5s_peak=created["peak_per_window"],
        store_per_task=store_stats.per_task(before, len(created["created"])) if before else None,
        extra={"rate_limited_by_browser_use": created["rate_limited"]},
    )


class StoreStats:
    """What the store did, from PostgreSQL's own counters for the database."""

    QUERY = (
        "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted AS writes "
        "FROM pg_stat_database WHERE datname = current_database()"
    )

    def __init__(self, database_url: str):
        self.database_url = database_url

    def read(self) -> dict[str, int]:
        async def query() -> dict[str, int]:
            connection = await databases.connect(self.database_url)
            try:
                row = await connection.fetchrow(self.QUERY)
            finally:
                await connection.close()
            return {"transactions": int(row["xact_commit"]), "rows_written": int(row["writes"])}

        # Each backend hands its counters to the statistics at most once a second.
        time.sleep(1.5)
        return asyncio.run(query())

    def per_task(self, before: dict[str, int], tasks: int) -> dict[str, float]:
        after = self.read()
        return {key: (after[key] - before[key]) / max(1, tasks) for key in before}


def run_target(target: str, stand_ins: StandIns, args: argparse.Namespace) -> list[Row]:
    env = {**app_env(stand_ins.slack_url, stand_ins.browser_use_url), "LOG_LEVEL": "WARNING"}
    # The real `python -m bot`, started as a platform starts it (not forked, as the tests do).
    argv = [sys.executable, "-m", "bot"]
    if target == "baseline":
        argv = [sys.executable, str(ROOT / "bench" / "baseline.py")]
    count, store_stats = 1, None
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if target == "app-2":
            server = stack.enter_context(contextlib.contextmanager(databases.start_postgres)())
            env["DATABASE_URL"] = databases.fresh_database(server)
            store_stats, count = StoreStats(env["DATABASE_URL"]), 2
        processes = []
        for n in range(count):
            (workdir / str(n)).mkdir()
            processes.append(AppProcess(env, workdir / str(n), argv=argv).start())
            stack.callback(processes[-1].stop)
        senders = [SlackSender(p.url, f"{stand_ins.slack_url}/response/bench") for p in processes]
        # Commands first, so first-call costs (auth.test, connections) are not measured.
        scenario(target, "warm-up", stand_ins, senders, 0.0, 2 * count, in_flight=1)
        idle_rss = sum(p.rss_mb() for p in processes)
        upstream = args.upstream_ms / 1000
        common = {"stand_ins": stand_ins, "senders": senders, "upstream": upstream}
        rows = [
            scenario(target, "single", **common, count=args.single, in_flight=1, one_by_one=True)
        ]
        burst = scenario(
            target,
            "burst",
            **common,
            count=args.burst,
            in_flight=args.in_flight,
            store_stats=store_stats,
        )
        burst.rss_mb = sum(p.rss_mb() for p in processes)
        rows.append(burst)
        if args.seconds > 0:
            rows.append(
                scenario(
                    target,
                    "sustained",
                    **common,
                    count=int(args.rate * args.seconds),
                    in_flight=int(args.rate * 10),
                    rate=args.rate,
                    store_stats=store_stats,
                )
            )
        rows[0].rss_mb = idle_rss
    return rows


def table(rows: list[Row]) -> str:
    def ms(value: float | None) -> str:
        return "–" if value is None or value != value else f"{value:.1f}"

    lines = [
        "| target | scenario | commands | ack p50 ms | ack p95 ms | ack p99 ms | ack max ms | "
        "late acks | tasks | thread replies | overhead p50 ms | Browser Use req/5 s peak | "
        "wall s | RSS MB |",
        "| --- | --- |" + " ---: |" * 12,
    ]
    for r in rows:
        rss = (
            f"{r.rss_mb:.0f} ({'idle' if r.scenario == 'single' else 'after'})" if r.rss_mb else ""
        )
        lines.append(
            f"| {r.target} | {r.scenario} | {r.commands} | {ms(r.ack_p50_ms)} | {ms(r.ack_p95_ms)} "
            f"| {ms(r.ack_p99_ms)} | {ms(r.ack_max_ms)} | {r.late_acks} | {r.tasks_created} | "
            f"{r.thread_replies} | {ms(r.overhead_p50_ms)} | {r.requests_per_5s_peak} | "
            f"{r.wall_seconds:.1f} | {rss} |"
        )
    stores = [r for r in rows if r.store_per_task]
    if stores:
        lines.append("\nThe store's work per task created (PostgreSQL's counters):\n")
        lines.append("| target | scenario | transactions | rows written |")
        lines.append("| --- | --- | ---: | ---: |")
        for r in stores:
            assert r.store_per_task is not None
            lines.append(
                f"| {r.target} | {r.scenario} | {r.store_per_task['transactions']:.1f} | "
                f"{r.store_per_task['rows_written']:.1f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--upstream-ms", type=float, default=800, help="Create Task latency")
    parser.add_argument("--single", type=int, default=20, help="commands in the single scenario")
    parser.add_argument("--burst", type=int, default=200, help="commands in the burst")
    parser.add_argument("--in-flight", type=int, default=50, help="burst commands at once")
    parser.add_argument("--rate", type=float, default=20, help="sustained commands a second")
    parser.add_argument("--seconds", type=float, default=30, help="sustained duration (0: skip)")
    parser.add_argument(
        "--targets", default="app,app-2,baseline", help="app, app-2 and/or baseline"
    )
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)

    stand_ins = StandIns()
    rows: list[Row] = []
    try:
        for target in args.targets.split(","):
            print(f"running {target}…", file=sys.stderr, flush=True)
            rows += run_target(target.strip(), stand_ins, args)
    finally:
        stand_ins.close()

    machine = f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}"
    command = "make bench BENCH_ARGS='" + " ".join(argv or sys.argv[1:]) + "'"
    print(f"Upstream create latency {args.upstream_ms:.0f} ms · {machine}\n")
    print(table(rows))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "machine": machine,
                "command": command,
                "args": vars(args) | {"json": str(args.json)},
                "rows": [asdict(r) for r in rows],
            },
            indent=2,
        )
    )
    print(f"\nJSON: {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

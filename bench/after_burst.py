"""`python -m bench.after_burst`: what following costs right after a burst of commands.

One app process (`python -m bot`, its store a SQLite file) gets N commands at once; every task
they create keeps running at the Browser Use stand-in (its project limit: 125 requests per 5 s)
and nothing changes. It prints the Browser Use requests a second from the last create on (all of
them, and the `/status` reads among them), in the first 30 s, the next 30 s and the rest: what
the team's key pays while nothing happens (issue #35: ≤ 5 a second from the first second).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time

from bench.__main__ import Sent, StandIns, send_all
from tests.slack_requests import SlackSender


def run(commands: int, seconds: float) -> list[tuple[str, float, float]]:
    stand_ins = StandIns()
    try:
        stand_ins.running(0, "T0TEST/C1/1.2/U1")  # the real limit, the contract unchecked
        with tempfile.TemporaryDirectory() as folder:
            app = stand_ins.app(folder, DATABASE_URL=f"sqlite+aiosqlite:///{folder}/bot.db")
            try:
                sender = SlackSender(app.url, f"{stand_ins.slack_url}/response/bench")
                sent = [Sent(n, 0.0) for n in range(commands)]
                asyncio.run(send_all([sender], sent, in_flight=50, rate=None, tag="burst"))
                deadline = time.monotonic() + 120
                while len(stand_ins.created()["created"]) < commands:
                    assert time.monotonic() < deadline, "the creates did not all arrive"
                    time.sleep(0.5)
                time.sleep(seconds)
            finally:
                app.stop()
        created = [c["at"] for c in stand_ins.created()["created"]]
        requests = stand_ins.http.get(f"{stand_ins.browser_use_url}/_control/requests").json()
    finally:
        stand_ins.close()
    last = max(created)
    rows = []
    for name, start, end in (
        ("first 30 s", 0.0, 30.0),
        ("30-60 s", 30.0, 60.0),
        (f"60-{int(seconds)} s", 60.0, seconds),
    ):
        end = min(end, seconds)  # only what was measured
        if end <= start:
            continue
        within = [p for m, p, at in requests if last + start <= at < last + end and m == "GET"]
        status = [p for p in within if p.endswith("/status")]
        rows.append((name, len(within) / (end - start), len(status) / (end - start)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1000, help="commands in the burst")
    parser.add_argument("--seconds", type=float, default=120.0, help="seconds measured after")
    args = parser.parse_args()
    rows = run(args.commands, args.seconds)
    print(f"| after {args.commands} commands | requests/s | `/status` reads/s |")
    print("| --- | ---: | ---: |")
    for name, total, status in rows:
        print(f"| {name} | {total:.1f} | {status:.1f} |")


if __name__ == "__main__":
    main()

"""`python -m bench.stop`: what a stop waits for (issue "Rooms of a person's size").

One app process (`python -m bot`, its store a SQLite file) follows N running tasks (the sweep
lists them, the newest are polled), then gets `SIGTERM`, as a deploy sends it, at a random
moment of its work. It prints, over the runs, how long the process took from the signal to its
exit: a store call cancelled mid-statement used to leave SQLite's connection busy, and the stop's
own writes (handing its leases on) then waited out SQLite's busy timeout.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import statistics
import tempfile
import time

from bench.__main__ import StandIns
from bench.follow import seed

ROUTE = "T0TEST/C77/1700000000.000100/U42"


def one_stop(stand_ins: StandIns, tasks: int) -> float:
    http = stand_ins.http
    http.post(f"{stand_ins.slack_url}/_control/reset")
    made = http.post(
        f"{stand_ins.browser_use_url}/_control/tasks", json={"count": tasks, "route": ROUTE}
    ).json()
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite+aiosqlite:///{folder}/bot.db"
        seed(database, made["ids"], made["sessions"])
        app = stand_ins.app(
            folder,
            DATABASE_URL=database,
            # Sweeps and polls as often as they go: the stop lands in the middle of one.
            TIMER_SCALE="0.01",
            POLL_INTERVAL_SECONDS="0.1",
            BROWSER_USE_REQUESTS_PER_SECOND="200",
        )
        assert app.proc is not None
        time.sleep(2 + random.random())
        signalled = time.monotonic()
        app.proc.send_signal(signal.SIGTERM)
        app.proc.wait(60)
        took = time.monotonic() - signalled
        app.stop()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300, help="running tasks followed")
    parser.add_argument("--runs", type=int, default=5, help="stops measured")
    args = parser.parse_args()
    stand_ins = StandIns()
    try:
        stand_ins.http.post(f"{stand_ins.browser_use_url}/_control", json={"check_contract": False})
        stops = [one_stop(stand_ins, args.tasks) for _ in range(args.runs)]
    finally:
        stand_ins.close()
    print(
        json.dumps(
            {
                "tasks": args.tasks,
                "runs": args.runs,
                "stop_s_median": round(statistics.median(stops), 2),
                "stop_s_max": round(max(stops), 2),
                "stops_s": [round(s, 2) for s in stops],
            }
        )
    )


if __name__ == "__main__":
    main()

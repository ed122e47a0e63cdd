"""`python -m bench.streams`: a watched task's steps in its thread, and Slack's own stop button.

One app process (`python -m bot`, its store a SQLite file) gets ten commands in one channel:
ten watched threads of one workspace. Each task then takes a step every 2 to 6 seconds (an
agent's pace: a model's answer and a browser action a step; `--step-every`) for `--seconds`.
Then the owner of each of five of them clicks Slack's stop button on its thread's agent session
(`agent_session_stopped`). It prints, with the steps streamed (`SLACK_STREAMING=on`) and with
today's edited status message (`off`), run one after the other `--rounds` times: how long after
Browser Use has a step it is in Slack (p50, p95; a thread's first step apart, as it waits for the
stream's start, Tier 2; and the steps never shown, as an edit skips the steps between two edits),
the most calls of each Slack method in any minute, and the stop
button's click → task stopped at Browser Use.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from typing import Any

from bench.__main__ import Sent, StandIns, percentile, send_all
from tests.slack_requests import SlackSender

THREADS = 10
STOPS = 5
STEP_SHOWN = re.compile(r"· step (\d+)")  # in the status message, as an edit shows a step


class Agents:
    """Each task takes a step every `every` (least, most) seconds, until stopped: (task, step,
    when)."""

    def __init__(self, stand_ins: StandIns, ids: list[str], every: tuple[float, float]):
        self.stand_ins, self.ids, self.every = stand_ins, ids, every
        self.steps: list[tuple[str, int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        due = {task_id: time.monotonic() + random.uniform(*self.every) for task_id in self.ids}
        url = f"{self.stand_ins.browser_use_url}/_control/steps"
        while not self._stop.wait(0.05):
            now = time.monotonic()
            ready = [task_id for task_id, at in due.items() if at <= now]
            if not ready:
                continue
            answer = self.stand_ins.http.post(url, json={"ids": ready}).json()
            for task_id, number in answer["steps"].items():
                self.steps.append((task_id, number, answer["at"]))
                due[task_id] = now + random.uniform(*self.every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def shown_at(calls: list[dict[str, Any]], threads: dict[str, tuple[str, str]]) -> dict:
    """When each (task, step) was first in Slack: in a stream's chunks, or in an edit of the
    task's status message ("step N")."""
    by_thread = {thread: task for task, (thread, _) in threads.items()}
    by_status = {status: task for task, (_, status) in threads.items()}
    stream_thread: dict[str, str] = {}
    first: dict[tuple[str, int], float] = {}
    for call in calls:
        args, method = call["args"], call["method"]
        task = None
        if method == "chat.startStream" and call["ok"]:
            stream_thread[call["answer"]["ts"]] = args["thread_ts"]
            task = by_thread.get(args["thread_ts"])
        elif method in ("chat.appendStream", "chat.stopStream") and call["ok"]:
            task = by_thread.get(stream_thread.get(args.get("ts", ""), ""))
        if task is not None:
            for chunk in args.get("chunks") or []:
                if chunk.get("type") == "task_update" and chunk.get("id", "").startswith("step-"):
                    first.setdefault((task, int(chunk["id"][5:])), call["at"])
        if method == "chat.update" and call["ok"]:
            task = by_status.get(args.get("ts", ""))
            found = STEP_SHOWN.search(str(args.get("blocks")))
            if task is not None and found:
                first.setdefault((task, int(found.group(1))), call["at"])
    return first


def per_minute(calls: list[dict[str, Any]]) -> dict[str, int]:
    """The most calls of each method in any 60 seconds."""
    at: dict[str, list[float]] = defaultdict(list)
    for call in calls:
        at[call["method"]].append(call["at"])
    most = {}
    for method, times in at.items():
        times.sort()
        j, best = 0, 0
        for i, t in enumerate(times):
            while times[j] < t - 60:
                j += 1
            best = max(best, i - j + 1)
        most[method] = best
    return most


def one_run(
    stand_ins: StandIns, streaming: bool, seconds: float, every: tuple[float, float]
) -> dict[str, Any]:
    stand_ins.running(0, "T0TEST/C1/1.2/U1")  # Slack wiped, Browser Use at its real limit
    with tempfile.TemporaryDirectory() as folder:
        app = stand_ins.app(
            folder,
            DATABASE_URL=f"sqlite+aiosqlite:///{folder}/bot.db",
            SLACK_STREAMING="on" if streaming else "off",
        )
        try:
            sender = SlackSender(app.url, f"{stand_ins.slack_url}/response/bench")
            sent = [Sent(n, 0.0) for n in range(THREADS)]
            asyncio.run(send_all([sender], sent, in_flight=THREADS, rate=None, tag="stream"))
            deadline = time.monotonic() + 30
            while len(stand_ins.created()["created"]) < THREADS:
                assert time.monotonic() < deadline, "the creates did not all arrive"
                time.sleep(0.2)
            ids = [c["id"] for c in stand_ins.created()["created"]]
            time.sleep(2)  # each status message posted
            threads = _threads(stand_ins, ids)
            agents = Agents(stand_ins, ids, every)
            began = time.monotonic()
            time.sleep(seconds)
            agents.stop()
            ended = time.monotonic()
            calls = stand_ins.http.get(f"{stand_ins.slack_url}/_control/calls?full=1").json()
            stops = [
                _stop(stand_ins, sender, task, threads[task][0], _owner(calls, threads[task][0]))
                for task in ids[:STOPS]
            ]
            stops = [took for took in stops if took is not None]
            time.sleep(2)
        finally:
            app.stop()
        calls = stand_ins.http.get(f"{stand_ins.slack_url}/_control/calls?full=1").json()
        requests = stand_ins.http.get(f"{stand_ins.browser_use_url}/_control/requests").json()
    reads = [at for method, _, at in requests if method == "GET" and began <= at < ended]
    first = shown_at(calls, threads)
    waits = [first[(t, n)] - at for t, n, at in agents.steps if (t, n) in first and n > 1]
    return {
        "steps": len(agents.steps),
        "waits": waits,
        "first_steps": [
            first[(t, n)] - at for t, n, at in agents.steps if (t, n) in first and n == 1
        ],
        "skipped": len(agents.steps) - len(waits),
        "per_minute": per_minute(calls),
        "reads": len(reads) / (ended - began),
        "stops": stops,
    }


def _threads(stand_ins: StandIns, ids: list[str]) -> dict[str, tuple[str, str]]:
    """Each task's thread and status message, from the posts."""
    calls = stand_ins.http.get(f"{stand_ins.slack_url}/_control/calls?full=1").json()
    threads = {}
    for call in calls:
        if call["method"] != "chat.postMessage" or not call["ok"]:
            continue
        for task in ids:
            if task in call["text"] and call["args"].get("thread_ts"):
                threads[task] = (call["args"]["thread_ts"], call["answer"]["ts"])
    assert len(threads) == len(ids), "a status message is missing"
    return threads


def _stop(
    stand_ins: StandIns,
    sender: SlackSender,
    task: str,
    thread_ts: str,
    owner: tuple[str, str] | None,
) -> float | None:
    """The owner (channel, user) clicks Slack's stop button: seconds until Browser Use has the
    stop (None: the app makes no agent sessions, so there is no such button)."""
    if owner is None:
        return None
    channel, user = owner
    clicked = time.monotonic()
    event = {
        "type": "agent_session_stopped",
        "channel": channel,
        "thread_ts": thread_ts,
        "user": user,
        "event_ts": f"{time.time():.6f}",
        "streaming_message_ts": "",
    }
    assert sender.event(event).status_code == 200
    while task not in stand_ins.created()["stops"]:
        assert time.monotonic() - clicked < 30, "the stop did not arrive"
        time.sleep(0.01)
    return time.monotonic() - clicked


def _owner(calls: list[dict[str, Any]], thread_ts: str) -> tuple[str, str] | None:
    """The channel of a thread, and who started its task (its session's initiator)."""
    for call in calls:
        args = call["args"]
        if call["method"] == "agents.sessions.setStatus" and args.get("thread_ts") == thread_ts:
            return args["channel_id"], args["initiator_user_id"]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the agents step")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each, alternated")
    parser.add_argument(
        "--step-every", default="2,6", help="seconds between an agent's steps: least,most"
    )
    parser.add_argument(
        "--modes", default="off,on", help="SLACK_STREAMING values to run, in this order"
    )
    args = parser.parse_args()
    least, most_seconds = (float(n) for n in args.step_every.split(","))
    modes = [mode == "on" for mode in args.modes.split(",")]
    stand_ins = StandIns()
    results: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    try:
        for _ in range(args.rounds):
            for streaming in modes:
                run = one_run(stand_ins, streaming, args.seconds, (least, most_seconds))
                results[streaming].append(run)
    finally:
        stand_ins.close()
    print(
        f"\n{THREADS} watched threads, a step every {args.step_every.replace(',', '-')} s "
        f"each, {args.seconds:.0f} s, "
        f"{args.rounds} runs each"
    )
    print(
        "| | steps | in Slack p50 | p95 | a thread's first step p50 / p95 | never shown "
        + "| Browser Use reads/s | most a minute, by method | stop → stopped p50 / max |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for streaming in dict.fromkeys(modes):
        runs = results[streaming]
        waits = [w for r in runs for w in r["waits"]]
        firsts = [w for r in runs for w in r["first_steps"]]
        reads = statistics.mean(r["reads"] for r in runs)
        stops = [s for r in runs for s in r["stops"]]
        steps = sum(r["steps"] for r in runs)
        skipped = sum(r["skipped"] for r in runs)
        most: dict[str, int] = {}
        for r in runs:
            for method, n in r["per_minute"].items():
                most[method] = max(most.get(method, 0), n)
        shown = ", ".join(
            f"`{m}` {n}" for m, n in sorted(most.items()) if not m.startswith(("auth.", "apps."))
        )
        name = "streamed (on)" if streaming else "edited (off)"
        print(
            f"| {name} | {steps} | {percentile(waits, 50):.2f} s | {percentile(waits, 95):.2f} s "
            f"| {percentile(firsts, 50):.2f} s / {percentile(firsts, 95):.2f} s "
            f"| {skipped} ({100 * skipped / max(1, steps):.0f} %) | {reads:.1f} | {shown} "
            + (f"| {percentile(stops, 50):.2f} s / {max(stops):.2f} s |" if stops else "| — |")
        )


if __name__ == "__main__":
    main()

"""`python -m tests.forker`: a process that imports the app once, then forks a copy of itself for
each app process a test starts, so a start costs milliseconds of CPU, not the 1.7 s of importing
Bolt, SQLAlchemy, Alembic and pydantic again.

Each copy is the real app, exactly as `python -m bot` runs it: `bot.__main__.main()`, with its
own environment, working directory, log file, PID and signals; a test stops it with SIGTERM or
SIGKILL as it would any process. The forker itself is single-threaded and never runs an event
loop, so a fork copies nothing half-done.

Protocol, one JSON line each way: the test writes {"env", "cwd", "log", "args"}; the forker
answers {"pid"}. When a copy exits, the forker writes its exit code to `<log>.exit`. At the end
of its input, it stops the copies still running and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import select
import signal
import sys
import tempfile
import threading
import traceback

import bot.__main__  # everything the app imports, imported once here
from bot.store import Store

_exits: dict[int, str] = {}  # pid -> where its exit code goes


def _warm_up() -> None:
    """Migrate a throwaway store once: what the app imports only when it migrates (Alembic,
    Mako, Pygments, the migration scripts) is imported here, not in every copy."""

    async def migrate(folder: str) -> None:
        store = await Store.open(f"sqlite+aiosqlite:///{folder}/warm.db")
        await store.close()

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(migrate(folder))
    # A fork copies only the calling thread: nothing may be left running in another.
    assert threading.active_count() == 1, threading.enumerate()


def _child(request: dict[str, object]) -> None:
    """In the fork: become `python -m bot` with the request's environment, then exit."""
    code = 1
    try:
        log = os.open(str(request["log"]), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})  # type: ignore[call-overload]
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        random.seed()  # each copy its own jitter
        args = [str(a) for a in request["args"]]  # type: ignore[attr-defined]
        sys.argv = ["bot", *args]
        code = bot.__main__.main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reap() -> None:
    while _exits:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        path = _exits.pop(pid, None)
        if path is not None:
            with open(path, "w") as out:
                out.write(str(os.waitstatus_to_exitcode(status)))


def main() -> None:
    _warm_up()
    stdin = sys.stdin.buffer
    while True:
        ready, _, _ = select.select([stdin], [], [], 0.05)
        _reap()
        if not ready:
            continue
        line = stdin.readline()
        if not line:
            break
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        _exits[pid] = f"{request['log']}.exit"
        sys.stdout.write(json.dumps({"pid": pid}) + "\n")
        sys.stdout.flush()
    for pid in list(_exits):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    while _exits:
        _reap()


if __name__ == "__main__":
    main()

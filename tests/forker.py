"""`python -m tests.forker`: a process that imports the app once, then forks a copy of itself for
each app process a test starts, so a start costs milliseconds of CPU, not the 1.7 s of importing
Bolt, SQLAlchemy, Alembic and pydantic again.

Each copy is the real app, exactly as `python -m bot` runs it: `bot.__main__.main()`, with its
own environment, working directory, log file, PID and signals; a test stops it with SIGTERM or
SIGKILL as it would any process. The forker itself is single-threaded and never runs an event
loop, so a fork copies nothing half-done.

Protocol, one JSON line each way: the test writes {"env", "cwd", "log", "args"}; the forker
answers {"pid"}. When a copy exits, the forker writes its exit code to `<log>.exit`. Requests
come on stdin, or, with `--socket PATH`, from any number of test processes connected there (a
run's workers share one forker); a connection's copies are stopped when it closes. At the end
of its stdin, it stops every copy still running and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import pkgutil
import random
import select
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from typing import Any, BinaryIO

import bot.__main__
import bot.server  # everything the app imports, imported once here
import handlers.listeners
from bot.browser_use import tls_context
from bot.store import Store

_exits: dict[int, str] = {}  # pid -> where its exit code goes


def _warm_up() -> None:
    """Open a throwaway store once: what the app imports and reads only when it builds its
    schema (Alembic's migration context, the migration scripts) is here, not in every copy. So
    is what it imports only once it runs (httpx's transport: httpcore, h11, anyio's event loop
    side; the PostgreSQL driver; the listeners), and the TLS context it makes once per process
    is made here."""
    for module in ("httpcore", "anyio._backends._asyncio", "asyncpg"):
        importlib.import_module(module)
    # The listener modules, imported by the app only as it registers them.
    for found in pkgutil.iter_modules(handlers.listeners.__path__, "handlers.listeners."):
        importlib.import_module(found.name)
    tls_context()

    async def migrate(folder: str) -> None:
        store = await Store.open(f"sqlite+aiosqlite:///{folder}/warm.db")
        await store.close()

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(migrate(folder))
    # A fork copies only the calling thread: nothing may be left running in another. The
    # SQLite driver's thread ends just after its connection closes, not before (once, on a busy
    # machine, it was still there: every app process of that run failed to start).
    deadline = time.monotonic() + 10
    while threading.active_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == 1, threading.enumerate()


def _child(request: dict[str, object], inherited: list[int]) -> None:
    """In the fork: become `python -m bot` with the request's environment, then exit."""
    code = 1
    try:
        for fd in inherited:  # the forker's sockets are not the app's
            with contextlib.suppress(OSError):
                os.close(fd)
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


class _Client:
    """One test process's connection (or stdin and stdout), and the copies it started."""

    def __init__(self, reader: BinaryIO, writer: BinaryIO, conn: socket.socket | None = None):
        self.reader, self.writer, self.conn = reader, writer, conn
        self.copies: set[int] = set()

    def fileno(self) -> int:
        return self.reader.fileno()


def _kill(pids: set[int]) -> None:
    for pid in pids & set(_exits):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def main(argv: list[str]) -> None:
    listener = None
    if argv[:1] == ["--socket"]:
        # Listening before the warm-up: a test that connects early waits for its answer.
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(argv[1])
        listener.listen(64)
    _warm_up()
    lifeline = _Client(sys.stdin.buffer, sys.stdout.buffer)
    clients = [lifeline]
    while True:
        waiting: list[Any] = [*clients, *([listener] if listener else [])]
        ready, _, _ = select.select(waiting, [], [], 0.05)
        _reap()
        for source in ready:
            if source is listener:
                conn, _ = listener.accept()
                clients.append(_Client(conn.makefile("rb"), conn.makefile("wb"), conn))
                continue
            line = source.reader.readline()
            if not line:
                if source is lifeline:
                    _kill(set(_exits))
                    while _exits:
                        _reap()
                    return
                _kill(source.copies)
                clients.remove(source)
                source.reader.close()
                source.writer.close()
                source.conn.close()
                continue
            request = json.loads(line)
            inherited = [c.fileno() for c in clients if c.conn] + (
                [listener.fileno()] if listener else []
            )
            pid = os.fork()
            if pid == 0:
                _child(request, inherited)
            _exits[pid] = f"{request['log']}.exit"
            source.copies.add(pid)
            source.writer.write(json.dumps({"pid": pid}).encode() + b"\n")
            source.writer.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
    # Its copies are stopped: skip the interpreter's teardown of all the warm-up imported (half
    # a second at the end of every test run, for nothing).
    sys.stdout.flush()
    os._exit(0)

"""`python -m bot` as a real process on a free loopback port (for the tests and the benchmark)."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import BinaryIO, Protocol

import httpx

ROOT = Path(__file__).resolve().parents[1]
# One HTTP client for every request a test sends over loopback: `httpx.get()` builds a client,
# and with it a TLS context (loading the system's certificates), for each call, which was half
# of the test process's CPU.
LOOPBACK = httpx.Client(timeout=10)


# App ports come from below the OS's ephemeral range (32768 and up on Linux), a thousand for each
# test worker: two workers never pick the same port between choosing it and binding it. (From
# the OS's pool, another worker's app took a port this one had chosen, failed to bind, and this
# one's readiness probe was answered by the other's app.)
APP_PORTS = 20000
_next_port = itertools.count()


def free_port() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    base = APP_PORTS + (int(worker) if worker.isdigit() else 0) % 10 * 1000
    for _ in range(1000):
        port = base + next(_next_port) % 1000
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use (a port of this worker's not closed yet, or another program)
            return port
    raise RuntimeError("no free port in this worker's range")


class Settles(Protocol):
    def settle(self, timeout: float = 10) -> None: ...

    def logs(self) -> str: ...


# Every app running in this test process (a subprocess, or in process), so a test that wipes the
# shared stand-ins first waits for all of them: an app still finishing an earlier test's work
# would post into this test's record.
RUNNING: set[Settles] = set()
# The apps stopped during the current test (a test's own app stops as its `with` block ends,
# before the test's report is made): a failure's report shows their logs too.
STOPPED: list[Settles] = []


def settle_all() -> None:
    for app in list(RUNNING):
        app.settle()


def settle(app_url: str, timeout: float = 10) -> None:
    """Wait until the app at `app_url` has nothing in flight and no task read under way
    (`/healthz`): the work it started after its acks is done, so what it was sent is all
    answered, and what it has seen of a task is all said. Fails the test if it never is."""
    # Imported here: the process that starts the workers imports this module, and not aiohttp.
    from tests.fakes.server import wait_for

    def settled() -> bool:
        try:
            health = LOOPBACK.get(f"{app_url}/healthz").json()
        except httpx.TransportError:
            return True  # not serving (stopped, or killed): nothing to wait for
        return not (health["in_flight"] or health["reading"])

    wait_for(settled, timeout, f"the app at {app_url} to settle (nothing in flight or read)")


class Forked:
    """An app process forked by `tests.forker`: what a test needs of `subprocess.Popen`."""

    def __init__(self, pid: int, exit_path: Path):
        self.pid = pid
        self.exit_path = exit_path
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and self.exit_path.exists():
            text = self.exit_path.read_text()
            self.returncode = int(text) if text else None
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(["bot"], timeout or 0)
            time.sleep(0.01)
        assert self.returncode is not None
        return self.returncode

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)


# Where the run's shared forker listens (`start_shared_forker`), for every worker of the run.
FORKER_SOCKET = "TEST_FORKER_SOCKET"


def start_shared_forker(path: Path) -> subprocess.Popen[bytes]:
    """One `tests.forker` for every worker of a run, listening at `path`: it warms up (imports
    the app) once, while the workers start, instead of once in each. It stops, and stops every
    copy, when its stdin closes."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.forker", "--socket", str(path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
    )


class Forker:
    """This test process's way to `tests.forker`: the run's shared one (FORKER_SOCKET), or one of
    its own, started on first use."""

    _proc: subprocess.Popen[bytes] | None = None
    _reader: BinaryIO | None = None
    _writer: BinaryIO | None = None
    _lock = threading.Lock()

    @classmethod
    def _connect(cls) -> tuple[BinaryIO, BinaryIO]:
        alive = cls._proc is None or cls._proc.poll() is None
        if cls._reader is not None and cls._writer is not None and alive:
            return cls._reader, cls._writer
        shared = os.environ.get(FORKER_SOCKET)
        if shared:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            deadline = time.monotonic() + 60
            while True:
                try:
                    conn.connect(shared)
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            cls._reader, cls._writer = conn.makefile("rb"), conn.makefile("wb")
        else:
            cls._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.forker"],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            assert cls._proc.stdin is not None and cls._proc.stdout is not None
            atexit.register(cls._proc.stdin.close)
            cls._reader, cls._writer = cls._proc.stdout, cls._proc.stdin
        return cls._reader, cls._writer

    @classmethod
    def fork(cls, env: dict[str, str], cwd: Path, log: Path, args: list[str]) -> Forked:
        with cls._lock:
            reader, writer = cls._connect()
            request = {"env": env, "cwd": str(cwd), "log": str(log), "args": args}
            writer.write(json.dumps(request).encode() + b"\n")
            writer.flush()
            answer = json.loads(reader.readline())
        return Forked(int(answer["pid"]), Path(f"{log}.exit"))


class AppProcess:
    """`python -m bot` as a process of its own, with its log captured to a file. Forked from
    `tests.forker` (the app imported once) unless `argv` names another program."""

    def __init__(self, env: dict[str, str], workdir: Path, argv: list[str] | None = None):
        self.port = free_port()
        self.log_path = workdir / f"bot-{self.port}.log"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "PORT": str(self.port),
            "LOG_LEVEL": "DEBUG",
            **env,
        }
        self.workdir = workdir
        self.argv = argv or [sys.executable, "-m", "bot"]
        self.forked = argv is None
        self.proc: subprocess.Popen[bytes] | Forked | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> AppProcess:
        self._log = self.log_path.open("wb")
        if self.forked:
            self.proc = Forker.fork(self.env, self.workdir, self.log_path, self.argv[3:])
        else:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.workdir,
                env=self.env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited at start:\n{self.logs()}")
            try:
                # Any answer means it is serving (the benchmark's baseline has no /healthz).
                if LOOPBACK.get(f"{self.url}/healthz", timeout=0.5).status_code < 500:
                    RUNNING.add(self)
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"the app did not start in {timeout}s:\n{self.logs()}")

    def settle(self, timeout: float = 10) -> None:
        settle(self.url, timeout)

    def rss_mb(self) -> float:
        """Resident memory of the process, from /proc (Linux)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        assert self.proc is not None
        RUNNING.discard(self)
        STOPPED.append(self)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def app_env(slack_url: str, browser_use_url: str) -> dict[str, str]:
    """The environment that points the app at the two stand-ins."""
    from tests.fakes.browser_use import API_KEY
    from tests.fakes.slack import BOT_TOKEN
    from tests.slack_requests import SIGNING_SECRET

    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{slack_url}/api/",
        "BROWSER_USE_API_KEY": API_KEY,
        "BROWSER_USE_API_URL": f"{browser_use_url}/api/v2",
    }

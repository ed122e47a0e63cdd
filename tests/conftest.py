"""The real app, started as `python -m bot`, between two local stand-in servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.browser_use import API_KEY, FakeBrowserUse
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.slack_requests import SIGNING_SECRET, SlackSender

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AppProcess:
    """`python -m bot` in a subprocess, with its log captured to a file."""

    def __init__(self, env: dict[str, str], workdir: Path):
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
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> AppProcess:
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot"],
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
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"the app did not start in {timeout}s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture(scope="session")
def slack() -> Iterator[FakeSlack]:
    server = FakeSlack().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser_use() -> Iterator[FakeBrowserUse]:
    server = FakeBrowserUse().start()
    yield server
    server.stop()


def app_env(slack: FakeSlack, browser_use: FakeBrowserUse) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{slack.url}/api/",
        "BROWSER_USE_API_KEY": API_KEY,
        "BROWSER_USE_API_URL": f"{browser_use.url}/api/v2",
        "BROWSER_USE_TIMEOUT": "2",
    }


@pytest.fixture(scope="session")
def app_process(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppProcess]:
    process = AppProcess(app_env(slack, browser_use), tmp_path_factory.mktemp("app")).start()
    yield process
    process.stop()


@pytest.fixture
def app(app_process: AppProcess, slack: FakeSlack, browser_use: FakeBrowserUse) -> AppProcess:
    """The running app, with both stand-ins wiped clean for this test."""
    slack.reset()
    browser_use.reset()
    return app_process


@pytest.fixture
def sender(app: AppProcess, slack: FakeSlack) -> SlackSender:
    return SlackSender(app.url, slack.response_url())

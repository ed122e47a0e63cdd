"""`python -m bot` as a real process on a free loopback port (for the tests and the benchmark)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AppProcess:
    """`python -m bot` in a subprocess, with its log captured to a file."""

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
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> AppProcess:
        self._log = self.log_path.open("wb")
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
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code < 500:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"the app did not start in {timeout}s:\n{self.logs()}")

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

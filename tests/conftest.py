"""The real app, started as `python -m bot`, between two local stand-in servers."""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

# The process that starts the workers imports this file too, only for its two hooks: what the
# fixtures need (the app, the stand-ins, aiohttp, SQLAlchemy: 2.8 s) is imported where used.
if TYPE_CHECKING:
    from tests import databases
    from tests.app_process import AppProcess
    from tests.fakes.browser_use import FakeBrowserUse
    from tests.fakes.slack import FakeSlack
    from tests.in_process import InProcessApp
    from tests.slack_requests import SlackSender

WEBHOOK_SECRET = "whsec-test-4b1d"
# Every wait between tries a tenth of production's: the same paths, sooner.
TIMER_SCALE = 0.1


@pytest.fixture(scope="session")
def slack() -> Iterator[FakeSlack]:
    from tests.fakes.slack import FakeSlack

    server = FakeSlack().start()
    yield server
    server.stop()


_shared_postgres: databases.SharedPostgres | None = None
_shared_forker: subprocess.Popen[bytes] | None = None


def pytest_configure(config: pytest.Config) -> None:
    """With workers (`-n`), what all of them share, started here by the process that starts
    them, while they import and collect: one forker of app processes (`tests.forker`, found at
    TEST_FORKER_SOCKET), and one PostgreSQL (its URL in the file TEST_DATABASE_URL_FILE names),
    where each would otherwise start (and initdb) its own."""
    global _shared_postgres, _shared_forker
    if hasattr(config, "workerinput"):
        gc.disable()  # until the collection is imported (`pytest_collection_finish`)
        # Registered first, so it runs last: a worker whose results are all sent ends without
        # the interpreter's teardown of everything the tests imported (0.9 s of each run's
        # tail, the process that started the workers waiting for the slowest).
        atexit.register(_end_at_once)
        return
    if not getattr(config.option, "numprocesses", None):
        return
    # The same for the process that started them, with the run's exit status (0.2 s).
    atexit.register(_end_at_once)
    from tests.app_process import FORKER_SOCKET, start_shared_forker

    folder = Path(tempfile.mkdtemp(prefix="bot-forker-"))
    _shared_forker = start_shared_forker(folder / "socket")
    os.environ[FORKER_SOCKET] = str(folder / "socket")
    if "TEST_DATABASE_URL" in os.environ:
        return
    from tests import databases

    _shared_postgres = databases.SharedPostgres()
    os.environ[databases.URL_FILE] = str(_shared_postgres.url_file)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` run first. Each worker starts on a share of the list and takes from
    the end of the others' once done; with the slow ones at its start, the run ends on short
    tests spread over every worker, not on one worker alone in a measurement window."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported (the app, SQLAlchemy, Bolt, Hypothesis: ~150,000 objects) lives
    as long as the process. The garbage collector, off while it was imported (its passes over
    the growing heap cost each worker ~0.45 s of CPU while it collects), is told to leave it out
    of the passes to come (Python's recipe for a long-lived heap: `gc.freeze`)."""
    gc.freeze()
    gc.enable()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """In the process that starts the workers, at the first result: Hypothesis's summary at the
    end of the run imports Hypothesis there (0.3 s, the run's last step, every other process
    done); imported now, in a thread, while the workers run the tests."""
    global _warming
    if _warming is None and _shared_forker is not None:
        _warming = threading.Thread(
            target=importlib.import_module,
            args=("hypothesis.internal.observability",),
            name="import-hypothesis",
            daemon=True,
        )
        _warming.start()


_warming: threading.Thread | None = None
_session: pytest.Session | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _session
    _session = session


def _end_at_once() -> None:
    """The last thing at exit, once every other exit handler ran: end without the interpreter's
    teardown. A worker ends with 0 (its results went to the process that started it, which
    decides); that process ends with the run's exit status. Before a session exists (a usage
    error), the interpreter ends as usual."""
    if _session is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if hasattr(_session.config, "workerinput") else int(_session.exitstatus))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _shared_forker is not None:
        from tests.app_process import FORKER_SOCKET

        socket_path = Path(os.environ.pop(FORKER_SOCKET))
        assert _shared_forker.stdin is not None
        _shared_forker.stdin.close()  # it stops its copies and exits
        _shared_forker.wait(30)
        shutil.rmtree(socket_path.parent, ignore_errors=True)
    if _shared_postgres is not None:
        from tests import databases

        os.environ.pop(databases.URL_FILE, None)
        _shared_postgres.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test's report ends with the last lines each app still running, or stopped
    during the test, wrote: what the app did is most of why a test of it failed."""
    report: pytest.TestReport = yield
    if "tests.app_process" not in sys.modules:
        return report
    from tests.app_process import RUNNING, STOPPED

    if report.failed:
        for n, app in enumerate([*RUNNING, *STOPPED]):
            tail = "\n".join(app.logs().splitlines()[-80:])
            report.sections.append((f"app {n} log (last 80 lines)", tail))
    if report.when == "teardown":
        STOPPED.clear()
    return report


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    from tests import databases

    yield from databases.start_postgres()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend the store supports."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/bot.db"
        return
    from tests import databases

    yield from databases.lent_database(request.getfixturevalue("postgres_server"))


@pytest.fixture(autouse=True)
def slack_refused_nothing(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that talks to the Slack stand-in fails if the app sent anything real Slack
    would refuse (a message or a view that breaks a Block Kit rule), asserted or not."""
    yield
    if "slack" in request.fixturenames:
        server: FakeSlack = request.getfixturevalue("slack")
        refused, server.refused = list(server.refused), []
        assert not refused, f"Slack would refuse what the app sent: {refused}"


@pytest.fixture(autouse=True)
def browser_use_contract_kept(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that talks to the Browser Use stand-in fails if the app sent a request Browser
    Use's contract refuses, or the stand-in gave an answer the real API never would."""
    yield
    if "browser_use" in request.fixturenames:
        server: FakeBrowserUse = request.getfixturevalue("browser_use")
        broken, server.schema_errors = list(server.schema_errors), []
        assert not broken, f"Browser Use's contract was broken: {broken}"


@pytest.fixture(scope="session")
def browser_use() -> Iterator[FakeBrowserUse]:
    from tests.fakes.browser_use import FakeBrowserUse

    server = FakeBrowserUse().start()
    yield server
    server.stop()


def app_env(slack: FakeSlack, browser_use: FakeBrowserUse) -> dict[str, str]:
    from tests.app_process import app_env as stand_in_env

    return {
        **stand_in_env(slack.url, browser_use.url),
        "BROWSER_USE_TIMEOUT": "1",
        "TIMER_SCALE": str(TIMER_SCALE),
        "BROWSER_USE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "POLL_INTERVAL_SECONDS": "0.2",
        "ADMIN_USER_IDS": "UADMIN",
        # Raw profile IDs for anyone, as the tests of every option give one; the default (only
        # admins) has its own test (test_logins_e2e.py).
        "PROFILE_IDS_BY": "anyone",
        # One app serves the whole run: Slack's per-minute limits (kept by the app, measured by
        # `make bench` and tests/test_pacing.py) would make a late test wait for the early ones.
        # The tests of the pace itself start an app of their own with theirs.
        "SLACK_UPDATES_PER_MINUTE": "1000",
    }


@pytest.fixture(scope="session")
def app_process(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppProcess]:
    from tests.app_process import AppProcess

    process = AppProcess(app_env(slack, browser_use), tmp_path_factory.mktemp("app")).start()
    yield process
    process.stop()


A = TypeVar("A")


def wipe(slack: FakeSlack, browser_use: FakeBrowserUse) -> None:
    """Both stand-ins wiped clean for a test, once every app running here has finished what the
    tests before sent it (a late post would land in this test's record)."""
    from tests.app_process import settle_all

    settle_all()
    slack.reset()
    browser_use.reset()


def wiped(app: A, slack: FakeSlack, browser_use: FakeBrowserUse) -> A:
    """A test's app, with the stand-ins wiped (`wipe`)."""
    wipe(slack, browser_use)
    return app


@pytest.fixture
def app(app_process: AppProcess, slack: FakeSlack, browser_use: FakeBrowserUse) -> AppProcess:
    """The suite's running app, ready for this test (`wiped`)."""
    return wiped(app_process, slack, browser_use)


@pytest.fixture
def sender(app: AppProcess, slack: FakeSlack) -> SlackSender:
    from tests.slack_requests import SlackSender

    return SlackSender(app.url, slack.response_url())


@pytest.fixture(scope="module")
def in_process(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InProcessApp]:
    """The real app in this test process, for listener tests (`tests.in_process`)."""
    from tests.in_process import InProcessApp

    app = InProcessApp(app_env(slack, browser_use), tmp_path_factory.mktemp("in-process")).start()
    yield app
    app.stop()


@pytest.fixture
def database(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL database of the test's own (on the suite's server), for several processes."""
    from tests import databases

    yield from databases.lent_database(postgres_server)


OwnApp = Callable[..., AbstractContextManager["tuple[AppProcess, SlackSender]"]]


@pytest.fixture
def own_app(slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path) -> OwnApp:
    """Start an app of the test's own, with extra settings (`own_app(SESSION_IDLE_MINUTES="1")`),
    the stand-ins wiped first; it is stopped when the `with` block ends."""
    from tests.app_process import AppProcess
    from tests.slack_requests import SlackSender

    wipe(slack, browser_use)

    @contextmanager
    def start(**env: str) -> Iterator[tuple[AppProcess, SlackSender]]:
        process = AppProcess({**app_env(slack, browser_use), **env}, tmp_path).start()
        try:
            yield process, SlackSender(process.url, slack.response_url())
        finally:
            process.stop()

    return start

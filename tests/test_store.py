"""The store on both of its backends: each promise that spans processes is the database's.

Two `Store`s on one database stand for two processes; a clock the test moves stands for time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text

from bot.store import (
    MIGRATIONS,
    AuditEvent,
    Claim,
    FollowUp,
    Store,
    TaskRecord,
    database_url,
    replay_migrations,
)

T = TypeVar("T")


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def run(url: str, test: Callable[[Store, Store, Clock], Awaitable[T]]) -> T:
    """Run `test` with two processes' stores on the database at `url`, both migrated at once."""

    async def main() -> T:
        clock = Clock()
        one, two = await asyncio.gather(
            Store.open(url, owner="one", clock=clock), Store.open(url, owner="two", clock=clock)
        )
        try:
            return await test(one, two, clock)
        finally:
            await one.close()
            await two.close()

    return asyncio.run(main())


def record(task_id: str = "t-1", **extra: Any) -> TaskRecord:
    fields = {"session_id": "s-1", "channel": "C1", "user_id": "U1", "thread_ts": "1.1"}
    return TaskRecord(task_id=task_id, **{**fields, **extra})


def test_a_request_key_is_first_once_across_processes(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> list[bool]:
        keys = ["command:1", "command:1", "view:V1", "view:V1"]
        return await asyncio.gather(
            *(s.first(k) for s, k in zip([one, two] * 2, keys, strict=True))
        )

    assert sorted(run(database_url, test)) == [False, False, True, True]


def test_one_task_per_request_id(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> tuple[bool, bool, bool]:
        first = await one.add_task(record("t-1", request_id="r1"))
        again = await two.add_task(record("t-1", request_id="r1"))
        other_task_same_request = await two.add_task(record("t-2", request_id="r1"))
        return first, again, other_task_same_request

    assert run(database_url, test) == (True, False, False)


def test_one_process_reports_a_result_and_a_dead_ones_claim_runs_out(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        await one.add_task(record())
        claims = await asyncio.gather(*(s.claim_report("t-1", 60) for s in [one, two] * 10))
        wins = [claim is Claim.HELD for claim in claims]
        assert sum(wins) == 10 and all(wins[i] == wins[0] for i in range(0, 20, 2))
        winner, loser = (one, two) if wins[0] else (two, one)
        clock.now += 59
        assert not await loser.claim_report("t-1", 60)  # the winner may still be posting
        clock.now += 2  # it died: its claim ran out, perhaps after it posted
        assert await loser.claim_report("t-1", 60) is Claim.TAKEN_OVER
        assert await loser.claim_report("t-1", 60) is Claim.HELD  # renewed
        await loser.reported("t-1", "finished")
        clock.now += 1000
        assert not await winner.claim_report("t-1", 60)
        assert not await loser.claim_report("t-1", 60)
        found = await one.task("t-1")
        assert found is not None and found.reported_at is not None and found.status == "finished"

    run(database_url, test)


def test_a_failed_report_is_released_for_the_next_try(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        await one.add_task(record())
        assert await one.claim_report("t-1", 60)
        await one.release_report("t-1")
        assert await two.claim_report("t-1", 60)

    run(database_url, test)


def test_one_follower_renews_its_lease_and_another_takes_over_when_it_stops(
    database_url: str,
) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        await one.add_task(record())
        assert await one.claim_follow("t-1", 30)
        assert not await two.claim_follow("t-1", 30)
        assert await two.unreported(unfollowed=True) == []
        clock.now += 20
        assert await one.claim_follow("t-1", 30)  # renewed
        clock.now += 20
        assert not await two.claim_follow("t-1", 30)
        clock.now += 11  # one stopped renewing
        assert await two.unreported(unfollowed=True) == ["t-1"]
        assert await two.claim_follow("t-1", 30)
        assert not await one.claim_follow("t-1", 30)  # and one knows it lost it
        await two.release_all()  # a clean shutdown hands it on at once
        assert await one.claim_follow("t-1", 30)
        await one.reported("t-1", "stopped")
        assert not await one.claim_follow("t-1", 30)
        assert await one.unreported() == []

    run(database_url, test)


def test_each_step_is_shown_by_one_process(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> list[bool | None]:
        await one.add_task(record())
        return [
            await one.show_progress("t-1", "started:1", 7),
            await two.show_progress("t-1", "started:1", 7),  # nothing new
            await two.show_progress("t-1", "started:2", 7),
            await one.show_progress("t-1", "started:2", 7),
            await one.show_progress("t-1", "started:2", 8),  # only the refresh is due
            await two.show_progress("t-1", "started:2", 8),
        ]

    assert run(database_url, test) == [True, None, True, None, False, None]


def test_a_status_message_and_a_thread_session_are_remembered(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        await one.add_task(record(thread_session=True))
        await one.set_status_message("t-1", "2.2", "1.1")
        found = await two.task("t-1")
        assert found is not None and (found.status_ts, found.react_ts) == ("2.2", "1.1")
        assert found.thread_session and found.route.thread_ts == "1.1"
        assert await two.thread_session("C1", "1.1") is None
        await one.set_thread_session("C1", "1.1", "s-1")
        await two.set_thread_session("C1", "1.1", "s-2")
        assert await one.thread_session("C1", "1.1") == "s-2"
        assert await one.has_tasks()

    run(database_url, test)


def test_a_browser_is_at_work_while_a_recent_task_in_it_is_unreported(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        now = clock.now
        await one.add_task(record("t-1", session_id="s-1", created_at=now - 60))
        await one.add_task(record("t-2", session_id="s-2", created_at=now - 60))
        await one.add_task(record("t-3", session_id="s-3", created_at=now - 7 * 3600))
        await one.reported("t-2", "finished")
        # t-3 is too old to count: its browser may be idle, and is read to find out.
        assert await two.busy_sessions(since=now - 6 * 3600) == {"s-1"}

    run(database_url, test)


def test_a_waiting_follow_up_outlives_its_process_and_starts_once(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        follow_up = FollowUp(
            channel="C1", thread_ts="1.1", user_id="U1", text="and then", ts="1.5", session_id="s"
        )
        queued = await one.queue_follow_up(follow_up, 30)
        assert await two.claim_follow_ups(30) == []
        clock.now += 20
        assert await one.hold_follow_up(queued, 30)
        clock.now += 31  # one died
        (taken,) = await two.claim_follow_ups(30)
        assert taken.id == queued and taken.text == "and then"
        assert not await one.hold_follow_up(queued, 30)
        assert await two.start_follow_up(queued)
        assert not await one.start_follow_up(queued)
        clock.now += 100
        assert await one.claim_follow_ups(30) == []

    run(database_url, test)


def test_live_processes_are_counted_by_their_heartbeat(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> list[int]:
        counts = [await one.heartbeat(5), await two.heartbeat(5)]
        clock.now += 6 * 5
        counts.append(await two.heartbeat(5))  # one is late by five beats: slow, still counted
        clock.now += 5 * 5
        counts.append(await two.heartbeat(5))  # ten beats missed: it is gone
        await two.release_all()  # two stops cleanly: gone at once
        counts.append(await one.heartbeat(5))
        return counts

    assert run(database_url, test) == [1, 2, 2, 1, 1]


def test_old_request_keys_are_forgotten(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> tuple[int, bool]:
        await one.first("old")
        clock.now += 90_000
        gone = await one.prune(older_than=86_400)
        return gone, await two.first("old")

    assert run(database_url, test) == (1, True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, "sqlite+aiosqlite:///data/bot.db"),
        ("postgres://u:p@db.example:5432/app", "postgresql+asyncpg://u:p@db.example:5432/app"),
        (
            "postgres://u:p@db.example/app?sslmode=require",
            "postgresql+asyncpg://u:p@db.example/app?ssl=require",
        ),
        ("postgresql://u@/app?host=/run/pg", "postgresql+asyncpg://u@/app?host=%2Frun%2Fpg"),
        ("sqlite:////var/data/bot.db", "sqlite+aiosqlite:////var/data/bot.db"),
    ],
)
def test_database_urls_as_a_paas_gives_them(raw: str | None, expected: str) -> None:
    assert database_url(raw) == expected


def test_the_migrations_build_the_schema_the_code_uses(database_url: str) -> None:
    """Alembic's own comparison: the migrated database and `bot.store`'s tables agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.store.schema import metadata

    async def test(one: Store, two: Store, clock: Clock) -> list[Any]:
        async with one.engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )

    differences = run(database_url, test)
    # SQLite reports no types for some columns it stores alike; only missing or extra columns,
    # tables and indexes matter here.
    assert [d for d in differences if d[0] not in ("modify_type", "modify_nullable")] == []


@pytest.fixture
def second_database_url(
    database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """Another empty database on the same backend as `database_url`."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path}/second.db"
        return
    from tests import databases

    yield from databases.lent_database(request.getfixturevalue("postgres_server"))


def test_a_new_database_gets_the_schema_every_migration_makes(
    database_url: str, second_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A new database is built from `bot.store`'s tables and marked as at the newest migration.
    It must be the database that replaying every migration makes, to the last column default,
    or the next migration would meet one schema in new deployments and another in old ones."""

    async def schemas() -> tuple[dict[str, Any], dict[str, Any]]:
        built = await Store.open(database_url)
        replayed = await Store.open(second_database_url, migrate=False)
        async with replayed.engine.begin() as conn:
            await conn.run_sync(replay_migrations)
        try:
            return await described(built), await described(replayed)
        finally:
            await built.close()
            await replayed.close()

    with caplog.at_level(logging.INFO, logger="alembic"):
        built, replayed = asyncio.run(schemas())
    runs = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Running upgrade")]
    scripts = sorted(MIGRATIONS.glob("versions/0*.py"))
    assert len(runs) == len(scripts) >= 7, runs  # only the replayed one ran them, every one
    assert set(built) >= {"tasks", "schedules", "settings", "logins", "alembic_version"}
    assert built == replayed


def test_a_database_at_an_older_migration_is_upgraded_with_its_rows(database_url: str) -> None:
    """A deployment's existing database runs the migrations it lacks; what it held is kept."""

    async def upgraded() -> TaskRecord | None:
        old = await Store.open(database_url, migrate=False)

        def at_0001(connection: Any) -> None:
            replay_migrations(connection, to="0001")
            connection.execute(
                text(
                    "INSERT INTO tasks (task_id, session_id, team, channel, user_id,"
                    " thread_session, recovered, status, created_at)"
                    " VALUES ('t-old', 's-old', 'T1', 'C1', 'U1', false, false, 'started', 1.0)"
                )
            )

        async with old.engine.begin() as conn:
            await conn.run_sync(at_0001)
        await old.close()
        store = await Store.open(database_url)
        try:
            return await store.task("t-old")
        finally:
            await store.close()

    kept = asyncio.run(upgraded())
    assert kept is not None and (kept.session_id, kept.channel) == ("s-old", "C1")
    assert kept.quiet is False and kept.schedule_id is None  # columns added since, defaulted


async def described(store: Store) -> dict[str, Any]:
    """Every table's columns (type, nullable, default), keys, indexes, and the version row."""

    def describe(connection: Any) -> dict[str, Any]:
        found = sa_inspect(connection)
        tables: dict[str, Any] = {}
        for name in found.get_table_names():
            tables[name] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in found.get_columns(name)
                ],
                "primary key": found.get_pk_constraint(name)["constrained_columns"],
                "foreign keys": found.get_foreign_keys(name),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in found.get_indexes(name)
                ),
                "unique": sorted(
                    tuple(u["column_names"]) for u in found.get_unique_constraints(name)
                ),
            }
        tables["alembic_version"]["rows"] = connection.execute(
            text("SELECT version_num FROM alembic_version")
        ).all()
        return tables

    async with store.engine.connect() as conn:
        return await conn.run_sync(describe)


def test_a_login_name_is_one_per_workspace_and_its_browser_closes_once(database_url: str) -> None:
    from bot.store import Login

    async def test(one: Store, two: Store, clock: Clock) -> None:
        login = Login(team="T1", name="Expenses", owner="U1", profile_id="p-1", shared="me")
        login_id = await one.add_login(login)
        assert login_id is not None
        assert (
            await two.add_login(Login(team="T1", name="expenses", owner="U2", profile_id="p-2"))
            is None
        )
        assert await two.add_login(Login(team="T2", name="Expenses", owner="U3", profile_id="p-3"))
        found = await two.login_named("T1", "EXPENSES")
        assert found is not None and (found.id, found.owner) == (login_id, "U1")
        # One login browser at a time; its ID is kept as soon as it is open.
        assert await one.reserve_login_session(login_id, clock.now + 600, 30)
        assert not await two.reserve_login_session(login_id, clock.now + 600, 30)
        assert await one.set_login_session(login_id, "s-1")
        assert await two.overdue_logins() == []
        clock.now += 31  # its process stopped renewing: overdue, and closed by one process only
        assert await two.overdue_logins() == [login_id]
        closed = await asyncio.gather(
            one.close_login_session(login_id, overdue_only=True),
            two.close_login_session(login_id, overdue_only=True),
        )
        assert [c.session_id for c in closed if c is not None] == ["s-1"]
        # A reservation closed while its browser opened: the browser's ID is not taken.
        assert await one.reserve_login_session(login_id, clock.now + 600, 30)
        assert await two.close_login_session(login_id) is not None
        assert not await one.set_login_session(login_id, "s-2")
        await one.change_login(login_id, cookie_domains=["a.example"], saved_at=clock.now)
        saved = await two.login(login_id, team="T1")
        assert saved is not None and saved.cookie_domains == ("a.example",)
        assert await two.login(login_id, team="T2") is None  # another workspace's ID is nothing
        assert await one.delete_login(login_id) and await one.login(login_id) is None

    run(database_url, test)


def test_what_is_past_the_retention_period_goes_in_batches_and_nothing_newer(
    database_url: str,
) -> None:
    day = 86400.0

    async def test(one: Store, two: Store, clock: Clock) -> None:
        for i in range(7):  # reported 40 days ago: past 30 days' retention
            await one.add_task(record(f"old-{i}", request_id=f"r{i}"))
            await one.reported(f"old-{i}", "finished")
        await one.issue_state("expired", 60)
        await one.issue_state("fresh", 100 * day)
        await one.record(AuditEvent("task.started", actor="U1", task_id="old-0"))
        await one.set_thread_session("C1", "1.1", "s-old")
        clock.now += 40 * day
        await one.set_thread_session("C1", "2.2", "s-new")
        await one.add_task(record("running-for-ages", created_at=clock.now - 40 * day))
        await one.add_task(record("recent"))
        await one.reported("recent", "failed")
        gone = await two.forget_old(30 * day, batch=3)  # three batches of tasks
        await one.record(AuditEvent("task.started", actor="U1", task_id="recent"))
        assert gone == {
            "tasks": 7,
            "threads": 1,
            "oauth_states": 1,
            "approvals": 0,
            "audit": 1,
            "slots": 0,
        }
        assert [e.task_id for e in await one.audit_trail(0)] == ["recent"]
        assert await one.thread_session("C1", "1.1") is None
        assert await one.thread_session("C1", "2.2") == "s-new"
        assert [await one.task(f"old-{i}") for i in range(7)] == [None] * 7
        assert await one.task("recent") is not None
        assert await one.unreported() == ["running-for-ages"]  # never reported: kept
        assert await one.consume_state("fresh")
        assert await two.forget_old(30 * day) == {
            "tasks": 0,
            "threads": 0,
            "oauth_states": 0,
            "approvals": 0,
            "audit": 0,
            "slots": 0,
        }

    run(database_url, test)


def test_a_persons_last_slot_is_taken_once_across_processes_and_comes_back_when_it_ends(
    database_url: str,
) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        taken = await asyncio.gather(
            *(s.take_slot("U1", "v2", running=1, hourly=None) for s in [one, two] * 5)
        )
        (slot,) = [t for t in taken if t is not None]  # ten at once: one wins
        assert await one.slots_in_use("U1") == (1, 1)
        assert await two.take_slot("U2", "v4", running=1, hourly=None) is not None  # another's
        await one.slot_started(slot, "t-1")
        clock.now += 3600  # still running an hour on: still counted
        assert await two.take_slot("U1", "v4", running=1, hourly=None) is None
        await one.add_task(record("t-1"))
        await two.reported("t-1", "finished")  # its end gives the slot back
        again = await two.take_slot("U1", "v4", running=1, hourly=2)
        assert again is not None
        await one.give_back_slot(again)  # it never started: counts for nothing
        assert await one.slots_in_use("U1") == (0, 0)
        # The hour's limit counts what started in the last hour, ended or not.
        for _ in range(2):
            assert await one.take_slot("U1", "v2", running=None, hourly=2) is not None
        assert await two.take_slot("U1", "v2", running=None, hourly=2) is None
        # A slot whose create never finished (its process died) stops counting as running.
        clock.now += 601
        assert await one.slots_in_use("U1") == (0, 2)

    run(database_url, test)


def test_spend_adds_up_by_person_channel_and_workspace(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        cap = {"max_spend_per_person_day": 0.05}
        for task_id, user, channel, cost in (("a", "U1", "C1", 0.03), ("b", "U1", "C2", 0.02)):
            slot = await one.take_slot(
                user, "v2", running=None, hourly=None, channel=channel, caps=cap
            )
            assert slot is not None
            await one.slot_started(slot, task_id)
            await one.add_task(record(task_id, request_id=task_id))
            await two.reported(task_id, "finished", cost)
        spent = await one.spent("U1", "C1")
        assert spent["max_spend_per_person_day"] == 0.05
        assert spent["max_spend_per_channel_day"] == 0.03
        assert spent["max_spend_per_workspace_month"] == 0.05
        assert await two.take_slot("U1", "v2", running=None, hourly=None, caps=cap) is None
        assert await two.take_slot("U2", "v2", running=None, hourly=None, caps=cap) is not None
        clock.now += 86400  # a new day: the day's cap starts again; the month's still counts
        assert await two.take_slot("U1", "v2", running=None, hourly=None, caps=cap) is not None
        month = {"max_spend_per_workspace_month": 0.05}
        assert await two.take_slot("U9", "v2", running=None, hourly=None, caps=month) is None

    run(database_url, test)


def test_an_approval_is_decided_once_across_processes_and_not_after_it_expires(
    database_url: str,
) -> None:
    from bot.store import Approval

    async def test(one: Store, two: Store, clock: Clock) -> None:
        def asked(expires_in: float) -> Approval:
            return Approval("U1", "C1", '{"task": "x"}', "{}", "accurate", clock.now + expires_in)

        first = await one.add_approval(asked(3600))
        won = await asyncio.gather(*(s.decide(first, "U9", True) for s in [one, two] * 5))
        assert sum(won) == 1
        assert (await two.approval(first) or asked(0)).state == "approved"
        late = await one.add_approval(asked(60))
        clock.now += 61
        assert not await two.decide(late, "U9", True)
        assert (await one.approval(late) or asked(0)).state == "pending"

    run(database_url, test)

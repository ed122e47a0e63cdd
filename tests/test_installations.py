"""Many workspaces, the store's part (on SQLite and on a real PostgreSQL): installations kept with
their tokens sealed, found by team or (org-wide) by enterprise, OAuth states good once, a key
rotation with nothing lost, and a request authorized from the stored row."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import select

from bot.sealed import Sealer, SealError, new_key
from bot.store import Store
from bot.store.schema import installations
from handlers.installations import StoreAuthorize, StoreInstallations, StoreStates
from tests.app_process import ROOT

T = TypeVar("T")
TOKEN = "xoxb-1234-5678-secretsecretsecret"


def on_store(database_url: str, work: Callable[[Store], Awaitable[T]]) -> T:
    async def go() -> T:
        store = await Store.open(database_url)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(go())


def installed(team: str | None, enterprise: str | None = None, **extra: Any) -> Installation:
    return Installation(
        app_id="A0TEST",
        enterprise_id=enterprise,
        team_id=team,
        bot_token=TOKEN + (team or enterprise or ""),
        bot_id="B0TEST",
        bot_user_id="UBOT",
        bot_scopes=["chat:write", "commands"],
        user_id="UINSTALLER",
        is_enterprise_install=extra.pop("is_enterprise_install", False),
        **extra,
    )


def test_an_installation_is_kept_sealed_and_found_by_its_tenant(database_url: str) -> None:
    sealer = Sealer(new_key())

    async def work(store: Store) -> None:
        kept = StoreInstallations(store, sealer)
        await kept.async_save(installed("T1"))
        await kept.async_save(installed(None, "E1", is_enterprise_install=True))
        async with store.engine.connect() as conn:
            raw = [row.bot_token for row in await conn.execute(select(installations))]
        assert len(raw) == 2 and not any(TOKEN in value for value in raw)  # sealed at rest
        bot = await kept.async_find_bot(enterprise_id=None, team_id="T1")
        assert bot is not None and bot.bot_token == TOKEN + "T1"
        assert bot.bot_scopes == ["chat:write", "commands"]
        # An org-wide install is the enterprise's: found with is_enterprise_install, from any
        # of its teams; not as a team's own.
        org = await kept.async_find_bot(
            enterprise_id="E1", team_id="T9", is_enterprise_install=True
        )
        assert org is not None and org.bot_token == TOKEN + "E1"
        assert await kept.async_find_bot(enterprise_id="E1", team_id="T9") is None
        assert await kept.async_find_bot(enterprise_id=None, team_id="T2") is None
        await kept.async_delete_all(enterprise_id=None, team_id="T1")
        assert await kept.async_find_bot(enterprise_id=None, team_id="T1") is None

    on_store(database_url, work)


def test_a_key_rotation_loses_no_installation(database_url: str) -> None:
    old, new = new_key(), new_key()

    async def work(store: Store) -> None:
        await StoreInstallations(store, Sealer(old)).async_save(installed("T1"))
        # ENCRYPTION_KEYS=new,old: the new key seals, both open; `python -m bot rekey` reseals.
        both = Sealer(f"{new},{old}")
        assert await store.reseal(both.reseal) == 1
        bot = await StoreInstallations(store, Sealer(new)).async_find_bot(
            enterprise_id=None, team_id="T1"
        )
        assert bot is not None and bot.bot_token == TOKEN + "T1"  # the old key can go
        with pytest.raises(SealError):
            await StoreInstallations(store, Sealer(old)).async_find_bot(
                enterprise_id=None, team_id="T1"
            )

    on_store(database_url, work)


def test_an_oauth_state_is_good_once_and_not_after_it_expires(database_url: str) -> None:
    async def work(store: Store) -> None:
        states = StoreStates(store)
        state = await states.async_issue()
        assert await states.async_consume(state)
        assert not await states.async_consume(state)  # a replayed redirect
        assert not await states.async_consume("made-up")
        stale = await StoreStates(store, seconds=-1).async_issue()
        assert not await states.async_consume(stale)

    on_store(database_url, work)


def test_a_request_is_authorized_from_the_stored_row(database_url: str) -> None:
    async def work(store: Store) -> None:
        kept = StoreInstallations(store, Sealer(new_key()))
        await kept.async_save(installed("T1"))
        authorize = StoreAuthorize(kept.async_find_bot)
        context = AsyncBoltContext()
        found = await authorize(context=context, enterprise_id=None, team_id="T1", user_id="U1")
        assert found is not None
        assert (found.bot_token, found.bot_user_id, found.user_id) == (TOKEN + "T1", "UBOT", "U1")
        nobody = await authorize(context=context, enterprise_id=None, team_id="T2", user_id="U1")
        assert nobody is None

    on_store(database_url, work)


def test_keys_that_are_not_fernet_keys_are_refused() -> None:
    with pytest.raises(SealError):
        Sealer("not-a-key")
    with pytest.raises(SealError):
        Sealer(" , ")


def test_the_rekey_command_reseals_every_token_and_changes_nothing_it_cannot_open(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    old, new, stranger = new_key(), new_key(), new_key()

    async def install(store: Store) -> None:
        await StoreInstallations(store, Sealer(old)).async_save(installed("T1"))

    on_store(url, install)

    def rekey(keys: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "DATABASE_URL": url}
        env["ENCRYPTION_KEYS"] = keys
        return subprocess.run(
            [sys.executable, "-m", "bot", "rekey"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = rekey(stranger)  # a key that opens nothing: nothing changes
    assert refused.returncode == 1 and "nothing was changed" in refused.stderr
    assert TOKEN not in refused.stderr + refused.stdout
    done = rekey(f"{new},{old}")
    assert done.returncode == 0 and "Sealed 1 secret" in done.stdout

    async def read(store: Store) -> str | None:
        bot = await StoreInstallations(store, Sealer(new)).async_find_bot(
            enterprise_id=None, team_id="T1"
        )
        return bot.bot_token if bot else None

    assert on_store(url, read) == TOKEN + "T1"

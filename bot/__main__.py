"""`python -m bot`: read the settings, then serve HTTP on $PORT, or run Socket Mode."""

from __future__ import annotations

import asyncio
import sys

from bot.config import ConfigError, load_settings, load_store_settings
from bot.logs import configure

USAGE = "usage: python -m bot [migrate | keygen | rekey]"


def main(argv: list[str] | None = None) -> int:
    """`python -m bot` serves; `python -m bot migrate` only brings the store's schema up to date
    (a release step on a PaaS; serving does it too, so it is optional). `keygen` prints a new
    key for `ENCRYPTION_KEYS`; `rekey` seals every secret the store keeps again under its first
    key (`bot.sealed`), after which the others can be dropped."""
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["migrate"], ["keygen"], ["rekey"]):
        print(USAGE, file=sys.stderr)
        return 2
    if args == ["keygen"]:
        from bot.sealed import new_key

        print(new_key())
        return 0
    if args == ["rekey"]:
        return rekey()
    if args == ["migrate"]:
        return migrate()
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure(settings.log_level, settings.log_format)
    from bot.server import run  # the app itself: imported once the settings are known good

    asyncio.run(run(settings))
    return 0


def migrate() -> int:
    """The store's schema brought up to date: only the database is needed (a release phase may
    run before the Slack and Browser Use variables are set)."""
    try:
        url, level, fmt = load_store_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure(level, fmt)
    from bot.store import main_migrate

    asyncio.run(main_migrate(url))
    return 0


def rekey() -> int:
    from bot.config import load_secrets_settings
    from bot.sealed import Sealer, SealError
    from bot.store import Store

    try:
        url, keys = load_secrets_settings()
        sealer = Sealer(keys)
    except (ConfigError, SealError) as exc:
        print(f"Cannot rekey: {exc}", file=sys.stderr)
        return 2

    async def go() -> int:
        store = await Store.open(url)
        try:
            return await store.reseal(sealer.reseal)
        finally:
            await store.close()

    try:
        done = asyncio.run(go())
    except SealError as exc:
        print(f"Cannot rekey: a stored secret: {exc}; nothing was changed", file=sys.stderr)
        return 1
    print(f"Sealed {done} secret(s) again under the first key of ENCRYPTION_KEYS.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

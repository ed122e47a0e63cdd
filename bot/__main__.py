"""`python -m bot`: read the settings, then serve HTTP on $PORT, or run Socket Mode."""

from __future__ import annotations

import asyncio
import logging
import sys

from bot.config import ConfigError, load_settings

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
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    # A live view link is masked in every log line, whichever library logs it.
    from bot.redact import install

    install()
    if settings.log_level != "DEBUG":
        # httpx logs every URL at INFO, presigned download links (credentials) included.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    # aiosqlite logs every statement with its values at DEBUG, a workflow token among them.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    # httpcore traces each step of every HTTP request at DEBUG (ten lines a request), which
    # buried the app's, Bolt's and the Slack SDK's own DEBUG lines; httpx's line per request
    # (its URL and status) stays.
    logging.getLogger("httpcore").setLevel(logging.INFO)
    if args == ["migrate"]:
        from bot.store import main_migrate

        asyncio.run(main_migrate(settings.database_url.get_secret_value()))
        return 0
    from bot.server import run  # the app itself: imported once the settings are known good

    asyncio.run(run(settings))
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

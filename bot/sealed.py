"""Secrets at rest: what the store keeps of a workspace's bot token or Browser Use key is sealed
with `ENCRYPTION_KEYS` (cryptography's MultiFernet: authenticated encryption, versioned).

`ENCRYPTION_KEYS` is a comma-separated list of Fernet keys (`python -m bot keygen` makes one).
The first seals; every one opens. To retire a key: put a new one first, run `python -m bot
rekey` (every sealed value is sealed again under the first key), then drop the old one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SealError(Exception):
    """A sealed value no key opens (its key was dropped), or keys that are not Fernet keys.
    Data only: never the value."""


def new_key() -> str:
    return Fernet.generate_key().decode()


class Sealer:
    def __init__(self, keys: str):
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise SealError("no key")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except (ValueError, TypeError):
            raise SealError("not a Fernet key (32 url-safe base64-encoded bytes)") from None

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SealError("no key in ENCRYPTION_KEYS opens it") from None

    def reseal(self, sealed: str) -> str:
        """The same secret, sealed under the first key."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise SealError("no key in ENCRYPTION_KEYS opens it") from None

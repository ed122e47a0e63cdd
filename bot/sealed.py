"""Secrets at rest: what the store keeps of a workspace's bot token or Browser Use key is sealed
with `ENCRYPTION_KEYS` (cryptography's MultiFernet: authenticated encryption, versioned).

`ENCRYPTION_KEYS` is a comma-separated list of Fernet keys (`python -m bot keygen` makes one).
The first seals; every one opens. To retire a key: put a new one first, run `python -m bot
rekey` (every sealed value is sealed again under the first key), then drop the old one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

# `cryptography` is imported when a Sealer is first made, not with this module: a deployment
# serving one workspace never seals anything, and the library costs a process 7 MB.


class SealError(Exception):
    """A sealed value no key opens (its key was dropped), or keys that are not Fernet keys.
    Data only: never the value."""


def new_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


class Sealer:
    def __init__(self, keys: str):
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise SealError("no key")
        from cryptography.fernet import Fernet, InvalidToken, MultiFernet

        self._invalid = InvalidToken
        self._fernet: MultiFernet
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except (ValueError, TypeError):
            raise SealError("not a Fernet key (32 url-safe base64-encoded bytes)") from None

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except self._invalid:
            raise SealError("no key in ENCRYPTION_KEYS opens it") from None

    def reseal(self, sealed: str) -> str:
        """The same secret, sealed under the first key."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except self._invalid:
            raise SealError("no key in ENCRYPTION_KEYS opens it") from None

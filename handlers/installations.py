"""Many workspaces: Slack's installations kept in the app's own store, tokens sealed.

`StoreInstallations` and `StoreStates` are what Bolt's OAuth flow (`AsyncOAuthSettings`) saves
to and reads from; `StoreAuthorize` is how each request finds its workspace's bot token: the
stored row, never an `auth.test` per request (notes §12). The tenant is the enterprise for an
org-wide install, else the team.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any, Protocol

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.sealed import Sealer
from bot.store import Store
from bot.workspaces import Workspaces

log = logging.getLogger(__name__)

# The bot scopes "Add to Slack" asks for: manifest.yaml's (a test holds them equal).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "files:write",
    "files:read",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "app_mentions:read",
    "reactions:write",
    "assistant:write",
    "users:read",
)


def tenant_of(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool) -> str:
    """Whose row: the enterprise for an org-wide install, else the team."""
    key = enterprise_id if is_enterprise_install else team_id
    if not key:
        raise ValueError("neither a team nor an enterprise")
    return key


class StoreInstallations(AsyncInstallationStore):
    """Bot installations only (the app asks for no user tokens)."""

    def __init__(self, store: Store, sealer: Sealer):
        self.store = store
        self.sealer = sealer

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        if not installation.bot_token:
            return  # a user-only install: nothing the app uses
        enterprise_install = bool(installation.is_enterprise_install)
        refresh = installation.bot_refresh_token
        await self.store.save_installation(
            {
                "tenant": tenant_of(
                    installation.enterprise_id, installation.team_id, enterprise_install
                ),
                "enterprise_id": installation.enterprise_id,
                "team_id": None if enterprise_install else installation.team_id,
                "is_enterprise_install": enterprise_install,
                "app_id": installation.app_id,
                "bot_id": installation.bot_id,
                "bot_user_id": installation.bot_user_id,
                "bot_scopes": ",".join(installation.bot_scopes or []),
                "bot_token": self.sealer.seal(installation.bot_token),
                "bot_refresh_token": self.sealer.seal(refresh) if refresh else None,
                "bot_token_expires_at": installation.bot_token_expires_at,
                "installer": installation.user_id,
                "installed_at": time.time(),
            }
        )

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        try:
            tenant = tenant_of(enterprise_id, team_id, bool(is_enterprise_install))
        except ValueError:
            return None
        row = await self.store.installation(tenant)
        if row is None:
            return None
        refresh = row["bot_refresh_token"]
        return bot_of(
            row, self.sealer.open(row["bot_token"]), self.sealer.open(refresh) if refresh else None
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        bot = await self.async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if bot is None or user_id is not None:
            return None  # no user tokens are kept
        return Installation(
            app_id=bot.app_id,
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            bot_refresh_token=bot.bot_refresh_token,
            bot_token_expires_at=bot.bot_token_expires_at,
            is_enterprise_install=bot.is_enterprise_install,
            user_id="",
            installed_at=bot.installed_at,
        )

    async def async_delete_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool = False
    ) -> None:
        try:
            tenant = tenant_of(enterprise_id, team_id, is_enterprise_install)
        except ValueError:
            return
        await self.store.delete_installation(tenant)

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool = False,
    ) -> None:
        if user_id is None:
            await self.async_delete_bot(
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=is_enterprise_install,
            )

    async def async_delete_all(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool = False
    ) -> None:
        await self.async_delete_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )


class StoreStates(AsyncOAuthStateStore):
    """The OAuth flow's states in the store: any process may finish an install another began,
    each state once, within `seconds`."""

    def __init__(self, store: Store, seconds: float = 600.0):
        self.store = store
        self.seconds = seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        await self.store.issue_state(state, self.seconds)
        return state

    async def async_consume(self, state: str) -> bool:
        return await self.store.consume_state(state[:64])


def bot_of(row: dict[str, Any], token: str, refresh: str | None = None) -> Bot:
    """The bot of a stored installation, with its tokens opened."""
    return Bot(
        app_id=row["app_id"],
        enterprise_id=row["enterprise_id"],
        team_id=row["team_id"],
        bot_token=token,
        bot_id=row["bot_id"],
        bot_user_id=row["bot_user_id"],
        bot_scopes=row["bot_scopes"] or "",
        bot_refresh_token=refresh,
        bot_token_expires_at=row["bot_token_expires_at"],
        is_enterprise_install=row["is_enterprise_install"],
        installed_at=row["installed_at"],
    )


class FindBot(Protocol):
    async def __call__(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> Bot | None: ...


def bots_of(workspaces: Workspaces) -> FindBot:
    """A request's bot, from its workspace's world: made, or checked current, with the one read
    of the store a request makes (the Bolt middleware then finds the world kept)."""

    async def find_bot(
        *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> Bot | None:
        try:
            tenant = tenant_of(enterprise_id, team_id, bool(is_enterprise_install))
        except ValueError:
            return None
        workspace = await workspaces.get(tenant)
        found = workspace.credentials if workspace else None
        return bot_of(found.installation, found.bot_token) if found else None

    return find_bot


class StoreAuthorize(AsyncAuthorize):
    """A request's workspace, from the stored installation: its bot token and who the bot is
    (`find_bot`: `StoreInstallations.async_find_bot`, or `bots_of` the workspaces)."""

    def __init__(self, find_bot: FindBot):
        super().__init__()
        self.find_bot = find_bot

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        bot = await self.find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=context.is_enterprise_install,
        )
        if bot is None:
            return None
        return AuthorizeResult(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )

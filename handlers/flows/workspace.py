"""Many workspaces: the install's ends (the installer's DM and App Home, or a page saying what
went wrong), Browser Use connected and disconnected, and a workspace forgotten when the app is
uninstalled."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import Account
from bot.browser_use import AuthError, BrowserUseClient, BrowserUseError, RetryPolicy
from bot.store import Store
from bot.workspaces import Workspaces
from handlers.installations import tenant_of
from handlers.slack_io import dm
from handlers.views import workspace as views

log = logging.getLogger(__name__)

# "Add to Slack", and where Slack sends the installer back (Bolt's defaults, named here).
INSTALL_PATH = "/slack/install"
OAUTH_REDIRECT_PATH = "/slack/oauth_redirect"
# The longest a key's check may take: it runs before the form's ack (3 seconds).
KEY_CHECK_SECONDS = 2.0


def install_callbacks(slack_api_url: str, store: Store) -> AsyncCallbackOptions:
    """What the browser gets at the end of "Add to Slack"."""

    async def installed(args: AsyncSuccessArgs) -> BoltResponse:
        """Saved (by Bolt, in the store): the installer is told to connect Browser Use, and the
        browser goes to the app's Home tab in Slack."""
        found = args.installation
        tenant = tenant_of(found.enterprise_id, found.team_id, found.is_enterprise_install)
        log.info("workspace.installed tenant=%s by=%s", tenant, found.user_id)
        if await store.workspace_key(tenant) is None:  # a reinstall may have one already
            # A client of its own (it opens and closes a connection per call): installs are rare.
            client = AsyncWebClient(token=found.bot_token, base_url=slack_api_url, timeout=5)
            await dm(client, found.user_id, views.installed_dm())
        team = found.team_id or found.enterprise_id or ""
        home = f"slack://app?team={team}&id={found.app_id}&tab=home"
        return BoltResponse(status=302, body="", headers={"Location": home})

    async def not_installed(args: AsyncFailureArgs) -> BoltResponse:
        log.warning("workspace.install_failed reason=%s", args.reason)
        return BoltResponse(
            status=args.suggested_status_code,
            body=views.install_failed_page(args.reason, INSTALL_PATH),
            headers={"Content-Type": "text/html; charset=utf-8"},
        )

    return AsyncCallbackOptions(success=installed, failure=not_installed)


def tenant_of_request(context: Any) -> str | None:
    try:
        return tenant_of(
            context.enterprise_id, context.team_id, bool(context.is_enterprise_install)
        )
    except ValueError:
        return None


async def check_key(workspaces: Workspaces, key: str) -> Account | str:
    """The key's account at Browser Use (`GET /billing/account`), or why it cannot be used (a
    sentence for under the field)."""
    settings = workspaces.settings
    client = BrowserUseClient(
        key, settings.browser_use_api_url, timeout=KEY_CHECK_SECONDS, retry=RetryPolicy(0.1, 0.2, 0)
    )
    try:
        return await asyncio.wait_for(client.get_account(), KEY_CHECK_SECONDS)
    except AuthError:
        return "Browser Use does not accept this key: it may be mistyped or revoked."
    except (BrowserUseError, asyncio.TimeoutError) as exc:
        log.warning("workspace.key_check_failed error=%s", type(exc).__name__)
        return "Browser Use could not be reached to check the key. Try again in a minute."
    finally:
        await client.aclose()


async def connect(
    workspaces: Workspaces, tenant: str, user: str, key: str, account: Account
) -> None:
    """Keep the key (sealed); every process makes the workspace's world with it."""
    assert workspaces.sealer is not None
    await workspaces.store.connect_key(
        tenant, workspaces.sealer.seal(key), account.project_id, user
    )
    await workspaces.get(tenant)
    log.info("workspace.connected tenant=%s by=%s", tenant, user)


async def disconnect(workspaces: Workspaces, tenant: str, user: str) -> None:
    await workspaces.store.disconnect_key(tenant)
    await workspaces.get(tenant)
    log.info("workspace.disconnected tenant=%s by=%s", tenant, user)


async def forget(workspaces: Workspaces, tenant: str, why: str) -> None:
    """The app is gone from the workspace: the browsers it keeps open there are closed (with its
    own key), then everything of it is deleted, and no process serves it any more. Safe to
    repeat, in any order, in any process: the second time there is nothing left."""
    found = await workspaces.credentials(tenant)
    if found is not None and found.api_key:
        browser_use = BrowserUseClient(found.api_key, workspaces.settings.browser_use_api_url)
        try:
            for session_id in await workspaces.store.scoped(tenant).kept_sessions():
                try:
                    await browser_use.stop_session(session_id)
                except BrowserUseError as exc:
                    log.warning("workspace.session_not_closed error=%s", type(exc).__name__)
        finally:
            await browser_use.aclose()
    gone = await workspaces.store.forget_workspace(tenant)
    await workspaces.drop(tenant, release=False)
    if gone:
        log.info("workspace.forgotten tenant=%s why=%s rows=%d", tenant, why, gone)

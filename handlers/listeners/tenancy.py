"""Many workspaces: each request finds its workspace's world (a middleware, after Bolt's
authorization); until the workspace connects Browser Use, every entry point answers privately
with where to connect and starts nothing; Connect Browser Use in App Home; and the app
forgotten where it is uninstalled."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import Account
from bot.deps import Deps
from bot.workspaces import CURRENT, Workspaces, current
from handlers.access import is_admin
from handlers.flows.home import publish_home
from handlers.flows.modals import form_values
from handlers.flows.workspace import check_key, connect, disconnect, forget, tenant_of_request
from handlers.ids import Action, Callback
from handlers.listeners import PerRequest, bind
from handlers.slack_io import (
    SLACK_ERRORS,
    open_for_admin,
    open_view,
    respond_ephemeral,
    tell_clicker,
)
from handlers.views import messages
from handlers.views import workspace as views

log = logging.getLogger(__name__)

# What Slack sends that needs no Browser Use key: Home, connecting, and the app's removal.
UNINSTALLED = frozenset({"app_uninstalled", "tokens_revoked", "team_access_revoked"})
WITHOUT_KEY_EVENTS = frozenset({"app_home_opened"}) | UNINSTALLED
WITHOUT_KEY_ACTIONS = frozenset({Action.OPEN_CONNECT, Action.DISCONNECT})
WITHOUT_KEY_VIEWS = frozenset({Callback.CONNECT_BROWSER_USE})
ONLY_ADMINS = (
    "Only the admins and owners of this install (of the whole organisation, for an org-wide "
    "install) can connect or disconnect Browser Use."
)


def needs_key(body: dict[str, Any]) -> bool:
    kind = body.get("type")
    if kind == "event_callback":
        return (body.get("event") or {}).get("type") not in WITHOUT_KEY_EVENTS
    if kind == "block_actions":
        return any(a.get("action_id") not in WITHOUT_KEY_ACTIONS for a in body.get("actions", []))
    if kind in ("view_submission", "view_closed"):
        return (body.get("view") or {}).get("callback_id") not in WITHOUT_KEY_VIEWS
    return True  # commands, shortcuts


def workspace_middleware(
    workspaces: Workspaces,
) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def choose_workspace(
        context: AsyncBoltContext,
        body: dict[str, Any],
        client: AsyncWebClient,
        next: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        event = body.get("event") or {}
        if body.get("type") == "event_callback" and event.get("type") in UNINSTALLED:
            await next()  # the workspace may be gone already: its listener needs none
            return None
        tenant = tenant_of_request(context)
        # Bolt's authorize made (or checked) the world for this request: no second read.
        workspace = (workspaces.kept(tenant) if tenant else None) or await workspaces.get(tenant)
        if workspace is None:
            log.warning("workspace.unknown team=%s: the request is dropped", context.team_id)
            return BoltResponse(status=200, body="")
        CURRENT.set(workspace)
        if workspace.deps.connected or not needs_key(body):
            await next()
            return None
        return await not_connected(workspace.deps, client, body)

    return choose_workspace


async def not_connected(deps: Deps, client: AsyncWebClient, body: dict[str, Any]) -> BoltResponse:
    """Answer privately (where to connect, and who can); nothing is started."""
    user = str(
        body.get("user_id")
        or (body.get("user") or {}).get("id")
        or (body.get("event") or {}).get("user")
        or ""
    )

    async def tell() -> None:
        text = views.not_connected_text(await is_admin(deps, client, user))
        event = body.get("event") or {}
        if body.get("command"):
            await respond_ephemeral(
                body.get("response_url"), messages.ephemeral(messages.notice(text))
            )
        elif event.get("type") == "function_executed":
            await client.functions_completeError(
                function_execution_id=str(event.get("function_execution_id")), error=text
            )
        elif event.get("channel") and user:
            await client.chat_postEphemeral(
                channel=str(event["channel"]),
                user=user,
                text=text,
                thread_ts=event.get("thread_ts"),
            )
        elif body.get("trigger_id") and body.get("type") != "view_submission":
            await open_view(client, str(body["trigger_id"]), notice_modal(text))
        else:
            await respond_ephemeral(
                body.get("response_url"), messages.ephemeral(messages.notice(text))
            )

    async def guarded() -> None:
        try:
            await tell()
        except SLACK_ERRORS as exc:
            log.warning("slack.not_connected_notice failed: %s", type(exc).__name__)

    deps.inflight.spawn(guarded)
    if body.get("type") == "view_submission":
        return BoltResponse(
            status=200,
            body={
                "response_action": "update",
                "view": notice_modal(views.not_connected_text(False)),
            },
        )
    return BoltResponse(status=200, body="")


def notice_modal(text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Browser Use"},
        "close": {"type": "plain_text", "text": "OK"},
        "blocks": [messages.notice(text)["blocks"][0]],
    }


async def handle_open_connect(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Open Connect Browser Use (or Replace the key), for an admin."""
    await ack()

    async def view() -> dict[str, Any]:
        return views.connect_form()

    deps.inflight.spawn(lambda: open_for_admin(deps, client, body, view, ONLY_ADMINS))


async def handle_connect(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    *,
    deps: Deps,
    workspaces: Workspaces,
) -> None:
    """The key is checked with Browser Use before the ack: a bad one is refused under the field,
    and nothing is saved."""
    user = str(body["user"]["id"])
    key = str(form_values(view.get("state", {})).get(views.KEY_BLOCK) or "").strip()
    refused: str | None = None
    account: Account | str | None = None
    if not await is_admin(deps, client, user, org=True):
        refused = ONLY_ADMINS
    elif not key:
        refused = "Paste the API key."
    else:
        account = await check_key(workspaces, key)
        if isinstance(account, str):
            refused = account
    if refused is not None or not isinstance(account, Account):
        await ack(response_action="errors", errors={views.KEY_BLOCK: refused or "Try again."})
        return
    await ack()
    tenant = deps.tenant
    assert tenant is not None

    async def save() -> None:
        await connect(workspaces, tenant, user, key, account)
        await publish_home(
            current_or(deps, workspaces, tenant),
            client,
            user,
            note=":white_check_mark: Browser Use is connected.",
        )

    deps.inflight.spawn(save)


def current_or(deps: Deps, workspaces: Workspaces, tenant: str) -> Deps:
    """The workspace's world as it is now (made again with the new key), else `deps`."""
    kept = workspaces.kept(tenant)
    return kept.deps if kept is not None else deps


async def handle_disconnect(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    *,
    deps: Deps,
    workspaces: Workspaces,
) -> None:
    await ack()
    user = str(body["user"]["id"])
    tenant = deps.tenant
    assert tenant is not None

    async def work() -> None:
        if not await is_admin(deps, client, user, org=True):
            await tell_clicker(client, body, ONLY_ADMINS)
            return
        await disconnect(workspaces, tenant, user)
        await publish_home(
            current_or(deps, workspaces, tenant), client, user, note="Browser Use is disconnected."
        )

    deps.inflight.spawn(work)


async def handle_uninstalled(
    body: dict[str, Any],
    event: dict[str, Any],
    context: AsyncBoltContext,
    *,
    workspaces: Workspaces,
) -> None:
    """`app_uninstalled` and `tokens_revoked` (its bot token): the workspace is forgotten.
    `team_access_revoked` (an org app removed from some of its teams): each of those teams'
    own install, if it has one; an org-wide install stays the org's."""
    kind = str(event.get("type"))
    if kind == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
        return  # only user tokens: the app keeps none
    if kind == "team_access_revoked":
        tenants = [str(t) for t in event.get("team_ids") or []]
    else:
        tenant = tenant_of_request(context) or body.get("team_id")
        tenants = [str(tenant)] if tenant else []

    async def work() -> None:
        for tenant in tenants:
            await forget(workspaces, tenant, kind)

    # An event is answered once its listener returns: the browsers are closed after.
    workspaces.inflight.spawn(work)


async def handle_uninstalled_one(event: dict[str, Any], *, deps: Deps) -> None:
    """One workspace (`SLACK_BOT_TOKEN`): its token no longer works; the deployment is the
    operator's to stop (its store is theirs to delete)."""
    del deps
    log.warning("workspace.uninstalled event=%s: the bot token no longer works", event.get("type"))


def register_one(app: AsyncApp, deps: Deps) -> None:
    for kind in sorted(UNINSTALLED):
        app.event(kind)(bind(handle_uninstalled_one, deps))


def register(app: AsyncApp, workspaces: Workspaces) -> None:
    app.use(workspace_middleware(workspaces))
    deps = PerRequest(current)
    app.action(Action.OPEN_CONNECT)(bind(handle_open_connect, deps))
    app.view(Callback.CONNECT_BROWSER_USE)(bind(handle_connect, deps, workspaces=workspaces))
    app.action(Action.DISCONNECT)(bind(handle_disconnect, deps, workspaces=workspaces))
    for kind in sorted(UNINSTALLED):
        app.event(kind)(bind(handle_uninstalled, None, workspaces=workspaces))

"""Saved logins: the form that saves one, the buttons of its login browser (I'm logged in,
Cancel), and those of `/browser-use logins` and App Home (Add, Log in again, Delete)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.store import Login
from handlers.access import is_admin
from handlers.errors import VIEW_FAILED, FormErrors, UserInputError, failure_text
from handlers.flows import logins
from handlers.flows.home import publish_home
from handlers.flows.modals import form_values
from handlers.ids import Action, Block, Callback
from handlers.listeners import PerRequest, bind
from handlers.payloads import FormContext, login_id_of
from handlers.slack_io import clicker_reporter, open_view, respond_ephemeral, tell_clicker
from handlers.slack_text import escape
from handlers.views import messages
from handlers.views.logins import edit_login_form, login_form

log = logging.getLogger(__name__)


async def _managed(
    deps: Deps, client: AsyncWebClient, body: dict[str, Any], team: str, user: str
) -> Login | None:
    """The login a button is about, if the clicker owns it or is an admin; else they are told
    why not, and it is None."""
    try:
        return await logins.managed_login(deps, client, team, login_id_of(body), user)
    except UserInputError as exc:
        await tell_clicker(client, body, failure_text(exc))
        return None


def _team(body: dict[str, Any]) -> str:
    return str((body.get("team") or {}).get("id") or body["user"].get("team_id", ""))


async def handle_save_login(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Check the form (the name must be free in the workspace), then make the login and open
    its browser after the ack."""
    user, team = str(body["user"]["id"]), _team(body)
    try:
        login = logins.parse_login_form(form_values(view.get("state", {})), team, user)
    except FormErrors as exc:
        await ack(response_action="errors", errors=exc.errors)
        return
    taken = await deps.store.login_named(team, login.name)
    if taken is not None:
        await ack(
            response_action="errors",
            errors={Block.LOGIN_NAME: "A login of that name exists already. Pick another name."},
        )
        return
    await ack()

    async def save() -> None:
        if login.shared == "workspace" and not await is_admin(deps, client, user):
            log.warning("login.refused user=%s: only admins share with everyone", user)
            await logins.tell(client, user, "Only admins can share a login with everyone.")
            return
        await logins.save_login(deps, client, login)

    deps.inflight.spawn(save)


async def handle_login_browser_button(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """I'm logged in, or Cancel, on the login browser's message (its person's alone)."""
    await ack()
    action = body["actions"][0]
    user = str(body["user"]["id"])

    async def work() -> None:
        login_id = login_id_of(body)
        if action["action_id"] == Action.LOGGED_IN:
            refused = await logins.logged_in(deps, client, login_id, user)
        else:
            refused = await logins.cancel_login(deps, client, login_id, user)
        if refused:
            await tell_clicker(client, body, refused)

    deps.inflight.spawn(work, on_error=clicker_reporter(client, body))


async def handle_manage_login(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Log in again, or Delete, for the login's owner and the admins."""
    await ack()
    action = body["actions"][0]
    user, team = str(body["user"]["id"]), _team(body)
    on_home = (body.get("view") or {}).get("type") == "home"

    async def work() -> None:
        login = await _managed(deps, client, body, team, user)
        if login is None:
            return
        if action["action_id"] == Action.LOGIN_AGAIN:
            await logins.open_login_browser(deps, client, login)
            note = f"A login browser for “{login.name}” is on its way to its owner, in a DM."
        else:
            await logins.delete_login(deps, client, login)
            note = f"“{login.name}” is deleted, at Browser Use too."
        if on_home:
            await publish_home(deps, client, user, note=note)
            return
        channel = str((body.get("channel") or {}).get("id", "")) or None
        listing = await logins.logins_here(deps, client, team, user, channel)
        listing["blocks"].insert(0, messages.notice(note)["blocks"][0])
        await respond_ephemeral(body.get("response_url"), messages.ephemeral(listing))

    deps.inflight.spawn(work, on_error=clicker_reporter(client, body))


async def handle_change_login(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Rename or share…: the form, for the login's owner and the admins."""
    await ack()
    user, team = str(body["user"]["id"]), _team(body)

    async def work() -> None:
        login = await _managed(deps, client, body, team, user)
        if login is None:
            return
        view = edit_login_form(login, admin=await is_admin(deps, client, user))
        if not await open_view(client, body["trigger_id"], view):
            await tell_clicker(client, body, VIEW_FAILED)

    deps.inflight.spawn(work)


async def handle_edit_login(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Save a new name or new sharing: checked again here (the owner or an admin, the name
    free, everyone-sharing for admins), errors under their fields."""
    user, team = str(body["user"]["id"]), _team(body)
    try:
        login = await logins.managed_login(deps, client, team, int(view["private_metadata"]), user)
        values = form_values(view.get("state", {}))
        widens = values.get(Block.LOGIN_SHARED) == "workspace" and login.shared != "workspace"
        if widens and not await is_admin(deps, client, user):
            raise FormErrors({Block.LOGIN_SHARED: "Only admins share with everyone."})
        asked = await logins.asked_change(deps, login, values)
    except FormErrors as exc:
        await ack(response_action="errors", errors=exc.errors)
        return
    except (UserInputError, ValueError):
        await ack(response_action="errors", errors={Block.LOGIN_NAME: "That login is not yours."})
        return
    await ack()

    async def save() -> None:
        await logins.change_login(deps, login, asked, user)
        await publish_home(deps, client, user, note=f"“{escape(asked.name)}” is saved.")

    deps.inflight.spawn(save)


async def handle_add_login(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Logins → Add, on the Home tab: the form (its trigger lasts 3 seconds)."""
    await ack()
    user = str(body["user"]["id"])

    async def work() -> None:
        view = login_form(FormContext(), admin=await is_admin(deps, client, user))
        if not await open_view(client, body["trigger_id"], view):
            await tell_clicker(client, body, VIEW_FAILED)

    deps.inflight.spawn(work)


async def handle_open_login_browser(ack: AsyncAck, *, deps: Deps) -> None:
    """The link button opens the browser in the person's own; Slack still sends the click."""
    await ack()


def register(app: AsyncApp, deps: Deps | PerRequest[Deps]) -> None:
    app.view(Callback.SAVE_LOGIN)(bind(handle_save_login, deps))
    app.view(Callback.EDIT_LOGIN)(bind(handle_edit_login, deps))
    app.action(Action.CHANGE_LOGIN)(bind(handle_change_login, deps))
    for action_id in (Action.LOGGED_IN, Action.CANCEL_LOGIN):
        app.action(action_id)(bind(handle_login_browser_button, deps))
    for action_id in (Action.LOGIN_AGAIN, Action.DELETE_LOGIN):
        app.action(action_id)(bind(handle_manage_login, deps))
    app.action(Action.ADD_LOGIN)(bind(handle_add_login, deps))
    app.action(Action.OPEN_LOGIN_BROWSER)(bind(handle_open_login_browser, deps))

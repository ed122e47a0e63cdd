"""Saved logins: a browser opened for one person to log in, saved as a Browser Use profile when
it closes, and used by later tasks (`--login <name>`) with its profile and its proxy country.

Browser Use's own advice (API notes §13): a profile per login, logged in once by a human through
the live view; the profile is saved only when its browser stops; tasks that use it browse from
the same country. The live view link is a credential: it goes to its person alone, in a DM,
never in a channel, a log line, the store or task metadata.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import replace
from typing import Any
from uuid import UUID

from slack_sdk.web.async_client import AsyncWebClient

from bot.browser_use import BrowserUseError
from bot.deps import Deps
from bot.models import CreateProfileRequest, CreateSessionRequest, CreateTaskRequest
from bot.redact import hide
from bot.store import AuditEvent, Login
from handlers.access import is_admin, may_use_login
from handlers.errors import FormErrors, UserInputError, failure_text
from handlers.flows.submit import Origin, write_audit
from handlers.ids import Block
from handlers.option_values import country, http_url
from handlers.slack_io import SLACK_ERRORS, dm, post
from handlers.slack_text import escape
from handlers.views import logins as views
from handlers.views import messages

log = logging.getLogger(__name__)

CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{1,31}")


async def usable_logins(deps: Deps, team: str, user_id: str, channel_id: str | None) -> list[Login]:
    return [
        login
        for login in await deps.store.logins(team)
        if may_use_login(login, user_id, channel_id)
    ]


async def find_login(
    deps: Deps, team: str, user_id: str | None, channel_id: str | None, name: str
) -> Login:
    """The login `name` that this person (None: nobody in particular) may use here, or a
    `UserInputError` saying why not."""
    login = await deps.store.login_named(team, name)
    if login is None:
        raise UserInputError(
            f"There is no saved login named “{name}”. `/browser-use logins` lists the ones you "
            "may use here."
        )
    if not may_use_login(login, user_id, channel_id):
        if user_id is None:
            raise UserInputError(
                f"“{escape(login.name)}” is <@{login.owner}>'s login, and it is not shared with "
                "this channel, so nothing was started. This workflow step does not know who ran "
                "it (it was made before the step had a “Who runs it” input), so it may use only "
                "logins shared with the channel: its builder can update the step.",
                mrkdwn=True,
            )
        raise UserInputError(
            f"“{escape(login.name)}” is <@{login.owner}>'s login, and it is not shared with you "
            "here, so nothing was started. Its owner can share it from `/browser-use logins`.",
            mrkdwn=True,
        )
    if login.session_id is not None:
        raise UserInputError(
            f"Someone is logging in to “{login.name}” right now. Try again once that login "
            "browser is closed."
        )
    return login


def with_login(request: CreateTaskRequest, login: Login) -> CreateTaskRequest:
    """The request with the login's profile and its proxy country (a login used from another
    country than it was made in is challenged again)."""
    if request.session_id is not None:
        raise UserInputError(
            "A saved login opens a browser of its own: leave out `--session`.", field="session_id"
        )
    settings = request.session_settings
    chosen = settings.model_fields_set if settings is not None else set()
    if "profile_id" in chosen:
        raise UserInputError(
            "A task uses a saved login or a profile, not both: leave out `--profile`.",
            field="profile_id",
        )
    proxy = None if login.proxy in (None, "none") else login.proxy
    asked_proxy = settings.proxy_country_code if settings is not None else None
    if "proxy_country_code" in chosen and login.proxy is not None and asked_proxy != proxy:
        raise UserInputError(
            f"“{login.name}” was saved browsing from `{login.proxy}`; tasks that use it "
            "browse from there too, or the site asks to log in again. Leave out `--proxy`.",
            field="proxy_country_code",
        )
    fields: dict[str, Any] = {"profile_id": login.profile_id}
    if login.proxy is not None:
        fields["proxy_country_code"] = proxy
    kept = {n: getattr(settings, n) for n in chosen} if settings is not None else {}
    data = {n: getattr(request, n) for n in request.model_fields_set}
    data["session_settings"] = {**kept, **fields}
    return CreateTaskRequest.model_validate(data)


async def channel_proxy(deps: Deps, channel_id: str | None) -> str:
    """The channel's default proxy country, for a login form opened there ("" for none set)."""
    stored = await deps.store.channel_defaults(channel_id) if channel_id else None
    settings = (stored.values if stored else {}).get("session_settings") or {}
    if "proxy_country_code" not in settings:
        return ""
    return settings["proxy_country_code"] or "none"


SAVE_LOGIN_BY_COMMAND = (
    "A login is saved through a form: `/browser-use login <name> <login page>` opens it, and a "
    "browser for you alone to log in."
)


async def logins_here(
    deps: Deps, client: AsyncWebClient, team: str, user_id: str, channel_id: str | None
) -> messages.Message:
    """`/browser-use logins`: the logins this person may use here, with their buttons."""
    found = await usable_logins(deps, team, user_id, channel_id)
    admin = await is_admin(deps, client, user_id) if found else False
    return views.logins_list(found, user_id, admin=admin)


async def use_login(
    deps: Deps, origin: Origin, request: CreateTaskRequest, name: str
) -> tuple[CreateTaskRequest, Origin]:
    """The request on the saved login `name`, and the origin that says whose it is; or a
    `UserInputError` (not found, not shared here, contradicted) to tell the person privately."""
    login = await find_login(deps, origin.team_id, origin.acting, origin.channel_id, name)
    return with_login(request, login), replace(origin, login_note=login_note(login))


def login_note(login: Login) -> str:
    """What the parent message says of the login (mrkdwn; the owner is mentioned by ID only)."""
    return f"using <@{login.owner}>'s login “{escape(login.name)}”"


# --- saving a login -----------------------------------------------------------------------------


def parse_login_form(values: dict[str, str | list[str]], team: str, user_id: str) -> Login:
    """The login the form asks for (its profile is made after the ack), or `FormErrors`."""
    errors: dict[str, str] = {}
    name = str(values.get(Block.LOGIN_NAME, "")).strip()
    if not name:
        errors[Block.LOGIN_NAME] = "Give the login a name."
    elif len(name) > views.NAME_MAX_CHARS or name.startswith("-"):
        errors[Block.LOGIN_NAME] = "Use a name of up to 100 characters that does not start with -."
    url = proxy = None
    try:
        url = http_url(str(values[Block.LOGIN_URL])) if Block.LOGIN_URL in values else None
    except UserInputError as exc:
        errors[Block.LOGIN_URL] = exc.message
    try:
        if Block.LOGIN_PROXY in values:
            proxy = country(str(values[Block.LOGIN_PROXY])) or "none"
    except UserInputError as exc:
        errors[Block.LOGIN_PROXY] = exc.message
    shared = str(values.get(Block.LOGIN_SHARED, "me"))
    channels = values.get(Block.LOGIN_CHANNELS) or []
    if not isinstance(channels, list) or not all(CHANNEL_ID.fullmatch(c) for c in channels):
        errors[Block.LOGIN_CHANNELS] = "Pick channels from the list."  # they are shown as <#ID>
        channels = []
    if shared not in views.SHARED_WORDS:
        errors[Block.LOGIN_SHARED] = "Pick who may use it."
    elif shared == "channels" and not channels:
        errors[Block.LOGIN_CHANNELS] = "Pick the channels where tasks may use it."
    if errors:
        raise FormErrors(errors)
    return Login(
        team=team,
        name=name,
        owner=user_id,
        profile_id="",
        shared=shared,
        channels=tuple(channels) if shared == "channels" else (),
        start_url=url,
        proxy=proxy,
    )


async def save_login(
    deps: Deps,
    client: AsyncWebClient,
    login: Login,
) -> None:
    """Make the login's profile at Browser Use, keep the login, and open its login browser."""
    try:
        profile = await deps.browser_use.create_profile(
            CreateProfileRequest(name=login.name, user_id=f"{login.team}:{login.owner}")
        )
    except BrowserUseError as exc:
        await tell(client, login.owner, f":x: {failure_text(exc)} The login was not saved.")
        return
    login = replace(login, profile_id=profile.id)
    login_id = await deps.store.add_login(login)
    if login_id is None:  # another one of that name was saved meanwhile
        await deps.browser_use.delete_profile(profile.id)
        await tell(
            client,
            login.owner,
            f":warning: A login named “{escape(login.name)}” exists already. Pick another name.",
        )
        return
    log.info("login.saved login_id=%s owner=%s", login_id, login.owner)
    await open_login_browser(deps, client, replace(login, id=login_id))


async def open_login_browser(deps: Deps, client: AsyncWebClient, login: Login) -> None:
    """A browser on the login's profile, kept open for its person to log in, and the message
    with its live view sent to that person alone."""
    lease = deps.settings.follow_lease_seconds
    deadline = time.time() + deps.settings.login_minutes * 60
    if not await deps.store.reserve_login_session(login.id, deadline, lease):
        await tell(
            client,
            login.owner,
            f":warning: A login browser for “{escape(login.name)}” is open already: finish "
            "or cancel that one first.",
        )
        return
    proxy: dict[str, Any] = {}
    if login.proxy is not None:
        proxy["proxy_country_code"] = None if login.proxy == "none" else login.proxy
    try:
        session = await deps.browser_use.create_session(
            CreateSessionRequest(
                keep_alive=True,
                persist_memory=False,
                profile_id=UUID(login.profile_id),
                start_url=login.start_url,
                **proxy,
            )
        )
    except BrowserUseError as exc:
        await deps.store.close_login_session(login.id)
        await _forget_unsaved(deps, login)
        await tell(client, login.owner, f":x: {failure_text(exc)} The login was not saved.")
        return
    if not await deps.store.set_login_session(login.id, session.id):
        await deps.browser_use.stop_session(session.id)  # closed while it opened (Cancel)
        return
    live_url = session.live_url or await _wait_for_live_url(deps, session.id)
    sent = (
        await dm(client, login.owner, views.login_browser(login, hide(live_url), deadline))
        if live_url
        else None
    )
    if sent is None:
        if await deps.store.close_login_session(login.id) is None:
            return  # closed meanwhile by another process, which stopped the browser
        await deps.browser_use.stop_session(session.id)
        await _forget_unsaved(deps, login)
        why = "its browser did not start in time" if not live_url else "it could not reach you"
        log.warning("login.not_opened login_id=%s: %s", login.id, why)
        await tell(client, login.owner, f":x: The login browser was closed: {why}. Try again.")
        return
    channel, ts = sent
    await deps.store.set_login_message(login.id, session.id, channel, ts)
    log.info("login.browser_open login_id=%s session_id=%s", login.id, session.id)


async def _wait_for_live_url(deps: Deps, session_id: str) -> str | None:
    """Browser Use sets a session's live view once its browser is up (the docs' example waits
    3-5 s; for a session with no task yet: UNCONFIRMED)."""
    timers = deps.settings.timers
    for _ in range(max(1, round(timers.live_url_wait / timers.live_url_poll))):
        await asyncio.sleep(timers.live_url_poll)
        try:
            session = await deps.browser_use.get_session(session_id)
        except BrowserUseError:
            continue
        if session.live_url:
            return session.live_url
    return None


async def logged_in(deps: Deps, client: AsyncWebClient, login_id: int, user_id: str) -> str | None:
    """ "I'm logged in": the browser stops (that is when Browser Use saves the profile), and the
    person is told which sites the login now holds cookies for. None, or why not (mrkdwn)."""
    closed = await _take_browser(deps, login_id, user_id, "say they are done")
    if isinstance(closed, str):
        return closed
    if closed.session_id:
        await deps.browser_use.stop_session(closed.session_id)
    domains = await saved_domains(deps, closed.profile_id)
    await deps.store.change_login(login_id, cookie_domains=domains, saved_at=time.time())
    log.info("login.logged_in login_id=%s sites=%d", login_id, len(domains))
    await _replace_message(client, closed, views.login_saved(closed, domains))
    return None


async def saved_domains(deps: Deps, profile_id: str) -> list[str]:
    """The sites the profile holds cookies for, read after its browser stopped. Whether Browser
    Use updates them the moment it stops is UNCONFIRMED: an empty list is read twice more."""
    for attempt in range(3):
        profile = await deps.browser_use.get_profile(profile_id)
        if profile.cookie_domains or attempt == 2:
            return sorted(profile.cookie_domains)
        await asyncio.sleep(deps.settings.timers.cookie_reread)
    return []


async def cancel_login(
    deps: Deps, client: AsyncWebClient, login_id: int, user_id: str
) -> str | None:
    """Cancel: the browser stops and the login is not saved. None, or why not (mrkdwn)."""
    closed = await _take_browser(deps, login_id, user_id, "cancel it")
    if isinstance(closed, str):
        return closed
    await _close(deps, client, closed, "cancelled")
    return None


async def _take_browser(deps: Deps, login_id: int, user_id: str, doing: str) -> Login | str:
    """The person's own open login browser, taken off its row (once, whoever asks); or why
    not."""
    login = await deps.store.login(login_id)
    if login is None or login.owner != user_id:
        return f"Only the person logging in can {doing}."
    closed = await deps.store.close_login_session(login_id)
    return closed if closed is not None else "This login browser is closed already."


async def close_overdue(deps: Deps, client: AsyncWebClient) -> None:
    """Every login browser past its deadline, or whose process stopped watching it (its lease
    ran out): closed once, by whichever process gets there first, and its person told."""
    for login_id in await deps.store.overdue_logins():
        closed = await deps.store.close_login_session(login_id, overdue_only=True)
        if closed is None:
            continue
        now = time.time()
        why = "deadline" if (closed.session_deadline or now) < now else "lost"
        await _close(deps, client, closed, why)


async def close_own(deps: Deps, client: AsyncWebClient) -> None:
    """At shutdown: this process's login browsers are closed and their people told."""
    for login_id in await deps.store.own_login_sessions():
        closed = await deps.store.close_login_session(login_id)
        if closed is not None:
            await _close(deps, client, closed, "restart")


async def _close(deps: Deps, client: AsyncWebClient, closed: Login, why: str) -> None:
    if closed.session_id:
        try:
            await deps.browser_use.stop_session(closed.session_id)
        except BrowserUseError as exc:
            log.warning("login.stop_failed login_id=%s error=%s", closed.id, exc)
    await _forget_unsaved(deps, closed)
    log.info("login.closed login_id=%s why=%s", closed.id, why)
    await _replace_message(client, closed, views.login_not_saved(closed, why))


async def _forget_unsaved(deps: Deps, login: Login) -> None:
    """A login never saved is not kept: its row and its profile go, so the name is free."""
    fresh = await deps.store.login(login.id)
    if fresh is not None and fresh.saved_at is None:
        await deps.store.delete_login(login.id)
        try:
            await deps.browser_use.delete_profile(login.profile_id)
        except BrowserUseError as exc:
            log.warning("login.profile_not_deleted login_id=%s error=%s", login.id, exc)


# --- managing logins ----------------------------------------------------------------------------


async def managed_login(
    deps: Deps, client: AsyncWebClient, team: str, login_id: int, user_id: str
) -> Login:
    """The login, if this person owns it or is an admin; else a `UserInputError`."""
    login = await deps.store.login(login_id, team=team)
    if login is None:
        raise UserInputError("That login is gone.")
    if login.owner != user_id and not await is_admin(deps, client, user_id):
        raise UserInputError(
            f"Only <@{login.owner}> and the admins can change this login.", mrkdwn=True
        )
    return login


async def asked_change(deps: Deps, login: Login, values: dict[str, str | list[str]]) -> Login:
    """The login as the form would have it (a new name or new sharing); `FormErrors` for a
    name taken or a field wrong. Read in the form's ack; nothing is changed yet."""
    asked = parse_login_form(values, login.team, login.owner)
    if asked.name.casefold() != login.name.casefold():
        taken = await deps.store.login_named(login.team, asked.name)
        if taken is not None:
            raise FormErrors({Block.LOGIN_NAME: "A login of that name exists already."})
    return replace(login, name=asked.name, shared=asked.shared, channels=asked.channels)


async def change_login(deps: Deps, login: Login, asked: Login, by: str) -> None:
    """The new name (the profile's at Browser Use first) and sharing, kept, and into the audit
    trail (`by`: who changed it)."""
    if asked.name != login.name:
        await deps.browser_use.rename_profile(login.profile_id, asked.name)
    await deps.store.change_login(
        login.id, name=asked.name, shared=asked.shared, channels=asked.channels
    )
    log.info("login.changed login_id=%s shared=%s", login.id, asked.shared)
    where = f" ({', '.join(asked.channels)})" if asked.channels else ""
    event = AuditEvent(
        "login.shared",
        actor=by,
        login=asked.name,
        detail=f"shared with {views.SHARED_WORDS.get(asked.shared, asked.shared)}{where}",
        team=login.team,
    )
    await write_audit(deps, event)


async def delete_login(deps: Deps, client: AsyncWebClient, login: Login) -> None:
    """At Browser Use first (the profile holds the cookies), then the row."""
    closed = await deps.store.close_login_session(login.id)
    if closed is not None and closed.session_id:
        await deps.browser_use.stop_session(closed.session_id)
    await deps.browser_use.delete_profile(login.profile_id)
    await deps.store.delete_login(login.id)
    log.info("login.deleted login_id=%s", login.id)


# --- Slack --------------------------------------------------------------------------------------


async def tell(client: AsyncWebClient, user_id: str, text: str) -> None:
    """A note to `user_id` in a DM from the bot."""
    await post(client, user_id, messages.notice(text))


async def _replace_message(client: AsyncWebClient, login: Login, message: messages.Message) -> None:
    """The message that held the login browser now says how it ended (its link gone)."""
    if login.message_channel and login.message_ts:
        try:
            await client.chat_update(channel=login.message_channel, ts=login.message_ts, **message)
            return
        except SLACK_ERRORS as exc:
            log.warning("slack.login_update failed: %s", type(exc).__name__)
    await post(client, login.owner, message)

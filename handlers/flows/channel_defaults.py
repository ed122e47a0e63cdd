"""Channel defaults: what a channel's browser tasks start from, shown and changed in Slack.

`/browser-use settings` (or `@Browser Use settings` and its button) opens "Channel defaults" for
the channel. Anyone may look; who may change them is one of the admin's settings (anyone, or
only the admins). Every task started in the channel, from any entry point, starts from them;
what the person sets wins, and the admin's limits still apply on top. A change is announced in
the channel.
"""

from __future__ import annotations

from dataclasses import replace

from slack_sdk.web.async_client import AsyncWebClient

from bot.browser_use import BrowserUseError, NotFoundError
from bot.deps import Deps
from bot.models import ACCURATE
from handlers.access import is_admin
from handlers.build import accurate_problems, merge
from handlers.errors import FormErrors, UserInputError
from handlers.ids import Action
from handlers.option_values import Fields
from handlers.options import BY_KEY, CHANNEL_WORDS, Defaults
from handlers.slack_io import open_view
from handlers.slack_text import escape
from handlers.views import kit, messages
from handlers.views.settings import (
    NO_DEFAULT,
    SETTING_SWITCHES,
    WORKSPACE_WORDS,
    settings_view,
    summary,
    workspace_default,
)


def defaults_of(deps: Deps) -> Defaults:
    """The workspace's defaults (the deployment's variables)."""
    s = deps.policy
    return Defaults(
        s.default_llm, s.default_max_steps, s.default_allowed_domains, engine=s.default_engine
    )


async def defaults_for(deps: Deps, channel_id: str | None) -> Defaults:
    """What a task in `channel_id` starts from: the workspace's defaults, then the channel's own
    (read fresh from the store: a change through any process applies at once)."""
    workspace = defaults_of(deps)
    if not channel_id:
        return workspace
    stored = await deps.store.channel_defaults(channel_id)
    return replace(workspace, channel=stored.values) if stored else workspace


async def may_change(deps: Deps, client: AsyncWebClient, user_id: str) -> bool:
    if deps.policy.channel_defaults_by == "anyone":
        return True
    return await is_admin(deps, client, user_id)


def where_from(deps: Deps, defaults: Defaults) -> str:
    """This channel's defaults and where each comes from (escaped mrkdwn): the answer to
    `@Browser Use settings`, and what help adds for the channel it was asked in."""
    lines = []
    for key, field in WORKSPACE_WORDS.items():
        name = CHANNEL_WORDS.get(key, key).capitalize()
        if key in defaults.channel:
            lines.append(f"• {name}: {summary({key: defaults.channel[key]})} (this channel)")
        else:
            said = workspace_default(defaults, field, deps.policy.from_deployment)
            lines.append(f"• {name}: {escape(said)}")
    others = {k: v for k, v in defaults.channel.items() if k not in WORKSPACE_WORDS}
    if others:
        lines.append(f"• Also: {summary(others)} (this channel)")
    return "\n".join(lines)


def parse_settings(values: dict[str, str | list[str]]) -> Fields:
    """The channel defaults a submitted form asks for, or `FormErrors` naming every field."""
    fields: Fields = {}
    errors: dict[str, str] = {}
    for block_id, raw in values.items():
        if raw == NO_DEFAULT:
            continue
        if block_id == "switches":
            for key in raw:
                merge(fields, BY_KEY[key].parse(""))
            continue
        try:
            merge(fields, BY_KEY[block_id].parse(str(raw)))
        except (UserInputError, KeyError) as exc:
            errors[block_id] = exc.message if isinstance(exc, UserInputError) else "Unknown field."
    if "login" in fields and (fields.get("session_settings") or {}).keys() & {
        "profile_id",
        "proxy_country_code",
    }:
        errors["login"] = "A saved login brings its own profile and proxy: leave those empty."
    if fields.get("engine") == ACCURATE:
        # Accurate mode's one rule (`accurate_problems`): a default it could never use is
        # refused here, under its field, rather than left out of every task.
        for key, why in accurate_problems(fields).items():
            errors.setdefault("switches" if key in SETTING_SWITCHES else key, why)
    if errors:
        raise FormErrors(errors)
    return fields


async def shared_here(deps: Deps, team: str, channel_id: str) -> list[str]:
    """The saved logins anyone may use in the channel: what its default login may be."""
    found = await deps.store.logins(team)
    return [
        login.name
        for login in found
        if login.shared == "workspace"
        or (login.shared == "channels" and channel_id in login.channels)
    ]


async def check_login(deps: Deps, team: str, channel_id: str, fields: Fields) -> None:
    """A channel's default login must be one shared with the channel (or the workspace)."""
    name = fields.get("login")
    if name and name not in await shared_here(deps, team, channel_id):
        raise FormErrors({"login": "Pick a login shared with this channel (or with everyone)."})


async def open_settings(
    deps: Deps,
    client: AsyncWebClient,
    trigger_id: str,
    channel_id: str,
    user_id: str,
    team: str = "",
) -> bool:
    stored = await deps.store.channel_defaults(channel_id)
    view = settings_view(
        channel_id,
        stored.values if stored else {},
        replace(defaults_of(deps), logins=tuple(await shared_here(deps, team, channel_id))),
        can_change=await may_change(deps, client, user_id),
        deployment=deps.policy.from_deployment,
        changed=(stored.updated_by, stored.updated_at) if stored else None,
    )
    return await open_view(client, trigger_id, view)


def settings_prompt(deps: Deps, defaults: Defaults, channel_id: str) -> messages.Message:
    """The answer to `@Browser Use settings`: the defaults here and where each comes from, and
    a button to change them."""
    message = messages.notice(f"*Browser tasks here start from:*\n{where_from(deps, defaults)}")
    message["blocks"].append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": Action.OPEN_CHANNEL_SETTINGS,
                    "value": channel_id,
                    "text": kit.plain("Channel defaults…"),
                }
            ],
        }
    )
    return message


async def check_profile(deps: Deps, fields: Fields) -> None:
    profile = (fields.get("session_settings") or {}).get("profile_id")
    if not profile:
        return
    try:
        await deps.browser_use.get_profile(str(profile))
    except NotFoundError:
        raise FormErrors({"profile_id": "Browser Use has no profile with this ID."}) from None
    except BrowserUseError:
        return  # cannot check right now; the task itself will say if it is wrong

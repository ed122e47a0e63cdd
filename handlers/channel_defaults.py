"""Channel defaults: what a channel's browser tasks start from, shown and changed in Slack.

`/browser-use settings` (or `@Browser Use settings` and its button) opens "Channel defaults" for
the channel. Anyone may look; who may change them is one of the admin's settings (anyone, or
only the admins). Every task started in the channel, from any entry point, starts from them;
what the person sets wins, and the admin's limits still apply on top. A change is announced in
the channel.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.browser_use import BrowserUseError, NotFoundError
from bot.deps import Deps
from bot.models import KNOWN_LLMS, CreateTaskRequest
from handlers.access import is_admin
from handlers.errors import UserInputError
from handlers.ids import Action, Callback
from handlers.modals import FormErrors, defaults_of
from handlers.options import BY_KEY, CHANNEL_WORDS, Defaults, Fields, merge
from handlers.slack_io import open_view
from handlers.slack_text import escape
from handlers.views import kit, messages
from handlers.views.form import SWITCHES, Prefill

log = logging.getLogger(__name__)

NO_DEFAULT = "default"  # the select option that means "no channel default"
SETTING_SWITCHES = ("flash_mode", "thinking", "judge")


async def may_change(deps: Deps, client: AsyncWebClient, user_id: str) -> bool:
    if deps.policy.channel_defaults_by == "anyone":
        return True
    return await is_admin(deps, client, user_id)


# The workspace defaults a channel default stands in front of: (field, Settings name).
WORKSPACE_WORDS = {
    "llm": ("llm", "default_llm"),
    "max_steps": ("max_steps", "default_max_steps"),
    "allowed_domains": ("allowed_domains", "default_allowed_domains"),
}


def workspace_default(
    workspace: Defaults, field: tuple[str, str], deployment: frozenset[str]
) -> str:
    """The workspace's default for a field and where it comes from, in words."""
    value = getattr(workspace, field[0])
    if not value:
        return "Browser Use's own default"
    shown = ", ".join(value) if isinstance(value, tuple) else str(value)
    where = "the deployment" if field[1] in deployment else "an admin, in Slack"
    return f"the workspace default ({shown}, set by {where})"


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


def settings_view(
    channel_id: str,
    values: Fields,
    workspace: Defaults,
    *,
    can_change: bool,
    deployment: frozenset[str] = frozenset(),
    changed: tuple[str, float] | None = None,
) -> Any:
    """The "Channel defaults" modal: each field opens with the channel's value; empty means the
    workspace's default (named in its hint), which is where clearing a field goes back to."""
    models = [(NO_DEFAULT, "The workspace default"), *[(m, m) for m in KNOWN_LLMS]]
    vision = [(NO_DEFAULT, "The workspace default"), ("on", "On"), ("off", "Off"), ("auto", "Auto")]
    switches = [(k, t) for k, t in SWITCHES if k in SETTING_SWITCHES]
    fields = [
        kit.field("llm", "Model", kit.select(models, NO_DEFAULT), optional=False),
        kit.field("start_url", "Start URL", {"type": "url_text_input"}),
        kit.field(
            "allowed_domains", "Allowed domains", kit.text_input("example.com, *.example.com")
        ),
        kit.field("max_steps", "Max steps", kit.number_input(1, 10_000)),
        kit.field(
            "profile_id", "Browser profile ID", kit.text_input("A profile with saved logins")
        ),
        kit.field("proxy_country_code", "Proxy country", kit.text_input("us, de, jp … or none")),
        kit.field(
            "switches",
            "Agent",
            {"type": "checkboxes", "options": [kit.option(k, t) for k, t in switches]},
        ),
        kit.field("vision", "Vision", kit.select(vision, NO_DEFAULT), optional=False),
        kit.field(
            "system_prompt_extension",
            "Extra instructions",
            kit.text_input("Answer in French.", multiline=True),
            hint="Up to 2,000 characters.",
        ),
    ]
    for block in fields:
        default = WORKSPACE_WORDS.get(block["block_id"])
        if default and "hint" not in block:
            block["hint"] = kit.plain(
                f"Empty: {workspace_default(workspace, default, deployment)}."
            )
    initials: dict[str, Any] = {}
    if values:
        kept = CreateTaskRequest.model_validate({"task": "-", **values})
        initials = Prefill(request=kept).initials()
    blocks_ = [
        kit.with_initial(b, initials[b["block_id"]]) if b["block_id"] in initials else b
        for b in fields
    ]
    intro = (
        "Every browser task started in this channel starts from these, whoever starts it and "
        "however; what a person sets wins. Empty fields use the workspace's defaults."
    )
    if not can_change:
        intro += " Only admins can change them here."
    intro = escape(intro)
    if changed is not None:
        who, when = changed  # who: a Slack user ID from the store, safe to mention
        at = datetime.fromtimestamp(when, timezone.utc)
        intro += f" Last changed by <@{who}> on {at:%Y-%m-%d %H:%M} UTC."
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": Callback.CHANNEL_SETTINGS,
        "title": kit.plain("Channel defaults"),
        "close": kit.plain("Close" if not can_change else "Cancel"),
        "private_metadata": channel_id,
        "blocks": [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": intro, "verbatim": True}]},
            *blocks_,
        ],
    }
    if can_change:
        view["submit"] = kit.plain("Save")
    else:
        # Shown, not editable: the inputs become a summary.
        view["blocks"] = [
            view["blocks"][0],
            messages.notice(summary(values) or "No channel defaults: the workspace's apply.")[
                "blocks"
            ][0],
        ]
    return view


def parse_settings(values: dict[str, str | list[str]]) -> Fields:
    """The channel defaults a submitted form asks for, or `FormErrors` naming every field."""
    fields: Fields = {}
    errors: dict[str, str] = {}
    for block_id, raw in values.items():
        if raw == NO_DEFAULT:
            continue
        if block_id == "switches":
            for key in raw:
                fields[key] = True
            continue
        try:
            merge(fields, BY_KEY[block_id].parse(str(raw)))
        except (UserInputError, KeyError) as exc:
            errors[block_id] = exc.message if isinstance(exc, UserInputError) else "Unknown field."
    if errors:
        raise FormErrors(errors)
    return fields


def summary(values: Fields) -> str:
    """The channel's defaults in words (escaped mrkdwn), or "" when it has none."""
    words = []
    for key, value in values.items():
        if key == "session_settings":
            words += [f"{k.replace('_', ' ')} `{v or 'none'}`" for k, v in value.items()]
        elif value is True:
            words.append(CHANNEL_WORDS.get(key, key))
        else:
            shown = ", ".join(value) if isinstance(value, list) else str(value)
            words.append(f"{CHANNEL_WORDS.get(key, key)} `{shown}`")
    return escape(" · ".join(words))


def changes(old: Fields, new: Fields) -> str:
    """What changed, in words, for the channel's announcement."""
    said = []
    for key in dict.fromkeys([*old, *new]):
        if old.get(key) == new.get(key):
            continue
        name = "proxy and profile" if key == "session_settings" else CHANNEL_WORDS.get(key, key)
        if key not in new:
            said.append(f"{name}: cleared (the workspace default again)")
        else:
            said.append(summary({key: new[key]}))
    return "; ".join(said)


async def open_settings(
    deps: Deps, client: AsyncWebClient, trigger_id: str, channel_id: str, user_id: str
) -> bool:
    stored = await deps.store.channel_defaults(channel_id)
    view = settings_view(
        channel_id,
        stored.values if stored else {},
        defaults_of(deps),
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

"""Saved logins: the form that saves one, the private message with its login browser, and the
list a person sees of the logins they may use. Pure builders.

The live view link is a credential (full control of a browser logged in as someone): it is only
ever a link button in a message to its person alone, never text that could be quoted on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.ids import Action, Block, Callback
from handlers.payloads import FormContext
from handlers.slack_text import escape
from handlers.views import kit

if TYPE_CHECKING:
    from bot.store import Login

Message = dict[str, Any]

NAME_MAX_CHARS = 100  # Browser Use's profile name limit
SHARED_WORDS = {
    "me": "Just me",
    "channels": "Channels I pick",
    "workspace": "Everyone in the workspace",
}


def login_form(
    context: FormContext,
    *,
    name: str = "",
    url: str = "",
    proxy: str = "",
    admin: bool = False,
) -> dict[str, Any]:
    """`/browser-use login …` and Logins → Add: name, login page, proxy country, who may use it
    ("everyone in the workspace" for admins only)."""
    choices = [(k, v) for k, v in SHARED_WORDS.items() if admin or k != "workspace"]
    shared = {
        "type": "radio_buttons",
        "options": [kit.option(k, v) for k, v in choices],
        "initial_option": kit.option("me", SHARED_WORDS["me"]),
    }
    url_input: dict[str, Any] = {"type": "url_text_input"}
    if url:
        url_input["initial_value"] = url
    return {
        "type": "modal",
        "callback_id": Callback.SAVE_LOGIN,
        "private_metadata": context.dump(),
        "title": kit.plain("Save a login"),
        "submit": kit.plain("Open a browser"),
        "close": kit.plain("Cancel"),
        "blocks": [
            kit.section(
                "I open a browser for you alone. Log in there yourself: the agent never "
                "sees your password, and later tasks that use this login start logged in."
            ),
            kit.field(
                Block.LOGIN_NAME,
                "Name",
                {**kit.text_input("Expenses", initial=name), "max_length": NAME_MAX_CHARS},
                optional=False,
                hint="What tasks call it: --login expenses",
            ),
            kit.field(Block.LOGIN_URL, "Login page", url_input, hint="Where the browser opens."),
            kit.field(
                Block.LOGIN_PROXY,
                "Proxy country",
                kit.text_input("us, de, jp … or none", initial=proxy),
                hint="Tasks that use the login browse from the same country, or sites ask again.",
            ),
            kit.field(Block.LOGIN_SHARED, "Who may use it", shared, optional=False),
            kit.field(
                Block.LOGIN_CHANNELS,
                "Channels",
                {
                    "type": "multi_conversations_select",
                    "filter": {"include": ["public", "private"]},
                },
                hint="With “Channels I pick”: tasks in these channels may use it.",
            ),
        ],
    }


def edit_login_form(login: Login, *, admin: bool) -> dict[str, Any]:
    """Rename a login, or change who may use it (its owner and the admins). Its login page and
    proxy belong to what its browser saved: to change those, save a new one."""
    form = login_form(FormContext(), name=login.name, admin=admin or login.shared == "workspace")
    keep = {Block.LOGIN_NAME, Block.LOGIN_SHARED, Block.LOGIN_CHANNELS}
    blocks = [b for b in form["blocks"] if b.get("block_id") in keep]
    for block in blocks:
        element = block["element"]
        if block["block_id"] == Block.LOGIN_SHARED:
            element["initial_option"] = kit.option(login.shared, SHARED_WORDS[login.shared])
        if block["block_id"] == Block.LOGIN_CHANNELS and login.channels:
            element["initial_conversations"] = list(login.channels)
    return {
        **form,
        "callback_id": Callback.EDIT_LOGIN,
        "private_metadata": str(login.id),
        "title": kit.plain("Change a login"),
        "submit": kit.plain("Save"),
        "blocks": blocks,
    }


def deadline_words(deadline: float) -> str:
    """Slack's own date formatting, shown in the reader's time zone."""
    return f"<!date^{int(deadline)}^{{time}}|in a few minutes>"


def login_browser(login: Login, live_url: str, deadline: float) -> Message:
    """The message to its person alone that holds the login browser."""
    name = escape(login.name)
    value = str(login.id)
    open_button = {
        **kit.button(Action.OPEN_LOGIN_BROWSER, "Open the login browser", value),
        "url": live_url,
        "style": "primary",
    }
    return {
        "text": f"A browser is open for you to log in to {login.name}.",
        "blocks": [
            kit.section(
                f":key: *Log in for “{name}”*\nOpen the browser, log in as you would, then come "
                "back and click *I'm logged in*: the login is saved when the browser closes. "
                "The link is yours alone: whoever has it controls that browser."
            ),
            {
                "type": "actions",
                "block_id": f"{Block.LOGIN_BUTTONS}:{login.id}",
                "elements": [
                    open_button,
                    kit.button(Action.LOGGED_IN, "I'm logged in", value),
                    kit.button(Action.CANCEL_LOGIN, "Cancel", value),
                ],
            },
            kit.context(f"The browser closes at {deadline_words(deadline)} if you do neither."),
        ],
    }


def login_saved(login: Login, cookie_domains: list[str]) -> Message:
    name = escape(login.name)
    if cookie_domains:
        sites = ", ".join(f"`{escape(d)}`" for d in cookie_domains[:20])
        more = f" and {len(cookie_domains) - 20} more" if len(cookie_domains) > 20 else ""
        held = f"It holds cookies for {sites}{more}."
    else:
        held = "It holds no cookies yet: if you did log in, try *Log in again*."
    text = (
        f":white_check_mark: *“{name}” is saved.* {held} Use it with `--login {name}`; "
        "`/browser-use logins` lists yours."
    )
    return {"text": f"{login.name} is saved.", "blocks": [kit.section(text)]}


# Why a login browser closed without "I'm logged in", in words.
NOT_SAVED_WHY = {
    "cancelled": "you cancelled",
    "deadline": "the time to log in ran out",
    "restart": "I restarted",
    "lost": "the process of mine watching it stopped",
}


def login_not_saved(login: Login, why: str) -> Message:
    reason = NOT_SAVED_WHY.get(why, why)
    text = (
        f":x: The login browser for “{escape(login.name)}” is closed ({reason}), and the login "
        "was not saved. `/browser-use login` opens a new one."
    )
    return {"text": f"The login for {login.name} was not saved.", "blocks": [kit.section(text)]}


def shared_words(login: Login) -> str:
    if login.shared == "channels":
        channels = ", ".join(f"<#{c}>" for c in login.channels) or "no channel yet"
        return f"shared with {channels}"
    if login.shared == "workspace":
        return "shared with everyone in the workspace"
    return "just its owner"


def login_rows(logins: list[Login], user_id: str, *, admin: bool) -> list[dict[str, Any]]:
    """A login a row: its name, whose, who may use it, its sites; and for its owner and the
    admins, Log in again and Delete."""
    blocks: list[dict[str, Any]] = []
    for login in logins[:40]:
        sites = ", ".join(login.cookie_domains[:5]) or "no cookies yet"
        line = (
            f"*{escape(login.name)}* · <@{login.owner}>'s · {shared_words(login)}\n"
            f"`--login {escape(login.name)}` · {escape(sites)}"
        )
        blocks.append(kit.section(line))
        if admin or login.owner == user_id:
            blocks.append(
                {
                    "type": "actions",
                    "block_id": f"{Block.LOGIN_BUTTONS}:{login.id}",
                    "elements": [
                        kit.button(Action.LOGIN_AGAIN, "Log in again", str(login.id)),
                        kit.button(Action.CHANGE_LOGIN, "Rename or share…", str(login.id)),
                        {
                            **kit.button(Action.DELETE_LOGIN, "Delete", str(login.id)),
                            "style": "danger",
                            "confirm": {
                                "title": kit.plain("Delete this login?"),
                                "text": kit.plain(
                                    "Its browser profile is deleted at Browser Use too. Tasks "
                                    "can no longer use it."
                                ),
                                "confirm": kit.plain("Delete"),
                                "deny": kit.plain("Keep it"),
                            },
                        },
                    ],
                }
            )
    return blocks


NO_LOGINS = (
    "No saved logins you may use here. `/browser-use login <name> <login page>` saves one: a "
    "browser opens for you alone, you log in, and tasks that say `--login <name>` start logged in."
)


def logins_list(logins: list[Login], user_id: str, *, admin: bool) -> Message:
    """`/browser-use logins`: the logins this person may use here, and what they may do."""
    if not logins:
        return {"text": "No saved logins.", "blocks": [kit.section(NO_LOGINS)]}
    blocks = [
        kit.section("*Saved logins you may use here*"),
        *login_rows(logins, user_id, admin=admin),
    ]
    return {"text": "Saved logins", "blocks": blocks}


def home_logins(logins: list[Login], user_id: str) -> list[dict[str, Any]]:
    """The Home tab's section: the person's own logins, and Add."""
    rows = login_rows(logins, user_id, admin=False) or [kit.section("None yet.")]
    add = {"type": "actions", "elements": [kit.button(Action.ADD_LOGIN, "Add a login", "add")]}
    return [{"type": "header", "text": kit.plain("Your saved logins")}, *rows, add]

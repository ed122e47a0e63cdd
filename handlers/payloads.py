"""The shapes of what Slack sends, checked once at the door; and the values the app's own buttons
carry, typed.

Bolt's request parsing (`extract_user_id`, `build_async_context`) and the listeners read the
fields Slack documents without checking them. A signed payload that lacks one, or has one of the
wrong type (a message shortcut on a message that has only a file, a click on a message that has
since changed, a forged body), is refused here with a reason, before any of that code runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from handlers.ids import Action, MetadataEvent


class _Loose(BaseModel):
    """Slack adds fields all the time: only the ones the app reads are checked."""

    model_config = ConfigDict(extra="allow")


class Ref(_Loose):
    """`{"id": …}`: a user, a channel, a team, a view."""

    id: str


class QueuedFollowUp(BaseModel):
    """What the "Queue my follow-up" button carries: the follow-up and where it goes."""

    text: str
    user: str
    ts: str
    session: str

    def encode(self) -> str:
        # Non-ASCII stays as it is (json.dumps would make each character six: `\\uXXXX`).
        return self.model_dump_json()


class TaskMessage(BaseModel):
    """What a task's status message and its result carry as Slack message metadata, so a task
    found again after the store was lost is matched to its thread (and its result not posted
    twice). Read back from any message: what does not fit is not the app's."""

    model_config = ConfigDict(extra="ignore")

    task_id: str
    session_id: str
    react_ts: str | None = None  # the message that gets ✅ or ❌ at the end
    thread_session: bool = False  # the session is the thread's own, kept for follow-ups

    def metadata(self, event_type: MetadataEvent) -> dict[str, Any]:
        payload = self.model_dump(exclude_defaults=True)
        return {"event_type": str(event_type), "event_payload": payload}

    @classmethod
    def read(cls, message: dict[str, Any], event_type: MetadataEvent) -> TaskMessage | None:
        meta = message.get("metadata")
        if not isinstance(meta, dict) or meta.get("event_type") != event_type:
            return None
        try:
            return cls.model_validate(meta.get("event_payload"))
        except ValidationError:
            return None


def _task_id(value: str | None) -> str:
    """A task's (or a session's) ID: a UUID, as Browser Use writes it."""
    return str(UUID(str(value)))


def _row_id(value: str | None) -> int:
    if not re.fullmatch(r"[0-9]{1,18}", str(value)):
        raise ValueError("not a row ID (a whole number)")
    return int(str(value))


def _slack_id(value: str | None) -> str:
    if not re.fullmatch(r"[A-Z0-9]{1,32}", str(value)):
        raise ValueError("not a Slack ID")
    return str(value)


def _follow_up(value: str | None) -> QueuedFollowUp:
    return QueuedFollowUp.model_validate_json(str(value))


# What each of the app's own buttons carries, typed: read with `clicked` (a mangled value is
# refused at the door, see `BlockActions`).
BUTTON_VALUES: dict[str, Callable[[str | None], object]] = {
    Action.STOP_TASK: _task_id,
    Action.LIVE_VIEW: _task_id,
    Action.SHARE_SESSION: _task_id,
    Action.CLOSE_SESSION: _task_id,  # the thread's session
    Action.RUN_AGAIN: _task_id,
    Action.CHANGE_AND_RUN: _task_id,
    Action.OPEN_CHANNEL_SETTINGS: _slack_id,  # the channel
    Action.QUEUE_FOLLOW_UP: _follow_up,
    Action.TAKE_OVER: _task_id,
    Action.CONTINUE_TASK: _task_id,  # in the private message of the one who took over
    Action.OPEN_TAKEN_OVER: _task_id,
    Action.SAVE_TAKEN_OVER: _task_id,
}
# Buttons that answer in the conversation they were clicked in.
IN_A_CONVERSATION = frozenset(BUTTON_VALUES)
# A recurring task's buttons: in a list to one person, or on the Home tab (no conversation).
BUTTON_VALUES |= dict.fromkeys(
    (
        Action.SCHEDULE_PAUSE,
        Action.SCHEDULE_RESUME,
        Action.SCHEDULE_RUN_NOW,
        Action.SCHEDULE_DELETE,
    ),
    _row_id,
)
# An approval's buttons, in an approver's DM.
BUTTON_VALUES |= dict.fromkeys((Action.APPROVE, Action.DENY), _row_id)
# A saved login's buttons: in a DM, a list to one person, or on the Home tab.
BUTTON_VALUES |= dict.fromkeys(
    (
        Action.LOGGED_IN,
        Action.CANCEL_LOGIN,
        Action.OPEN_LOGIN_BROWSER,
        Action.LOGIN_AGAIN,
        Action.CHANGE_LOGIN,
        Action.DELETE_LOGIN,
    ),
    _row_id,
)

T = TypeVar("T")


def clicked(body: dict[str, Any], kind: Callable[[str | None], T]) -> T:
    """The value of the button clicked, as its type (`kind` is its entry in BUTTON_VALUES)."""
    action = body["actions"][0]
    assert BUTTON_VALUES[action["action_id"]] is kind, action["action_id"]
    return kind(action.get("value"))


def task_of(body: dict[str, Any]) -> str:
    return clicked(body, _task_id)


def schedule_of(body: dict[str, Any]) -> int:
    return clicked(body, _row_id)


def login_id_of(body: dict[str, Any]) -> int:
    return clicked(body, _row_id)


def follow_up_of(body: dict[str, Any]) -> QueuedFollowUp:
    return clicked(body, _follow_up)


class SlashCommand(_Loose):
    command: str
    user_id: str
    channel_id: str
    trigger_id: str
    text: str = ""
    team_id: str = ""
    response_url: str | None = None


class ClickedAction(_Loose):
    action_id: str
    value: str | None = None


class BlockActions(_Loose):
    type: Literal["block_actions"]
    user: Ref
    actions: list[ClickedAction] = Field(min_length=1)
    channel: Ref | None = None
    view: Ref | None = None
    message: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _what_each_button_needs(self) -> BlockActions:
        action = self.actions[0]
        check = BUTTON_VALUES.get(action.action_id)
        if check is not None:
            check(action.value)  # raises ValueError for a mangled value
        if action.action_id in IN_A_CONVERSATION and self.channel is None:
            raise ValueError("a button in a message needs its channel")
        if action.action_id == Action.MORE_OPTIONS and self.view is None:
            raise ValueError("the form's button needs its view")
        return self


class SubmittedView(_Loose):
    id: str
    type: str
    callback_id: str
    private_metadata: str = ""
    state: dict[str, dict[str, dict[str, dict[str, Any]]]]  # Slack always sends it


class ViewSubmission(_Loose):
    type: Literal["view_submission"]
    user: Ref
    view: SubmittedView


class ClosedView(_Loose):
    id: str
    callback_id: str = ""


class ViewClosed(_Loose):
    """A modal closed (Bolt reads its view's callback ID before any listener runs)."""

    type: Literal["view_closed"]
    user: Ref
    view: ClosedView


class BlockSuggestion(_Loose):
    """An external select asking for options (Bolt matches its action ID as a string)."""

    type: Literal["block_suggestion"]
    user: Ref
    action_id: str
    block_id: str = ""
    value: str = ""


class GlobalShortcut(_Loose):
    type: Literal["shortcut"]
    callback_id: str
    trigger_id: str
    user: Ref


class Message(_Loose):
    ts: str  # every message has one; it may have no text (a file alone)


class MessageShortcut(_Loose):
    type: Literal["message_action"]
    callback_id: str
    trigger_id: str
    user: Ref
    channel: Ref
    message: Message  # the message it was used on


class SharedFile(_Loose):
    """A file shared in a message (an event's `files[]`, or `files.info`'s `file`). A Slack
    Connect file may come as its ID only (`file_access: check_file_info`)."""

    id: str
    name: str | None = None
    mimetype: str | None = None
    size: int | None = None
    url_private_download: str | None = None
    file_access: str | None = None

    @property
    def complete(self) -> bool:
        return self.file_access != "check_file_info" and bool(self.url_private_download)


def shared_files(raw: Any) -> tuple[SharedFile, ...]:
    """The files of a message, those Slack describes well enough to read; others are left out."""
    found = []
    for item in raw if isinstance(raw, list) else []:
        try:
            found.append(SharedFile.model_validate(item))
        except ValidationError:
            continue
    return tuple(found)


def form_files(state: dict[str, Any]) -> tuple[SharedFile, ...]:
    """The files put in a form's file input (its `files` block)."""
    element = ((state.get("values") or {}).get("files") or {}).get(Action.VALUE) or {}
    return shared_files(element.get("files"))


class StepFunction(_Loose):
    callback_id: str


class Event(_Loose):
    type: str
    user: str | None = None
    channel: str | None = None
    ts: str | None = None
    thread_ts: str | None = None
    text: str | None = None
    # function_executed (a Workflow Builder step)
    function: StepFunction | None = None
    function_execution_id: str | None = None
    inputs: dict[str, Any] | None = None
    bot_access_token: str | None = None

    @model_validator(mode="after")
    def _a_message_has_its_place(self) -> Event:
        placed = self.channel is not None and self.ts is not None
        if self.type in ("app_mention", "message") and self.user is not None and not placed:
            raise ValueError("a message needs its channel and ts")
        if self.type == "app_home_opened" and self.user is None:
            raise ValueError("app_home_opened needs its user")
        step = (self.function, self.function_execution_id, self.inputs)
        if self.type == "function_executed" and any(part is None for part in step):
            raise ValueError("function_executed needs its function, execution ID and inputs")
        return self


class EventCallback(_Loose):
    type: Literal["event_callback"]
    event: Event
    event_id: str | None = None
    team_id: str | None = None


class UrlVerification(_Loose):
    type: Literal["url_verification"]
    challenge: str


KINDS: dict[str, type[BaseModel]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "view_closed": ViewClosed,
    "block_suggestion": BlockSuggestion,
    "shortcut": GlobalShortcut,
    "message_action": MessageShortcut,
    "event_callback": EventCallback,
    "url_verification": UrlVerification,
}
# Fields Bolt reads from any payload while it builds the request's context.
_REFS = ("user", "team", "channel", "enterprise", "view", "container")
_OBJECTS = ("event", "message", "previous_message", "view", "container", "state")


def _context_problem(body: dict[str, Any]) -> str | None:
    for name in _REFS:
        value = body.get(name)
        if value is not None and not isinstance(value, str | dict):
            return f"{name} is neither an ID nor an object"
        if isinstance(value, dict) and not isinstance(value.get("id", ""), str):
            return f"{name}.id is not a string"
    for name in _OBJECTS:
        if name in body and body[name] is not None and not isinstance(body[name], dict):
            return f"{name} is not an object"
    event = body.get("event")
    if isinstance(event, dict):
        for name in ("user", "team", "channel"):
            value = event.get(name)
            if value is not None and not isinstance(value, str | dict):
                return f"event.{name} is neither an ID nor an object"
    authorizations = body.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        return "authorizations is not a list of objects"
    return None


def problem(body: Any) -> str | None:
    """Why the app cannot act on this payload, or None when its shape is what Slack documents.

    A payload of a kind the app does not handle is not a problem here: Bolt answers it 404."""
    if not isinstance(body, dict):
        return "the payload is not an object"
    if "command" in body:
        model: type[BaseModel] | None = SlashCommand
    else:
        if not isinstance(body.get("type"), str):
            return "the payload has no type"
        found = _context_problem(body)
        if found:
            return found
        model = KINDS.get(body["type"])
    if model is None:
        return None
    try:
        model.model_validate(body)
    except (ValidationError, ValueError) as exc:
        return _first_error(exc)
    return None


def _first_error(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where or 'payload'}: {error['msg']}"
    return str(exc)


class FormContext(BaseModel):
    """Where the form was opened, carried in `private_metadata` (≤ 3,000 characters)."""

    model_config = ConfigDict(frozen=True)

    channel_id: str | None = None
    thread_ts: str | None = None
    # The saved logins the person may use there (names), for the form's Login select.
    logins: tuple[str, ...] = ()

    def dump(self) -> str:
        return self.model_dump_json(exclude_none=True, exclude_defaults=True)

    @classmethod
    def load(cls, raw: str | None) -> FormContext:
        try:
            return cls.model_validate_json(raw or "{}")
        except ValidationError:
            return cls()

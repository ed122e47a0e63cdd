"""Every ID the app gives Slack or reads back from it, in one place, as `str` enums (a member is
the string itself, so it goes into Block Kit and JSON as it is)."""

from enum import Enum


class StrEnum(str, Enum):
    """A member is its string everywhere: `==`, `str()`, f-strings, JSON (Python 3.10 has no
    `enum.StrEnum`)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


COMMAND = "/browser-use"


class Callback(StrEnum):
    """Callback IDs: the app's modals, shortcuts and Workflow Builder step (manifest.yaml
    declares the shortcuts' and the step's)."""

    TASK_FORM = "task_form"
    CHANNEL_SETTINGS = "channel_settings"
    ADMIN_SETTINGS = "admin_settings"
    RUN_IN_BROWSER = "run_in_browser"
    NEW_BROWSER_TASK = "new_browser_task"
    RUN_BROWSER_TASK = "run_browser_task"
    SAVE_LOGIN = "save_login"
    EDIT_LOGIN = "edit_login"
    CONNECT_BROWSER_USE = "connect_browser_use"


class Action(StrEnum):
    """Action IDs of the app's buttons and inputs. `VALUE` is every form input's (its block ID names
    the field); `MORE_OPTIONS` is also its block's ID."""

    VALUE = "value"
    MORE_OPTIONS = "task_form_more_options"
    STOP_TASK = "stop_task"
    LIVE_VIEW = "live_view"
    SHARE_SESSION = "share_session"
    RUN_AGAIN = "run_again"
    CHANGE_AND_RUN = "change_and_run"
    CLOSE_SESSION = "close_session"
    QUEUE_FOLLOW_UP = "queue_follow_up"
    OPEN_CHANNEL_SETTINGS = "open_channel_settings"
    OPEN_ADMIN_SETTINGS = "open_admin_settings"
    SCHEDULE_PAUSE = "schedule_pause"
    SCHEDULE_RESUME = "schedule_resume"
    SCHEDULE_RUN_NOW = "schedule_run_now"
    SCHEDULE_DELETE = "schedule_delete"
    APPROVE = "approve_task"
    DENY = "deny_task"
    OPEN_LOGIN_BROWSER = "open_login_browser"  # a link button: Slack still sends the click
    LOGGED_IN = "logged_in"
    CANCEL_LOGIN = "cancel_login"
    LOGIN_AGAIN = "login_again"
    DELETE_LOGIN = "delete_login"
    CHANGE_LOGIN = "change_login"
    ADD_LOGIN = "add_login"
    OPEN_CONNECT = "open_connect_browser_use"
    DISCONNECT = "disconnect_browser_use"
    TAKE_OVER = "take_over"
    OPEN_TAKEN_OVER = "open_taken_over"  # a link button: Slack still sends the click
    CONTINUE_TASK = "continue_task"
    SAVE_TAKEN_OVER = "save_taken_over"


class Block(StrEnum):
    """Block IDs the app reads back: the task form's fields and the button rows. A schedule's row is
    `SCHEDULE_BUTTONS:<its ID>`."""

    TASK = "task"
    CHANNEL = "channel"
    SWITCHES = "switches"
    TASK_BUTTONS = "task_buttons"
    RESULT_BUTTONS = "result_buttons"
    BUSY_BUTTONS = "busy_buttons"
    SCHEDULE_BUTTONS = "schedule"
    REPEAT = "repeat"
    REPEAT_AT = "repeat_at"
    REPEAT_SWITCHES = "repeat_switches"
    FILES = "files"
    LOGIN_NAME = "login_name"
    LOGIN_URL = "login_url"
    LOGIN_PROXY = "login_proxy"
    LOGIN_SHARED = "login_shared"
    LOGIN_CHANNELS = "login_channels"
    LOGIN_BUTTONS = "login"


class MetadataEvent(StrEnum):
    """Slack message metadata event types: a task's status message, and its result (posted once)."""

    TASK_STATUS = "browser_use_task"
    TASK_RESULT = "browser_use_result"


class Reaction(StrEnum):
    """The reactions on a message to the bot: seen, done, failed, and the others."""

    SEEN = "eyes"
    DONE = "white_check_mark"
    FAILED = "x"
    HELP = "wave"
    QUEUED = "hourglass"
    RECURRING = "repeat"


class SlackError(StrEnum):
    """Slack Web API error codes the app acts on."""

    NOT_IN_CHANNEL = "not_in_channel"
    CHANNEL_NOT_FOUND = "channel_not_found"
    IS_ARCHIVED = "is_archived"
    RESTRICTED_ACTION = "restricted_action"
    INVALID_AUTH = "invalid_auth"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (an error code, not a secret)
    NOT_AUTHED = "not_authed"
    TOKEN_REVOKED = "token_revoked"  # noqa: S105
    ACCOUNT_INACTIVE = "account_inactive"


# The Messages tab (features.agent_view in manifest.yaml): the same four prompts, shown when a
# person opens the DM. Titles are what the button says; messages are what it sends.
SUGGESTED_PROMPTS = (
    {
        "title": "Check a price",
        "message": "Find the current price of the Sony WH-1000XM5 on amazon.com",
    },
    {
        "title": "Read a page for me",
        "message": "Open https://status.slack.com and tell me if anything is degraded",
    },
    {
        "title": "Compare options",
        "message": "Compare the three cheapest flights from Berlin to Lisbon next Friday",
    },
    {
        "title": "Fill in a form",
        "message": "Go to https://example.com/contact and draft a message asking for a quote",
    },
)

# Channel defaults (`/browser-use settings`)

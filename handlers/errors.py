"""Typed errors that carry what a person is told; the one place that turns errors into text."""

from __future__ import annotations

from collections.abc import Callable

from bot.browser_use import BrowserUseError
from bot.deps import Failure
from handlers.slack_text import escape


class UserInputError(Exception):
    """Input a person can fix. `field` names the form field (block ID) at fault, if any."""

    def __init__(self, message: str, field: str | None = None, *, mrkdwn: bool = False):
        super().__init__(message)
        self.message = message
        self.field = field
        # True when `message` is already-safe mrkdwn (it mentions someone on purpose).
        self.mrkdwn = mrkdwn


class FormErrors(Exception):
    """Messages keyed by block ID, for `response_action: errors`."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(", ".join(errors))
        self.errors = errors


UNKNOWN_OUTCOME = (
    " The request may have reached Browser Use, and I could not check whether the task was "
    "created: look in the Browser Use dashboard before trying again."
)
NOT_CREATED = " I checked: no task was created, so it is safe to try again."
VIEW_FAILED = "I could not open the form. Try again."
FORM_FAILED = "I could not open the task form. Try again, or give the task as text."
INTERNAL = "Something went wrong on my side. The error is logged for the admin."


STORE_UNREACHABLE = (
    ":x: I can't reach my database right now, so nothing was started or changed. Try again in a "
    "minute."
)


def internal_error_text(failure: Failure) -> str:
    """What a person reads when the app itself failed: the reference is in the log line too."""
    if failure.store_unreachable:
        return STORE_UNREACHABLE
    return (
        f":x: Something went wrong on my side, so this did not finish. Ask the admin about "
        f"reference `{failure.reference}` (it is in my log), or try again."
    )


# What a person reads when a file they shared cannot reach the browser (by why).
FILE_TEXT = {
    "too_big": "`{name}` is over 10 MB, the most Browser Use takes into a browser.",
    "empty": "`{name}` is empty.",
    "wrong_type": (
        "`{name}` is of a type Browser Use does not take into a browser. It takes PDF, Word, "
        "Excel, CSV, text, Markdown and images (PNG, JPEG, GIF, WebP, SVG)."
    ),
    "refused": (
        "Slack did not give me `{name}`. An admin may need to reinstall me with the files:read "
        "scope."
    ),
    "not_slack": "`{name}` is not on Slack's file host, so I don't read it.",
    "failed": "`{name}` could not be read from Slack. Try again.",
}


def file_text(why: str, name: str) -> str:
    """Plain text (a name in backticks); the caller escapes it for mrkdwn."""
    return FILE_TEXT.get(why, FILE_TEXT["failed"]).format(name=name) + " Nothing was started."


def _wait(error: BrowserUseError) -> str:
    retry_after = getattr(error, "retry_after", None)
    return f" in {retry_after:g} seconds" if retry_after else " in a moment"


# What a person reads for each Browser Use failure (`BrowserUseError.code`), in plain text.
BROWSER_USE_TEXT: dict[str, Callable[[BrowserUseError], str]] = {
    "bad_key": lambda e: (
        "Browser Use rejected the API key (it may have been revoked). An admin needs to connect "
        "a valid one (keys start with bu_), in my Home tab or where I'm deployed."
    ),
    "spend_cap": lambda e: (
        "This Browser Use API key has reached its monthly spend limit. An admin can raise the "
        "limit in the Browser Use dashboard; topping up credits won't lift it."
    ),
    "out_of_credits": lambda e: (
        "Browser Use is out of credits for this account. An admin can add credits in the "
        "Browser Use dashboard (Billing)."
    ),
    "not_found": lambda e: f"Browser Use could not find that: {e.detail or 'not found'}.",
    "accurate_unavailable": lambda e: (
        "This Browser Use project cannot use accurate mode (Browser Use refuses v4 runs for "
        "projects with Zero Data Retention). Run it without `--accurate`, or ask an admin to "
        "use a project that allows it."
    ),
    "session_busy": lambda e: (
        "This browser session is still working on a previous task. Wait for it to finish, or "
        "stop it, then try again."
    ),
    "refused": lambda e: (
        f"Browser Use refused the task: {e.detail or 'the request was not valid'}."
    ),
    "concurrency": lambda e: (
        "Too many browser sessions are running for this Browser Use account. Wait for one to "
        "finish (or stop one), then try again."
    ),
    "rate_limited": lambda e: f"Browser Use is receiving too many requests. Try again{_wait(e)}.",
    "server": lambda e: "Browser Use had a problem on its side. Try again in a minute.",
    "unexpected_status": lambda e: (
        "Browser Use gave an answer I did not expect. Try again in a minute."
    ),
    "unreadable": lambda e: "Browser Use sent an answer I could not read.",
    "timeout": lambda e: "Browser Use did not answer in time.",
    "network": lambda e: "I could not reach Browser Use (a network error).",
    "download_timeout": lambda e: "The file download did not finish in time.",
    "download_failed": lambda e: "The file could not be downloaded.",
    "upload_timeout": lambda e: "Uploading the file to the browser did not finish in time.",
    "upload_failed": lambda e: "The file could not be uploaded to the browser (network error).",
    "upload_refused": lambda e: "Browser Use's file storage refused the upload. Try again.",
}


def browser_use_text(error: BrowserUseError) -> str:
    """The plain-text sentence for a Browser Use failure (escape it for mrkdwn)."""
    say = BROWSER_USE_TEXT.get(error.code)
    return say(error) if say else "Something went wrong with Browser Use. Try again in a minute."


def failure_text(error: BaseException) -> str:
    """The Slack mrkdwn (already escaped) that tells a person what failed and what to do."""
    if isinstance(error, UserInputError):
        return error.message if error.mrkdwn else escape(error.message)
    if isinstance(error, BrowserUseError):
        text = browser_use_text(error)
        if error.outcome_unknown:
            text += UNKNOWN_OUTCOME
        elif error.not_created:
            text += NOT_CREATED
        return escape(text)
    return INTERNAL

"""Typed errors that carry what a person is told; the one place that turns errors into text."""

from __future__ import annotations

from bot.browser_use import BrowserUseError
from handlers.slack_text import escape


class UserInputError(Exception):
    """Input a person can fix. `field` names the form field (block ID) at fault, if any."""

    def __init__(self, message: str, field: str | None = None, *, mrkdwn: bool = False):
        super().__init__(message)
        self.message = message
        self.field = field
        # True when `message` is already-safe mrkdwn (it mentions someone on purpose).
        self.mrkdwn = mrkdwn


UNKNOWN_OUTCOME = (
    " The request may have reached Browser Use, and the app could not check whether the task "
    "was created: look in the Browser Use dashboard before trying again."
)
NOT_CREATED = " The app checked: no task was created, so it is safe to try again."
VIEW_FAILED = "The form could not be opened. Try again."
FORM_FAILED = "The task form could not be opened. Try again, or give the task as text."
INTERNAL = "Something went wrong inside the app. The error was logged for the admin."


def internal_error_text(reference: str) -> str:
    """What a person reads when the app itself failed: the reference is in the log line too."""
    return (
        f":x: Something went wrong inside the app, so this did not finish. Ask the admin about "
        f"reference `{reference}` (it is in the app's log), or try again."
    )


def failure_text(error: BaseException) -> str:
    """The Slack mrkdwn (already escaped) that tells a person what failed and what to do."""
    if isinstance(error, UserInputError):
        return error.message if error.mrkdwn else escape(error.message)
    if isinstance(error, BrowserUseError):
        text = error.user_message
        if error.outcome_unknown:
            text += UNKNOWN_OUTCOME
        elif error.not_created:
            text += NOT_CREATED
        return escape(text)
    return INTERNAL

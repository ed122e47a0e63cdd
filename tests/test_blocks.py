"""The messages a person sees, built by pure functions."""

from __future__ import annotations

from bot.models import TaskCreated
from handlers import blocks


def all_text(message: dict) -> str:
    return str(message)


def test_parent_message_says_who_asked_and_what() -> None:
    message = blocks.parent_message("U42", "Find <!here> flights")
    assert message["text"] == "<@U42> asked the browser: Find &lt;!here&gt; flights"
    assert "<!here>" not in all_text(message)
    assert message["blocks"][0]["text"]["verbatim"] is True


def test_parent_not_started_keeps_the_question_and_says_it_failed() -> None:
    message = blocks.parent_not_started("U42", "Find flights")
    assert "Find flights" in message["text"]
    assert "did not start" in all_text(message)


def test_task_started_has_both_ids_in_text_and_as_code() -> None:
    created = TaskCreated(id="task-1", session_id="session-2")
    message = blocks.task_started(created)
    assert "task-1" in message["text"] and "session-2" in message["text"]
    body = message["blocks"][0]["text"]["text"]
    assert "`task-1`" in body and "`session-2`" in body


def test_ephemeral_adds_the_hint_and_never_replaces_the_command() -> None:
    message = blocks.ephemeral(blocks.task_failed("out of credits"), blocks.NO_THREAD_HINT)
    assert message["response_type"] == "ephemeral"
    assert message["replace_original"] is False
    assert "/invite" in message["blocks"][-1]["elements"][0]["text"]


def test_usage_is_ephemeral_and_shows_the_command() -> None:
    message = blocks.usage()
    assert message["response_type"] == "ephemeral"
    assert "/browser-use" in message["text"]

"""The messages a person sees, built by pure functions."""

from __future__ import annotations

import json
import uuid

from bot.answers import TaskView
from bot.models import CreateTaskRequest, SessionSettings, SlackRoute, TaskCreated
from handlers.options import OPTIONS
from handlers.views import messages, outcomes, tracking


def all_text(message: dict) -> str:
    return str(message)


def test_parent_message_says_who_asked_and_what() -> None:
    message = messages.parent_message("U42", CreateTaskRequest(task="Find <!here> flights"))
    assert message["text"] == "<@U42> asked the browser: Find &lt;!here&gt; flights"
    assert "<!here>" not in all_text(message)
    assert message["blocks"][0]["text"]["verbatim"] is True
    assert message["blocks"][1]["elements"][0]["text"] == messages.STARTING


def test_parent_not_started_keeps_the_question_and_says_it_failed() -> None:
    request = CreateTaskRequest(task="Find flights")
    message = messages.parent_message("U42", request, status=messages.NOT_STARTED)
    assert "Find flights" in message["text"]
    assert "did not start" in all_text(message)


def test_the_parent_lists_the_options_chosen_and_counts_secrets() -> None:
    request = CreateTaskRequest(
        task="Log in and check the invoice",
        llm="gpt-4.1",
        start_url="https://example.com/login",
        max_steps=30,
        allowed_domains=["example.com"],
        flash_mode=True,
        vision=False,
        judge=True,
        judge_ground_truth="42",
        session_settings=SessionSettings(
            proxy_country_code=None, browser_screen_width=1280, browser_screen_height=800
        ),
        secrets={"password": "hunter2", "otp": "123456"},
        metadata={"project": "<!channel>"},
        skill_ids=["*"],
    )
    context = messages.parent_message("U1", request)["blocks"][1]["elements"][0]["text"]
    for words in (
        "model `gpt-4.1`",
        "starts at https://example.com/login",
        "max 30 steps",
        "only example.com",
        "flash mode",
        "vision off",
        "judged against an expected",
        "proxy off",
        "screen 1280x800",
        "2 secrets passed",
        "all skills",
    ):
        assert words in context
    assert "hunter2" not in all_text(request.model_dump()) and "hunter2" not in context
    assert "123456" not in context


def test_no_options_means_only_the_status() -> None:
    message = messages.parent_message("U1", CreateTaskRequest(task="x"))
    assert message["blocks"][1]["elements"][0]["text"] == messages.STARTING


def test_a_session_id_shows_in_the_parent() -> None:
    session = uuid.uuid4()
    request = CreateTaskRequest(task="x", session_id=session)
    assert f"in session `{session}`" in str(messages.parent_message("U1", request))


def test_task_started_has_both_ids_in_text_and_as_code() -> None:
    created = TaskCreated(id="task-1", session_id="session-2")
    message = tracking.task_started(created)
    assert "task-1" in message["text"] and "session-2" in message["text"]
    body = message["blocks"][0]["text"]["text"]
    assert "`task-1`" in body and "`session-2`" in body


def test_ephemeral_adds_the_hint_and_never_replaces_the_command() -> None:
    message = messages.ephemeral(messages.task_failed("out of credits"), messages.NO_THREAD_HINT)
    assert message["response_type"] == "ephemeral"
    assert message["replace_original"] is False
    assert "/invite" in message["blocks"][-1]["elements"][0]["text"]


def test_usage_lists_every_inline_flag_with_an_example() -> None:
    message = messages.usage()
    assert message["response_type"] == "ephemeral"
    for option in OPTIONS:
        if option.inline:
            assert option.flags[0] in message["text"] and option.example in message["text"]
    assert all(len(b["text"]["text"]) <= 3000 for b in message["blocks"])


ROUTE = SlackRoute(team="T1", channel="C1", thread_ts="1.2", user="U7", max_steps=20)


def view(**fields) -> TaskView:
    base = {
        "id": "t-1",
        "sessionId": "s-1",
        "llm": "gpt-4.1",
        "task": "x",
        "status": "started",
        "createdAt": "2026-11-29T06:00:00Z",
        "startedAt": "2026-11-29T06:00:00Z",
        "steps": [],
        "outputFiles": [],
    }
    return TaskView.model_validate({**base, **fields})


def step(number: int, goal: str = "Click search", url: str = "https://a.example/") -> dict:
    return {
        "number": number,
        "memory": "",
        "evaluationPreviousGoal": "",
        "nextGoal": goal,
        "url": url,
        "actions": [],
    }


def test_a_running_status_shows_the_step_page_and_next_goal_with_buttons() -> None:
    message = tracking.task_status(view(steps=[step(1), step(2, "Open <@U1> page")]), ROUTE)
    body = all_text(message["blocks"])
    assert "step 2 of 20" in body and "https://a.example/" in body
    assert "Open &lt;@U1&gt; page" in body and "<@U1>" not in body
    assert "t-1" in message["text"] and "s-1" in message["text"]
    assert message["blocks"][-1]["type"] == "actions"


def test_an_ended_status_has_the_facts_and_no_buttons() -> None:
    task = view(
        status="finished",
        finishedAt="2026-11-29T06:02:05Z",
        steps=[step(1), step(2)],
        cost="0.0420",
        isSuccess=True,
        judgeVerdict=False,
    )
    message = tracking.task_status(task, ROUTE)
    body = all_text(message["blocks"])
    for fact in ("2m 05s", "2 steps", "$0.0420", "model `gpt-4.1`", "judge: failed"):
        assert fact in body
    assert all(b["type"] != "actions" for b in message["blocks"])


def test_a_finished_task_the_agent_calls_unsuccessful_says_so() -> None:
    message = tracking.task_status(view(status="finished", isSuccess=False), ROUTE)
    assert "did not succeed" in message["text"]


def test_the_result_mentions_the_person_and_escapes_the_output() -> None:
    result = outcomes.task_result(view(status="finished", output="<!channel> 42"), ROUTE)
    assert result.message["text"].startswith("<@U7> Finished")
    assert "&lt;!channel&gt; 42" in all_text(result.message["blocks"])
    assert result.attachments == []


def test_long_output_is_previewed_and_attached_whole() -> None:
    output = "word " * 2000
    result = outcomes.task_result(view(status="finished", output=output), ROUTE)
    assert result.attachments == [("output.txt", output.strip().encode())]
    assert "output.txt" in all_text(result.message["blocks"])


def test_structured_output_becomes_fields_and_json() -> None:
    rows = [{"name": f"item {i}", "price": i} for i in range(8)]
    result = outcomes.task_result(view(status="finished", output=json.dumps(rows)), ROUTE)
    fields = next(b for b in result.message["blocks"] if "fields" in b)["fields"]
    assert len(fields) == 10 and "*1. name*" in fields[0]["text"]
    assert "+6 more in result.json" in all_text(result.message["blocks"])
    assert result.attachments[0][0] == "result.json"


def test_a_stopped_task_says_where_it_was() -> None:
    task = view(status="stopped", steps=[step(3, "Fill the form", "https://f.example/")])
    text = all_text(outcomes.task_result(task, ROUTE).message["blocks"])
    assert "Stopped" in text and "step 3" in text and "Fill the form" in text


def test_the_status_message_shows_the_latest_steps_as_a_plan() -> None:
    steps = [step(n, f"Goal {n}", f"https://a.example/{n}") for n in range(1, 11)]
    running = tracking.task_status(view(steps=steps), ROUTE)
    (plan,) = [b for b in running["blocks"] if b["type"] == "plan"]
    assert plan["title"] == "Steps (2 earlier not shown)"
    assert [c["title"] for c in plan["tasks"]] == [f"{n}. Goal {n}" for n in range(3, 11)]
    assert [c["status"] for c in plan["tasks"]] == ["complete"] * 7 + ["in_progress"]
    assert "https://a.example/10" in str(plan["tasks"][-1]["details"])
    assert running["text"].startswith("Running. Task ID: t-1")  # the text fallback stays

    failed = tracking.task_status(view(status="failed", steps=steps[:2]), ROUTE)
    (plan,) = [b for b in failed["blocks"] if b["type"] == "plan"]
    assert [c["status"] for c in plan["tasks"]] == ["complete", "error"]
    finished = tracking.task_status(view(status="finished", steps=steps[:2]), ROUTE)
    (plan,) = [b for b in finished["blocks"] if b["type"] == "plan"]
    assert [c["status"] for c in plan["tasks"]] == ["complete", "complete"]


def test_a_step_title_cannot_carry_a_mention_even_as_plain_text() -> None:
    task = view(steps=[step(1, "Tell <!channel> and <@U1> about <https://x.example|this>")])
    (plan,) = [b for b in tracking.task_status(task, ROUTE)["blocks"] if b["type"] == "plan"]
    title = plan["tasks"][0]["title"]
    assert title == "1. Tell @channel and @U1 about https://x.example"
    assert "<" not in str(plan)


def test_the_live_status_names_the_site_and_the_goal() -> None:
    task = view(steps=[step(3, "Open the cart", "https://www.amazon.com/cart")])
    status, loading = tracking.browsing_status(task, ROUTE)
    assert status == "is browsing www.amazon.com…"
    assert loading == ["Open the cart", "Step 3 of 20", "https://www.amazon.com/cart"]
    assert tracking.browsing_status(view(), ROUTE)[0] == "is starting a browser…"

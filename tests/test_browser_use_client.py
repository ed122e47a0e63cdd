"""The Browser Use client's error mapping and retry policy, through a real httpx transport."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.browser_use import (
    API_KEY_HEADER,
    AuthError,
    BrowserUseClient,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    PaymentError,
    Priority,
    RateLimitError,
    RequestBudget,
    ServerError,
    error_detail,
    error_for_response,
)
from bot.models import CreateTaskRequest
from handlers.errors import failure_text


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"detail": "Session not found"}, "Session not found"),
        ({"message": "top", "detail": "ignored"}, "top"),
        ({"detail": {"code": "x", "message": "nested"}}, "nested"),
        ({"detail": [{"loc": ["body", "task"], "msg": "too long", "type": "t"}]}, "task: too long"),
        ({"loc": ["body", "maxSteps"], "msg": "bad", "type": "t"}, "maxSteps: bad"),
        ({"detail": [{"loc": ["body"], "msg": "a"}, {"loc": [], "msg": "b"}]}, "a; b"),
        ({"unexpected": 1}, None),
    ],
)
def test_error_detail_reads_every_shape(body: object, detail: str | None) -> None:
    assert error_detail(body) == detail


def test_a_detail_that_echoes_a_secret_is_redacted() -> None:
    response = httpx.Response(422, json={"detail": "bad secret value hunter2 for bu_key"})
    error = error_for_response(response, ["hunter2", "bu_key"])
    assert "hunter2" not in str(error.detail) and "bu_key" not in str(error.detail)
    assert "hunter2" not in failure_text(error) and "hunter2" not in str(error)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, AuthError),
        (403, AuthError),
        (402, PaymentError),
        (422, InvalidRequestError),
        (400, InvalidRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
    ],
)
def test_statuses_map_to_typed_errors_that_keep_status_and_detail(status: int, kind: type) -> None:
    error = error_for_response(httpx.Response(status, json={"detail": "why"}))
    assert isinstance(error, kind)
    assert error.status == status
    assert error.detail == "why"


def run_create(handler) -> tuple[object, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    async def go() -> object:
        client = BrowserUseClient(
            "bu_k", "http://bu.test/api/v2", transport=httpx.MockTransport(recording)
        )
        try:
            return await client.create_task(CreateTaskRequest(task="t"))
        except Exception as exc:
            return exc
        finally:
            await client.aclose()

    return asyncio.run(go()), seen


def test_create_sends_the_key_header_to_the_tasks_path() -> None:
    result, seen = run_create(lambda r: httpx.Response(202, json={"id": "i", "sessionId": "s"}))
    assert seen[0].url == "http://bu.test/api/v2/tasks"
    assert seen[0].headers[API_KEY_HEADER] == "bu_k"
    assert "authorization" not in seen[0].headers
    assert getattr(result, "id", None) == "i"


def test_a_5xx_is_never_resent_and_its_outcome_is_unknown() -> None:
    result, seen = run_create(lambda r: httpx.Response(503, json={"detail": "busy"}))
    assert isinstance(result, ServerError) and result.outcome_unknown
    assert len(seen) == 1


def test_a_refused_connection_is_a_network_error_with_a_known_outcome() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    result, seen = run_create(refuse)
    assert isinstance(result, NetworkError) and not result.outcome_unknown
    assert len(seen) == 1


def test_a_concurrency_429_is_not_retried() -> None:
    result, seen = run_create(
        lambda r: httpx.Response(429, json={"detail": "Too many concurrent active sessions."})
    )
    assert isinstance(result, RateLimitError)
    assert result.code == "concurrency"
    assert "Too many browser sessions" in failure_text(result)
    assert len(seen) == 1


def test_error_text_never_holds_the_api_key() -> None:
    result, _ = run_create(lambda r: httpx.Response(401, json={"detail": "bad key bu_k"}))
    assert isinstance(result, AuthError)
    assert "bu_k" not in str(result) and "bu_k" not in repr(result.detail)


def test_the_request_budget_stays_under_browser_uses_window_limit() -> None:
    """At 20 a second, no 5-second window ever sees more than 120 requests (the API takes 125)."""
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    async def go() -> list[float]:
        budget = RequestBudget(20, clock=lambda: now[0], sleep=sleep)
        times = []
        for _ in range(400):
            await budget.acquire()
            times.append(now[0])
        return times

    times = asyncio.run(go())
    busiest = max(sum(1 for t in times if start <= t < start + 5) for start in times)
    assert busiest <= 120
    assert times[19] == 0.0  # the first 20 go at once
    assert times[-1] == pytest.approx((400 - 20) / 20)  # then 20 a second, no slower


def test_polling_gives_way_to_requests_people_wait_for() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    async def go() -> list[str]:
        budget = RequestBudget(2, clock=lambda: now[0], sleep=sleep)
        for _ in range(2):
            await budget.acquire()  # the bucket is empty now
        order: list[str] = []

        async def take(name: str, background: bool) -> None:
            await budget.acquire(background=background)
            order.append(name)

        await asyncio.gather(take("create 1", False), take("poll", True), take("create 2", False))
        return order

    assert asyncio.run(go()) == ["create 1", "create 2", "poll"]


def test_waiting_polls_go_in_order_and_sleep_until_their_turn() -> None:
    """Fifty running tasks waiting for the bucket (real time, 200 a second): each poll goes in
    the order it asked, and the process wakes about as often as tokens come, not fifty
    times as often (each waiter looking at the bucket every 1/rate s)."""
    wakeups = [0]

    async def sleep(seconds: float) -> None:
        wakeups[0] += 1
        await asyncio.sleep(seconds)

    async def go() -> list[int]:
        budget = RequestBudget(200, sleep=sleep)
        for _ in range(101):
            await budget.acquire()  # polls wait for half the bucket: one short
        wakeups[0] = 0
        order: list[int] = []

        async def poll(n: int) -> None:
            await budget.acquire(background=True)
            order.append(n)

        await asyncio.gather(*(poll(n) for n in range(50)))
        return order

    assert asyncio.run(go()) == list(range(50))
    assert wakeups[0] <= 3 * 50, f"{wakeups[0]} wake-ups for 50 polls"


def test_a_webhooks_read_goes_before_the_polls_that_asked_earlier() -> None:
    """Fifty polls wait for a bucket one short of half full; a read a webhook asked for, after
    them, goes as soon as a token is there, and the polls then go in their order."""

    now = [0.0]

    async def sleep(seconds: float) -> None:  # time is the test's: waiting only yields
        await asyncio.sleep(0)

    async def go() -> list[str]:
        budget = RequestBudget(200, clock=lambda: now[0], sleep=sleep)
        for _ in range(200):
            await budget.acquire()  # the bucket is empty: everyone waits for tokens
        order: list[str] = []

        async def read(name: str, priority: Priority) -> None:
            await budget.acquire(background=True, priority=priority)
            order.append(name)

        polls = [asyncio.ensure_future(read(f"poll {n}", Priority.POLL)) for n in range(50)]
        await asyncio.sleep(0)  # the polls are queued first
        changed = asyncio.ensure_future(read("changed", Priority.CHANGED))
        webhook = asyncio.ensure_future(read("webhook", Priority.WEBHOOK))
        everyone = asyncio.gather(*polls, changed, webhook)
        await asyncio.sleep(0)  # both are queued too, before any token comes
        while not everyone.done():
            now[0] += 1 / 200  # a token
            await asyncio.sleep(0)
        return order

    order = asyncio.run(go())
    assert order[:2] == ["webhook", "changed"]
    assert order[2:] == [f"poll {n}" for n in range(50)]


@pytest.mark.parametrize("junk", ["", "../sessions/s-1", "t 1", "t?x=1", "t#1", "%2e%2e", "t/1"])
def test_an_id_that_is_not_one_never_becomes_a_url(junk: str) -> None:
    """A task or session ID from a payload's junk is no such thing: not found, nothing sent."""
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    async def go() -> None:
        client = BrowserUseClient(
            "bu_k", "http://bu.test/api/v2", transport=httpx.MockTransport(recording)
        )
        try:
            for call in (
                client.read(junk),
                client.read(junk, "v4"),
                client.stop(junk),
                client.get_session(junk),
                client.share_session(junk),
            ):
                with pytest.raises(NotFoundError):
                    await call
        finally:
            await client.aclose()

    asyncio.run(go())
    assert seen == []

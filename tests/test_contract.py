"""The Browser Use stand-in holds both sides to Browser Use's contract, over real HTTP."""

from __future__ import annotations

import httpx

from tests.fakes.browser_use import API_KEY, FakeBrowserUse

HEADERS = {"X-Browser-Use-API-Key": API_KEY}


def test_a_request_with_a_misspelled_field_is_refused_and_nothing_is_created(
    browser_use: FakeBrowserUse,
) -> None:
    browser_use.reset()
    body = {"task": "Find the price", "startURL": "https://shop.example"}
    answer = httpx.post(f"{browser_use.url}/api/v2/tasks", json=body, headers=HEADERS)
    assert answer.status_code == 422
    assert "startURL: not a field of CreateTaskRequest" in answer.text
    assert browser_use.created == []
    assert browser_use.schema_errors == ["startURL: not a field of CreateTaskRequest"]
    browser_use.schema_errors.clear()


def test_a_query_out_of_range_is_refused(browser_use: FakeBrowserUse) -> None:
    browser_use.reset()
    answer = httpx.get(f"{browser_use.url}/api/v2/tasks", params={"pageSize": 500}, headers=HEADERS)
    assert answer.status_code == 422
    assert browser_use.schema_errors and "pageSize" in browser_use.schema_errors[0]
    browser_use.schema_errors.clear()


def test_an_answer_missing_a_required_field_is_never_sent(browser_use: FakeBrowserUse) -> None:
    browser_use.reset()
    created = httpx.post(f"{browser_use.url}/api/v2/tasks", json={"task": "x"}, headers=HEADERS)
    assert created.status_code == 202
    task_id = created.json()["id"]
    assert httpx.get(f"{browser_use.url}/api/v2/tasks/{task_id}", headers=HEADERS).is_success
    del browser_use.tasks[task_id]["status"]  # a stand-in that drifted from the real API
    answer = httpx.get(f"{browser_use.url}/api/v2/tasks/{task_id}", headers=HEADERS)
    assert answer.status_code == 500
    assert browser_use.schema_errors == ["answer status: Field required"]
    browser_use.schema_errors.clear()

"""The Create Task model against Browser Use's own models (`browser-use-sdk`), and its wire form."""

from __future__ import annotations

import json
import uuid

import pytest
from pydantic import ValidationError

from bot.models import (
    KNOWN_LLMS,
    PROXY_COUNTRY_CODES,
    V4_MODEL_OF_V2,
    V4_MODELS,
    CreateTaskRequest,
    SessionSettings,
    SlackRoute,
    TaskCreated,
)
from tests.contract import problems, v2, v4


def every_option() -> CreateTaskRequest:
    return CreateTaskRequest(
        task="Find the price",
        llm="gpt-4.1",
        start_url="https://example.com",
        max_steps=30,
        structured_output='{"type": "object"}',
        metadata={"project": "q3"},
        secrets={"password": "hunter2"},
        allowed_domains=["example.com", "*.example.com"],
        op_vault_id="vault-1",
        session_settings=SessionSettings(
            profile_id=uuid.uuid4(),
            proxy_country_code="DE",
            browser_screen_width=1280,
            browser_screen_height=800,
        ),
        highlight_elements=True,
        flash_mode=True,
        thinking=True,
        vision="auto",
        system_prompt_extension="Be brief.",
        judge=True,
        judge_ground_truth="42 EUR",
        judge_llm="o3",
        skill_ids=["*"],
    )


def wire_fields(model: type) -> set[str]:
    """What a model sends: its fields but the app's own (`exclude`d: the engine, the cost cap)."""
    return {field.alias or name for name, field in model.model_fields.items() if not field.exclude}


def test_every_field_of_browser_uses_request_is_a_model_field() -> None:
    wire = every_option().to_wire()
    assert wire_fields(v2.CreateTaskRequest) == wire_fields(CreateTaskRequest)
    settings_fields = wire_fields(v2.SessionSettings) - {"enableRecording"}
    assert settings_fields == set(wire["sessionSettings"])


def test_accurate_modes_models_are_v4s_and_its_request_keeps_v4s_contract() -> None:
    assert set(V4_MODELS) == {model.value for model in v4.Model}
    assert set(V4_MODEL_OF_V2.values()) <= set(V4_MODELS)
    assert set(V4_MODEL_OF_V2) - set(V4_MODELS) <= set(KNOWN_LLMS)  # v2 names, mapped
    request = CreateTaskRequest.model_validate(
        {
            "task": "File the expense report",
            "engine": "v4",
            "llm": "claude-opus-4-7",
            "start_url": "https://expenses.example",
            "structured_output": '{"type":"object"}',
            "secrets": {"password": "hunter2"},
            "allowed_domains": ["expenses.example"],
            "op_vault_id": "vault1",
            "judge_ground_truth": "filed",
            "max_cost_usd": 2.5,
            "session_settings": {"proxy_country_code": "de", "browser_screen_width": 1280},
        }
    )
    wire = request.to_v4_wire()
    assert problems(v4.RunCreateRequest, json.dumps(wire)) == []
    assert wire["task"] == "Start at https://expenses.example. File the expense report"
    assert wire["secretBindings"][0]["allowedDomains"] == ["expenses.example"]
    assert "engine" not in request.to_wire() and "maxCostUsd" not in request.to_wire()
    kept = CreateTaskRequest.from_kept(request.to_kept())
    assert (kept.engine, kept.max_cost_usd) == ("v4", 2.5)  # a recurring task keeps its engine


def test_a_request_with_every_option_keeps_browser_uses_contract() -> None:
    wire = every_option().to_wire()
    assert problems(v2.CreateTaskRequest, json.dumps(wire)) == []
    assert wire["secrets"] == {"password": "hunter2"}
    assert wire["sessionSettings"]["proxyCountryCode"] == "de"


def test_the_contract_refuses_a_misspelled_field_and_a_wrong_type() -> None:
    assert problems(v2.CreateTaskRequest, '{"task": "x", "startURL": "https://a.example"}') == [
        "startURL: not a field of CreateTaskRequest"
    ]
    nested = '{"task": "x", "sessionSettings": {"proxyCountry": "de"}}'
    assert problems(v2.CreateTaskRequest, nested) == [
        "sessionSettings.proxyCountry: not a field of SessionSettings"
    ]
    assert problems(v2.CreateTaskRequest, '{"task": "x", "maxSteps": "30"}')


def test_browser_use_lists_no_model_or_country_we_do_not_know() -> None:
    assert {llm.value for llm in v2.SupportedLLMs} <= set(KNOWN_LLMS)
    assert {code.value for code in v2.ProxyCountryCode} == PROXY_COUNTRY_CODES


def test_the_created_response_matches_the_contract() -> None:
    assert {n for n, f in v2.TaskCreatedResponse.model_fields.items() if f.is_required()} == {
        "id",
        "session_id",
    }
    created = TaskCreated.model_validate({"id": "a", "sessionId": "b"})
    assert (created.id, created.session_id) == ("a", "b")


def test_only_the_fields_set_are_sent() -> None:
    assert CreateTaskRequest(task="x").to_wire() == {"task": "x"}
    no_proxy = CreateTaskRequest(
        task="x", session_settings=SessionSettings(proxy_country_code=None)
    )
    assert no_proxy.to_wire() == {"task": "x", "sessionSettings": {"proxyCountryCode": None}}


def test_secrets_never_show_in_repr_or_a_plain_dump() -> None:
    request = every_option()
    assert "hunter2" not in repr(request)
    assert "hunter2" not in str(request.model_dump())
    assert "hunter2" not in request.model_dump_json()


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"task": ""}, "at least 1 character"),
        ({"task": "x" * 50_001}, "at most 50000 characters"),
        ({"task": "x", "max_steps": 0}, "greater than or equal to 1"),
        ({"task": "x", "max_steps": 10_001}, "less than or equal to 10000"),
        ({"task": "x", "start_url": "javascript:alert(1)"}, "http:// or https://"),
        ({"task": "x", "session_id": "not-a-uuid"}, "UUID"),
        ({"task": "x", "metadata": {str(i): "v" for i in range(11)}}, "at most 10 pairs"),
        ({"task": "x", "system_prompt_extension": "x" * 2001}, "at most 2000"),
        ({"task": "x", "judge_ground_truth": "x" * 10_001}, "at most 10000"),
        ({"task": "x", "vision": "sometimes"}, "auto"),
        ({"task": "x", "session_settings": {"browser_screen_width": 100}}, "320"),
        ({"task": "x", "session_settings": {"proxy_country_code": "zz"}}, "unknown proxy"),
        (
            {"task": "x", "session_id": str(uuid.uuid4()), "session_settings": {}},
            "session settings only apply to new sessions",
        ),
    ],
)
def test_out_of_range_values_are_refused(fields: dict, complaint: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CreateTaskRequest.model_validate(fields)
    assert complaint in str(caught.value)


def test_the_slack_route_rides_in_one_metadata_pair() -> None:
    route = SlackRoute(team="T1", channel="C1", thread_ts="1700000000.000100", user="U1")
    request = route.attach(CreateTaskRequest(task="x", metadata={"project": "q3"}, flash_mode=True))
    wire = request.to_wire()
    assert wire == {
        "task": "x",
        "flashMode": True,
        "metadata": {"project": "q3", "slack": "T1/C1/1700000000.000100/U1"},
    }
    assert SlackRoute.from_metadata(wire["metadata"]) == route
    assert SlackRoute.decode("T1/C1/-/U1") == SlackRoute(
        team="T1", channel="C1", thread_ts=None, user="U1"
    )
    assert SlackRoute.from_metadata({"other": "x"}) is None

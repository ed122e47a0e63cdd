"""What real Slack refuses in a message or a view, checked the way Slack checks it.

`slack_sdk`'s models check many rules on `validate_json()`; the documented limits they do not
check are checked here by hand. Each limit names the page of Slack's documentation it comes from:

- BLOCKS:   https://docs.slack.dev/reference/block-kit/blocks
- ELEMENTS: https://docs.slack.dev/reference/block-kit/block-elements
- OBJECTS:  https://docs.slack.dev/reference/block-kit/composition-objects
- VIEWS:    https://docs.slack.dev/reference/views  (modal and home view objects)
- METADATA: https://docs.slack.dev/messaging/message-metadata
- POST:     https://docs.slack.dev/reference/methods/chat.postMessage

A length is always measured on the text as Slack receives it: after the app escaped `&<>`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_MAX_BLOCKS = 50  # BLOCKS: "up to 50 blocks in each message"
VIEW_MAX_BLOCKS = 100  # BLOCKS: "up to 100 blocks in modals or Home tabs"
ID_MAX = 255  # BLOCKS/ELEMENTS: block_id and action_id "maximum length 255"
SECTION_TEXT_MAX = 3000  # BLOCKS, section: text "maximum length 3000"
SECTION_FIELDS_MAX = 10  # BLOCKS, section: "maximum number of items is 10"
FIELD_TEXT_MAX = 2000  # BLOCKS, section: "maximum length for the text in each item is 2000"
HEADER_TEXT_MAX = 150  # BLOCKS, header: "maximum length 150"
CONTEXT_ELEMENTS_MAX = 10  # BLOCKS, context: "maximum number of items is 10"
CONTEXT_TEXT_MAX = 3000  # OBJECTS, text object: 3000 wherever no smaller limit applies
ACTIONS_ELEMENTS_MAX = 25  # BLOCKS, actions: "maximum number of items is 25"
INPUT_LABEL_MAX = 2000  # BLOCKS, input: label and hint "maximum length 2000"
BUTTON_TEXT_MAX = 75  # ELEMENTS, button: text "maximum length 75"
BUTTON_VALUE_MAX = 2000  # ELEMENTS, button: value "maximum length 2000"
BUTTON_URL_MAX = 3000  # ELEMENTS, button: url "maximum length 3000"
PLACEHOLDER_MAX = 150  # ELEMENTS: placeholder "maximum length 150"
OPTION_TEXT_MAX = 75  # OBJECTS, option: text "maximum length 75"
OPTION_VALUE_MAX = 150  # OBJECTS, option: value "maximum length 150"
SELECT_OPTIONS_MAX = 100  # ELEMENTS, static select: "maximum number of options is 100"
CHECKBOX_OPTIONS_MAX = 10  # ELEMENTS, checkboxes/radio buttons: "maximum of 10 options"
TEXT_INPUT_MAX = 3000  # ELEMENTS, plain-text input: max_length "maximum 3000"
TITLE_MAX = 24  # VIEWS: title, submit and close "maximum length 24"
PRIVATE_METADATA_MAX = 3000  # VIEWS: private_metadata "maximum length 3000"
CALLBACK_ID_MAX = 255  # VIEWS: callback_id "maximum length 255"
MESSAGE_TEXT_MAX = 40_000  # POST: text is truncated above 40,000; we treat more as refused
# METADATA: event_type is "a string that is alphanumeric" (underscores allowed, as in Slack's own
# examples such as `task_created`); event_payload is an object.
EVENT_TYPE = re.compile(r"^[A-Za-z0-9_]{1,255}$")

PLAIN_ONLY = "plain_text"


def _text_object(obj: Any, where: str, limit: int, *, plain: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"{where}: not a text object"]
    if plain and obj["type"] != PLAIN_ONLY:
        return [f"{where}: must be plain_text"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        # OBJECTS, text object: "minimum length 1"; Slack refuses an empty or blank text.
        return [f"{where}: text must have at least 1 character"]
    if not text.strip():
        return [f"{where}: text is only whitespace"]
    if len(text) > limit:
        return [f"{where}: text is {len(text)} characters (limit {limit})"]
    return []


def _unique_id(value: Any, where: str, seen: set[str]) -> list[str]:
    """A block_id or action_id: 1 to 255 characters, and not used twice where it must be unique."""
    if value is None:
        return []
    if not isinstance(value, str) or not 1 <= len(value) <= ID_MAX:
        return [f"{where} must be 1 to {ID_MAX} characters"]
    if value in seen:
        return [f"{where} {value!r} is used twice"]
    seen.add(value)
    return []


def _option(option: Any, where: str) -> list[str]:
    if not isinstance(option, dict):
        return [f"{where}: not an option"]
    problems = _text_object(option.get("text"), f"{where}.text", OPTION_TEXT_MAX)
    value = option.get("value")
    if not isinstance(value, str) or not value or len(value) > OPTION_VALUE_MAX:
        problems.append(f"{where}.value must be 1 to {OPTION_VALUE_MAX} characters")
    return problems


def _element(element: Any, where: str, action_ids: set[str]) -> list[str]:
    if not isinstance(element, dict):
        return [f"{where}: not an element"]
    problems: list[str] = []
    kind = element.get("type")
    # ELEMENTS: action_id "should be unique among all other action_ids in the block".
    problems += _unique_id(element.get("action_id"), f"{where}.action_id", action_ids)
    if "placeholder" in element:
        problems += _text_object(
            element["placeholder"], f"{where}.placeholder", PLACEHOLDER_MAX, plain=True
        )
    if kind == "button":
        problems += _text_object(element.get("text"), f"{where}.text", BUTTON_TEXT_MAX, plain=True)
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > BUTTON_VALUE_MAX):
            size = len(value) if isinstance(value, str) else "?"
            problems.append(f"{where}.value is {size} characters (limit {BUTTON_VALUE_MAX})")
        url = element.get("url")
        if url is not None and len(str(url)) > BUTTON_URL_MAX:
            problems.append(f"{where}.url is over {BUTTON_URL_MAX} characters")
    elif kind in ("static_select", "multi_static_select", "checkboxes", "radio_buttons"):
        options = element.get("options") or []
        limit = SELECT_OPTIONS_MAX if "select" in kind else CHECKBOX_OPTIONS_MAX
        if not 1 <= len(options) <= limit:
            problems.append(f"{where}: {len(options)} options (1 to {limit})")
        for i, option in enumerate(options):
            problems += _option(option, f"{where}.options[{i}]")
        initial = element.get("initial_option")
        if initial is not None and initial not in options:
            problems.append(f"{where}.initial_option is not one of its options")
    elif kind == "plain_text_input":
        max_length = element.get("max_length", TEXT_INPUT_MAX)
        initial = element.get("initial_value")
        if isinstance(initial, str) and len(initial) > min(max_length, TEXT_INPUT_MAX):
            problems.append(f"{where}.initial_value is longer than its max_length")
    return problems


TASK_CARD_STATES = {"pending", "in_progress", "complete", "error"}  # PLAN: task card block


def _task_card(card: Any, where: str) -> list[str]:
    """PLAN (https://docs.slack.dev/reference/block-kit/blocks/task-card-block): task_id and a
    plain-text title required; status one of four; details and output a single rich_text."""
    if not isinstance(card, dict) or card.get("type") != "task_card":
        return [f"{where}: not a task_card"]
    problems = []
    for name in ("task_id", "title"):
        value = card.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}.{name} is required")
    if "status" in card and card["status"] not in TASK_CARD_STATES:
        problems.append(f"{where}.status {card['status']!r} is not one of {TASK_CARD_STATES}")
    for name in ("details", "output"):
        if name in card and (
            not isinstance(card[name], dict) or card[name].get("type") != "rich_text"
        ):
            problems.append(f"{where}.{name} must be a rich_text block")
    return problems


def _block(block: Any, where: str, block_ids: set[str]) -> list[str]:
    if not isinstance(block, dict):
        return [f"{where}: not a block"]
    problems: list[str] = []
    parsed = Block.parse(block)
    if parsed is None:
        return [f"{where}: unknown block type {block.get('type')!r}"]
    try:
        parsed.validate_json()
    except SlackObjectFormationError as exc:
        problems.append(f"{where}: {exc}")
    # BLOCKS: block_id "should be unique for each message and each iteration of a message".
    problems += _unique_id(block.get("block_id"), f"{where}.block_id", block_ids)
    kind = block.get("type")
    action_ids: set[str] = set()
    if kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(f"{where}: a section needs text or fields")
        if "text" in block:
            problems += _text_object(block["text"], f"{where}.text", SECTION_TEXT_MAX)
        fields = block.get("fields") or []
        if len(fields) > SECTION_FIELDS_MAX:
            problems.append(f"{where}: {len(fields)} fields (limit {SECTION_FIELDS_MAX})")
        for i, field in enumerate(fields):
            problems += _text_object(field, f"{where}.fields[{i}]", FIELD_TEXT_MAX)
        if "accessory" in block:
            problems += _element(block["accessory"], f"{where}.accessory", action_ids)
    elif kind == "header":
        problems += _text_object(block.get("text"), f"{where}.text", HEADER_TEXT_MAX, plain=True)
    elif kind == "context":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= CONTEXT_ELEMENTS_MAX:
            problems.append(f"{where}: {len(elements)} elements (1 to {CONTEXT_ELEMENTS_MAX})")
        for i, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") in ("mrkdwn", "plain_text"):
                problems += _text_object(element, f"{where}.elements[{i}]", CONTEXT_TEXT_MAX)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= ACTIONS_ELEMENTS_MAX:
            problems.append(f"{where}: {len(elements)} elements (1 to {ACTIONS_ELEMENTS_MAX})")
        for i, element in enumerate(elements):
            problems += _element(element, f"{where}.elements[{i}]", action_ids)
    elif kind == "plan":
        title = block.get("title")
        if not isinstance(title, str) or not title.strip():
            problems.append(f"{where}: a plan needs a title")
        tasks = block.get("tasks") or []
        if not isinstance(tasks, list):
            problems.append(f"{where}.tasks must be a list")
            tasks = []
        for i, card in enumerate(tasks):
            problems += _task_card(card, f"{where}.tasks[{i}]")
    elif kind == "task_card":
        problems += _task_card(block, where)
    elif kind == "input":
        problems += _text_object(block.get("label"), f"{where}.label", INPUT_LABEL_MAX, plain=True)
        if "hint" in block:
            problems += _text_object(block["hint"], f"{where}.hint", INPUT_LABEL_MAX, plain=True)
        problems += _element(block.get("element"), f"{where}.element", action_ids)
    return problems


def _blocks(blocks: Any, limit: int) -> list[str]:
    if not isinstance(blocks, list):
        return ["blocks must be a list"]
    problems = [f"{len(blocks)} blocks (limit {limit})"] if len(blocks) > limit else []
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        problems += _block(block, f"blocks[{i}]", block_ids)
    return problems


def _decoded(value: Any) -> Any:
    """Form-encoded calls carry JSON fields as strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def message_problems(args: dict[str, Any]) -> list[str]:
    """Why Slack would refuse this message (chat.postMessage/update/postEphemeral, response_url)."""
    problems: list[str] = []
    blocks = _decoded(args.get("blocks"))
    text = args.get("text")
    has_text = isinstance(text, str) and text.strip()
    if blocks is None and not has_text and not args.get("delete_original"):
        problems.append("no_text: a message needs text or blocks")
    if isinstance(text, str) and len(text) > MESSAGE_TEXT_MAX:
        problems.append(f"text is {len(text)} characters (limit {MESSAGE_TEXT_MAX})")
    if blocks is not None:
        problems += _blocks(blocks, MESSAGE_MAX_BLOCKS)
    metadata = _decoded(args.get("metadata"))
    if metadata is not None:
        if not isinstance(metadata, dict):
            problems.append("metadata must be an object")
        else:
            if not EVENT_TYPE.match(str(metadata.get("event_type", ""))):
                problems.append(f"metadata.event_type {metadata.get('event_type')!r} is malformed")
            if not isinstance(metadata.get("event_payload"), dict):
                problems.append("metadata.event_payload must be an object")
    return problems


def view_problems(view: Any) -> list[str]:
    """Why Slack would refuse this view (views.open/update/push/publish)."""
    view = _decoded(view)
    if not isinstance(view, dict):
        return ["view must be an object"]
    problems: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        problems.append(f"view type {kind!r} is not modal or home")
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError) as exc:
        problems.append(f"view: {exc}")
    if kind == "modal":
        problems += _text_object(view.get("title"), "title", TITLE_MAX, plain=True)
        for name in ("submit", "close"):
            if name in view:
                problems += _text_object(view[name], name, TITLE_MAX, plain=True)
        has_input = any(
            isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
        )
        if has_input and "submit" not in view:
            problems.append("a modal with inputs needs a submit button")
    metadata = view.get("private_metadata")
    if metadata is not None and len(str(metadata)) > PRIVATE_METADATA_MAX:
        problems.append(f"private_metadata is over {PRIVATE_METADATA_MAX} characters")
    callback_id = view.get("callback_id")
    if callback_id is not None and len(str(callback_id)) > CALLBACK_ID_MAX:
        problems.append(f"callback_id is over {CALLBACK_ID_MAX} characters")
    blocks = view.get("blocks")
    if not blocks:
        problems.append("a view needs at least one block")
    else:
        problems += _blocks(blocks, VIEW_MAX_BLOCKS)
    return problems


TASK_STATUSES = frozenset({"pending", "in_progress", "complete", "error"})
CHUNK_TEXT_MAX = 256  # a task card's title, details and output (third-party reports)


def chunk_problems(chunks: Any, mode: str) -> list[str]:
    """Why Slack would refuse a stream's chunks (`invalid_chunks`): an unknown type, a task card
    without its id, title or a status of Slack's, text past its limit, and a plan mixed with
    task cards of the timeline (a `plan_update` in a timeline stream; a plan or task-card block
    in a plan stream)."""
    chunks = _decoded(chunks)
    if chunks is None:
        return []
    if not isinstance(chunks, list):
        return ["chunks must be an array"]
    problems: list[str] = []
    for n, chunk in enumerate(chunks):
        kind = chunk.get("type") if isinstance(chunk, dict) else None
        where = f"chunks[{n}]"
        if kind == "markdown_text":
            if not isinstance(chunk.get("text"), str):
                problems.append(f"{where}: markdown_text needs its text")
        elif kind == "task_update":
            if not chunk.get("id") or not chunk.get("title"):
                problems.append(f"{where}: a task_update needs an id and a title")
            if chunk.get("status") not in TASK_STATUSES:
                problems.append(f"{where}: status {chunk.get('status')!r} is not Slack's")
            for key in ("title", "details", "output"):
                if len(str(chunk.get(key) or "")) > CHUNK_TEXT_MAX:
                    problems.append(f"{where}.{key} is over {CHUNK_TEXT_MAX} characters")
        elif kind == "plan_update":
            if not chunk.get("title"):
                problems.append(f"{where}: a plan_update needs a title")
            if mode != "plan":
                problems.append(f"{where}: a plan_update in a {mode} stream (mixed with cards)")
        elif kind == "blocks":
            blocks = chunk.get("blocks")
            problems += [f"{where}: {p}" for p in _blocks(blocks, MESSAGE_MAX_BLOCKS)]
            kinds = {b.get("type") for b in blocks or [] if isinstance(b, dict)}
            if mode == "plan" and kinds & {"plan", "task_card"}:
                problems.append(f"{where}: plan or task-card blocks in a plan stream")
        else:
            problems.append(f"{where}: unknown chunk type {kind!r}")
    return problems

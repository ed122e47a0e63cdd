"""Every Slack listener, one module per surface: the command, the task form, the shortcuts, the
task buttons, conversations (mentions, DMs and the buttons under results), the Home tab, the
settings, the recurring tasks' buttons and the Workflow Builder step.

Each listener is a module-level `handle_*` function taking what Bolt passes plus a keyword-only
`deps`, so a test can call it without a process. It acks within Slack's 3 seconds, hands slow
work to `deps.inflight.spawn`, and calls the flows (`handlers.flows`: submit, controls, …);
listener modules never import each other. Each module's `register(app, deps)` binds them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps

F = TypeVar("F", bound=Callable[..., Any])


def bind(handler: F, deps: Deps | Callable[[], Deps] | None, **more: Any) -> F:
    """`handler` with `deps` (and `more`) bound, for Bolt to call. Bolt injects arguments by the
    names of the positional parameters (a keyword-only `deps` is not one of them), and logs the
    listener under the handler's own name. With many workspaces `deps` is a function: the
    request's workspace's world, found when the request comes (`bot.workspaces.current`)."""
    if deps is None or isinstance(deps, Deps):
        bound = {"deps": deps} if deps is not None else {}
        return functools.update_wrapper(functools.partial(handler, **bound, **more), handler)  # type: ignore[return-value]
    world = deps

    @functools.wraps(handler)
    async def per_request(*args: Any, **kwargs: Any) -> Any:
        return await handler(*args, deps=world(), **more, **kwargs)

    return per_request  # type: ignore[return-value]


def register(app: AsyncApp, deps: Deps | Callable[[], Deps]) -> None:
    """Every listener of every surface, bound to `deps` (or, with many workspaces, to the
    function that finds each request's)."""
    # Imported here: each module imports `bind` from this package.
    from handlers.listeners import (
        commands,
        conversations,
        forms,
        home,
        logins,
        schedules,
        settings,
        shortcuts,
        task_buttons,
        workflow,
    )

    for module in (
        commands,
        forms,
        shortcuts,
        task_buttons,
        conversations,
        home,
        workflow,
        settings,
        schedules,
        logins,
    ):
        module.register(app, deps)

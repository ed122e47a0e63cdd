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
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


@dataclass(frozen=True)
class PerRequest(Generic[T]):
    """A value each request finds when it comes: with many workspaces, the request's
    workspace's (`bot.workspaces.current`, `current_client`)."""

    find: Callable[[], T]


def bind(handler: F, deps: Deps | PerRequest[Deps] | None, **more: Any) -> F:
    """`handler` with `deps` (and `more`) bound, for Bolt to call. Bolt injects arguments by the
    names of the positional parameters (a keyword-only `deps` is not one of them), and logs the
    listener under the handler's own name. A `PerRequest` value is found at each request."""
    given = {"deps": deps, **more} if deps is not None else more
    if not any(isinstance(v, PerRequest) for v in given.values()):
        return functools.update_wrapper(functools.partial(handler, **given), handler)  # type: ignore[return-value]

    @functools.wraps(handler)
    async def per_request(*args: Any, **kwargs: Any) -> Any:
        found = {k: v.find() if isinstance(v, PerRequest) else v for k, v in given.items()}
        return await handler(*args, **found, **kwargs)

    return per_request  # type: ignore[return-value]


def register(app: AsyncApp, deps: Deps | PerRequest[Deps]) -> None:
    """Every listener of every surface, bound to `deps` (with many workspaces, each request's)."""
    # Imported here: each module imports `bind` from this package.
    from handlers.listeners import (
        approvals,
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
        approvals,
    ):
        module.register(app, deps)

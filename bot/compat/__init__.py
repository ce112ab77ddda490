"""Everything the bot does with aiogram's and pydantic's internals, and the start-up check
that each still behaves as relied on.

Five patches make the bot lighter or faster than aiogram's general path, or its log
clearer. Each relies on something neither library documents, so each lives here, in one
module of its own:

- `lean_types` (lean_types.py): the Telegram types built on first use, not all at import
  (import peak ~165 -> ~60 MB);
- `lean_sends` (sends.py): a post's sends read only what a post needs of the answer and go
  as a small JSON body (~0.2 ms of CPU less per send);
- `response_types` (requests.py): the `Response[...]` classes aiogram reads answers with,
  held for the life of the process (pydantic holds them weakly);
- `router_reuse` (routers.py): module-level routers taken over by a new Dispatcher;
- `handler_names` (handlers.py): the module aiogram calls handlers from, which the log
  uses to name the handler an error came from.

The entry points (`python -m bot`, the tests, the benchmarks) call `start()` before anything
imports aiogram; the bot and the benchmarks then `await check()`: each patch's assumptions
are tried on the installed versions, and a patch whose assumption does not hold is switched
off (aiogram's normal path is used: slower, or more memory) with one WARNING line naming the
patch and the versions. pyproject.toml pins aiogram and pydantic to the minor versions the
suite ran on (TESTED_WITH); the check guards an install outside them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import version

log = logging.getLogger(__name__)

TESTED_WITH = {"aiogram": "3.31", "pydantic": "2.13"}


@dataclass
class Patch:
    """One patch: `on` until the check finds its assumption does not hold."""

    name: str
    on: bool = True
    off_because: str | None = None


def start() -> None:
    """Switch the patches on. Call first: the Telegram types' builds can only be deferred
    while aiogram has not been imported yet."""
    from bot.compat.lean_types import defer_aiogram_model_builds

    defer_aiogram_model_builds()


def versions() -> str:
    installed = ", ".join(f"{name} {version(name)}" for name in TESTED_WITH)
    tested = ", ".join(f"{name} {minor}" for name, minor in TESTED_WITH.items())
    return f"{installed}; tested with {tested}"


async def check() -> dict[str, bool]:
    """Try every patch that is on; switch off those whose assumptions do not hold (one
    WARNING line each). Returns each patch's state. Run before the bot is built."""
    from bot.compat import handlers, lean_types, requests, routers, sends

    # lean_types first: the others build Telegram types, which its fallback must have built.
    modules = (lean_types, sends, requests, routers, handlers)
    for module in modules:
        patch = module.PATCH
        if not patch.on:
            continue
        try:
            await module.probe()
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            module.switch_off()
            patch.on, patch.off_because = False, reason
            log.warning(
                "%s switched off, aiogram's normal path is used (%s): %s",
                patch.name,
                versions(),
                reason,
            )
    states = {module.PATCH.name: module.PATCH.on for module in modules}
    log.debug("patches on: %s (%s)", states, versions())
    return states


class NotAsRelied(Exception):
    """A probe found an internal that no longer behaves as a patch relies on."""

"""Module-level routers taken over by a new Dispatcher.

The handlers' routers are module-level (one per module, aiogram's own pattern), and a router
belongs to one parent: a second Dispatcher in the same process (each test builds one) would
be refused "Router is already attached". aiogram has no public way to detach a router, so
`detach` clears the private `_parent_router` (aiogram 3.31). `probe` attaches a router,
detaches it and attaches it elsewhere; when that fails, `detach` does nothing: one
Dispatcher per process (the bot's own case) still works.
"""

from __future__ import annotations

from aiogram import Router

from bot.compat import NotAsRelied, Patch

PATCH = Patch("router_reuse")


def detach(router: Router) -> None:
    """Let another parent take this router."""
    if PATCH.on:
        router._parent_router = None


async def probe() -> None:
    router = Router(name="compat-probe")
    Router(name="compat-first").include_router(router)
    detach(router)
    second = Router(name="compat-second")
    try:
        second.include_router(router)
    except RuntimeError as exc:
        raise NotAsRelied(f"a detached router could not be attached again ({exc})") from exc
    if router.parent_router is not second:
        raise NotAsRelied("a detached router did not take its new parent")


def switch_off() -> None:
    PATCH.on = False

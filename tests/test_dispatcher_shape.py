"""Structural checks on the production Dispatcher."""

from __future__ import annotations

from aiogram import Dispatcher
from aiogram.dispatcher.event.handler import CallableObject


def test_no_filter_or_handler_runs_in_a_thread(dp: Dispatcher) -> None:
    # aiogram runs a synchronous filter (a bare magic filter `F.text`, a bare `State`) via
    # asyncio.to_thread: a thread round trip per check on every update (bench/updates.py).
    # Wrap them: bot.filters.Magic, aiogram's StateFilter.
    offenders: list[str] = []
    for router in dp.chain_tail:
        for name, observer in router.observers.items():
            objects: list[tuple[str, CallableObject]] = [
                ("router filter", f) for f in observer._handler.filters or []
            ]
            for handler in observer.handlers:
                objects.append(("handler", handler))
                objects.extend(("filter", f) for f in handler.filters or [])
            offenders.extend(
                f"{router.name}.{name} {kind}: {obj.callback!r}"
                for kind, obj in objects
                if not obj.awaitable
            )
    assert offenders == []


def test_catch_all_router_is_last(dp: Dispatcher) -> None:
    assert dp.sub_routers[-1].name == "bot.handlers.fallback"

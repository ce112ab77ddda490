"""Telegram types built when first used, not all at import.

`import aiogram` rebuilds the pydantic validator of every Telegram type (about 400, each
with its nested types inlined) in a loop at the end of `aiogram/types/__init__.py`: the
process peaks at ~165 MB before the bot does anything (reported to aiogram as GitHub
issue 1513). The loop only passes each type the namespace that resolves its forward
references. Here the loop's calls are recorded instead of run, and every aiogram model
is given that namespace as its parent namespace (`__pydantic_parent_namespace__`, which
pydantic's `model_rebuild` merges in); pydantic then builds a model on its first use
with the same result. The bot uses a few dozen types: the import peaks at ~60 MB.

Relied on (aiogram 3.31, pydantic 2.13): aiogram's loop calls
`model_rebuild(_types_namespace=...)`; a model not complete is built on first use by
`model_rebuild`, which reads `__pydantic_parent_namespace__`. `probe` builds a small type
that way; when it fails, `switch_off` runs the recorded loop as aiogram would have (every
type built now: aiogram's normal path, the memory it costs).

`tests/test_lean_types.py` builds every aiogram model this way and checks each is complete.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from bot.compat import NotAsRelied, Patch

# Off until `defer_aiogram_model_builds` has deferred the builds (an entry point that
# imported aiogram first has them built already: nothing to check or to fall back from).
PATCH = Patch("lean_types", on=False)

_recorded: list[Any] = []  # the models aiogram's loop rebuilds, in its order
_namespace: dict[str, Any] = {}  # the namespace it passes them
_own_namespaces: dict[Any, Any] = {}  # each model's parent namespace before ours


def defer_aiogram_model_builds() -> bool:
    """Import aiogram's types and methods with their builds deferred. False: aiogram was
    imported before this ran (its types are built already; nothing to do)."""
    if "aiogram.types" in sys.modules:
        return False
    from pydantic import BaseModel

    eager = BaseModel.__dict__["model_rebuild"]  # the classmethod object itself

    def record(cls: type[BaseModel], *args: Any, **kwargs: Any) -> bool | None:
        given = kwargs.get("_types_namespace")
        if args or set(kwargs) != {"_types_namespace"} or not isinstance(given, dict):
            return eager.__func__(cls, *args, **kwargs)  # type: ignore[no-any-return]
        _recorded.append(cls)
        _namespace.update(given)
        return None

    BaseModel.model_rebuild = classmethod(record)  # type: ignore[method-assign,assignment]
    try:
        import aiogram.methods
        import aiogram.types  # noqa: F401
    finally:
        BaseModel.model_rebuild = eager  # type: ignore[method-assign]
    # Every model, complete or not: generic models parametrized later (the methods'
    # `Response[Message]`) take their origin's namespace and may meet a type not built yet.
    for model in aiogram_models():
        own = model.__pydantic_parent_namespace__
        _own_namespaces[model] = own
        model.__pydantic_parent_namespace__ = with_types_namespace(own)
    PATCH.on = True
    return True


def with_types_namespace(own: dict[str, Any] | None) -> dict[str, Any]:
    """A parent namespace that resolves the Telegram types' names too (the recorded one)."""
    return {**own, **_namespace} if own else _namespace


def aiogram_models() -> Iterator[Any]:
    """Every pydantic model class defined by aiogram."""
    from pydantic import BaseModel

    seen: set[type] = set()
    stack: list[type] = [BaseModel]
    while stack:
        sub: type
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
                if sub.__module__.startswith("aiogram."):
                    yield sub


async def probe() -> None:
    """A type not built yet builds from the recorded namespace and validates a sample."""
    if not _recorded:
        raise NotAsRelied("aiogram's model_rebuild loop was not found at import")
    # Looked up on the module: pydantic's first-use build also reads the caller's frames,
    # and a local name here would resolve the forward reference for it.
    import aiogram.types

    sample = {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}
    markup = aiogram.types.InlineKeyboardMarkup.model_validate(sample)
    if not isinstance(markup.inline_keyboard[0][0], aiogram.types.InlineKeyboardButton):
        raise NotAsRelied("a nested type was not validated as its class")


def switch_off() -> None:
    """Build every type now, as aiogram's own loop does, with the parent namespaces it had."""
    for model, own in _own_namespaces.items():
        model.__pydantic_parent_namespace__ = own
    for model in _recorded:
        model.model_rebuild(_types_namespace=_namespace)
    # The methods were defined while the types were not built: build them too, as they
    # are after aiogram's own import (one that cannot be built now is left to its first use).
    for model in aiogram_models():
        if not model.__pydantic_complete__:
            model.model_rebuild(raise_errors=False, _types_namespace=_namespace)


def warm_up() -> None:
    """Build, before the first member writes, the types every update needs (~130 ms):
    the update itself and the replies the bot sends most."""
    from aiogram.methods import (
        AnswerCallbackQuery,
        EditMessageReplyMarkup,
        EditMessageText,
        SendMessage,
    )
    from aiogram.types import Update

    for model in (
        Update,
        SendMessage,
        EditMessageText,
        EditMessageReplyMarkup,
        AnswerCallbackQuery,
    ):
        if not model.__pydantic_complete__:
            model.model_rebuild()

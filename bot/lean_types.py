"""Telegram types built when first used, not all at import.

`import aiogram` rebuilds the pydantic validator of every Telegram type (about 400, each
with its nested types inlined) in a loop at the end of `aiogram/types/__init__.py`: the
process peaks at ~165 MB before the bot does anything (aiogram issue #1513). The loop only
passes each type the namespace that resolves its forward references. Here the loop's calls
are recorded instead of run, and every aiogram model that is not complete is given that
namespace as its parent namespace; pydantic then builds a model on its first use with the
same result. The bot uses a few dozen types: the import peaks at ~64 MB.

`tests/test_lean_types.py` builds every aiogram model this way and checks each is complete.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any


def defer_aiogram_model_builds() -> bool:
    """Import aiogram's types and methods with their builds deferred. False: aiogram was
    imported before this ran (its types are built already; nothing to do)."""
    if "aiogram.types" in sys.modules:
        return False
    from pydantic import BaseModel

    eager = BaseModel.__dict__["model_rebuild"]  # the classmethod object itself
    namespace: dict[str, Any] = {}

    def record(cls: type[BaseModel], *args: Any, **kwargs: Any) -> bool | None:
        given = kwargs.get("_types_namespace")
        if args or set(kwargs) != {"_types_namespace"} or not isinstance(given, dict):
            return eager.__func__(cls, *args, **kwargs)  # type: ignore[no-any-return]
        namespace.update(given)
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
        model.__pydantic_parent_namespace__ = {**own, **namespace} if own else namespace
    return True


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

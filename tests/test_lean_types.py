"""Telegram types built on first use (bot/compat/lean_types.py): every aiogram model can be built
that way, and doing so costs less memory than aiogram's eager loop."""

from __future__ import annotations

import json

from tests.processes import python

CHECK = """
import json
from bot import compat
from bot.compat.lean_types import aiogram_models
compat.start()  # defers the builds: aiogram is imported here for the first time
def deep(n, f):  # pydantic reads the caller's frames when it builds on first use
    return f() if n == 0 else deep(n - 1, f)

def peak_mb():  # VmHWM: this process's own peak (ru_maxrss may carry the parent's)
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmHWM:"))
    return int(line.split()[1]) // 1024

before = peak_mb()
models = list(aiogram_models())
waiting = [m for m in models if not m.__pydantic_complete__]
from aiogram.types import Update
from bot.compat.lean_types import warm_up
assert not Update.__pydantic_complete__
deep(3, warm_up)
assert Update.__pydantic_complete__  # built before the first update
from aiogram.types import Update
update = Update.model_validate({"update_id": 1, "message": {"message_id": 1, "date": 0,
    "chat": {"id": 1, "type": "private"}, "text": "hi", "from": {"id": 1, "is_bot": False,
    "first_name": "A"}}})
from aiogram.methods.base import Response, TelegramMethod

answers = {m.__returning__ for m in models
           if issubclass(m, TelegramMethod) and not isinstance(
               getattr(m, "__returning__", property()), property)}
waiting += [Response[answer] for answer in answers]  # parametrized after the import
broken = []
for model in waiting:
    try:
        deep(12, lambda: model.__pydantic_validator__.validate_python)
    except Exception as exc:
        broken.append(f"{model.__name__}: {exc}")
    if not model.__pydantic_complete__:
        broken.append(model.__name__)
print(json.dumps({"models": len(models), "waiting": len(waiting), "broken": broken,
    "text": update.message.text, "peak_mb_at_import": before, "answers": len(answers)}))
"""


def test_every_aiogram_model_builds_on_first_use_and_the_import_is_lean() -> None:
    done = python("-c", CHECK)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["models"] > 500 and found["waiting"] > 300  # the builds were deferred
    assert found["broken"] == []  # ...and each one completes with the recorded namespace
    assert found["text"] == "hi" and found["answers"] > 20  # Response[...] of the methods
    assert found["peak_mb_at_import"] < 120  # aiogram's eager loop alone peaks at ~165 MB

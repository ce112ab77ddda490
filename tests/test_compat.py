"""bot/compat/: the patches on aiogram's and pydantic's internals hold on the installed
versions, which pyproject.toml pins; with an internal faked to differ, the start-up check
switches that patch off with one WARNING line, and the bot still answers a member and sends
a post through aiogram's normal path."""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import AsyncIterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from packaging.requirements import Requirement
from packaging.version import Version
from pydantic import BaseModel
from sqlalchemy import select

from bot import compat
from bot.app import with_request_middlewares
from bot.broadcast.engine import Broadcaster, SendSettings
from bot.broadcast.limiter import Pacer
from bot.compat import handlers, lean_types, requests, routers, sends
from bot.compat.sends import BotSession
from bot.storage.migrate import upgrade
from bot.storage.models import Delivery
from tests.databases import database, migrated_sqlite
from tests.fake_bot_api import FakeBotAPI
from tests.processes import ROOT, python
from tests.test_broadcast_engine import FIRST_CHAT, TOKEN, _members, _post
from tests.warm_start import COLD, STARTER

PINNED = ("aiogram", "pydantic")


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = (Requirement(line) for line in project["dependencies"])
    return {r.name: r for r in found if r.name in PINNED}


@pytest.mark.parametrize("name", PINNED)
def test_aiogram_and_pydantic_are_pinned_to_the_minor_version_the_suite_runs_on(
    name: str,
) -> None:
    required = _requirements()[name].specifier
    installed = Version(version(name))
    major, minor = installed.release[:2]
    assert installed in required
    assert f"{major}.{minor}" == compat.TESTED_WITH[name]
    assert Version(f"{major}.{minor}.99") in required
    assert Version(f"{major}.{minor + 1}.0") not in required  # the next minor is untested
    assert Version(f"{major}.{minor - 1}.0") not in required


async def test_every_patch_holds_on_the_installed_versions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="bot.compat"):
        states = await compat.check()
    assert states == {
        "lean_types": True,
        "lean_sends": True,
        "response_types": True,
        "router_reuse": True,
        "handler_names": True,
    }
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


# Each fake makes one internal differ as a later aiogram or pydantic might; `before` runs
# before the patches are switched on (aiogram not imported yet), `after` just after.
FAKES: dict[str, dict[str, str]] = {
    # pydantic no longer merges a model's __pydantic_parent_namespace__ when it builds it
    # on first use: the Telegram types' forward references do not resolve.
    "lean_types": {
        "before": (
            "import pydantic._internal._model_construction as construction\n"
            "construction.unpack_lenient_weakvaluedict = lambda namespace: None\n"
        ),
        "after": "",
    },
    # aiogram's methods get a model_dump of their own that ignores its arguments (the
    # fields set, the JSON mode).
    "lean_sends": {
        "before": "",
        "after": (
            "from aiogram.methods import TelegramMethod\n"
            "from pydantic import BaseModel\n"
            "TelegramMethod.model_dump = lambda self, **kwargs: BaseModel.model_dump(self)\n"
        ),
    },
    # pydantic stops caching parametrized generic classes: Response[X] is new every time.
    "response_types": {
        "before": "",
        "after": (
            "import pydantic._internal._generics as generics\n"
            "generics.get_cached_generic_type_early = lambda *args: None\n"
            "generics.get_cached_generic_type_late = lambda *args: None\n"
        ),
    },
    # aiogram keeps a router's parent under another name than `_parent_router`.
    "router_reuse": {
        "before": "",
        "after": (
            "from aiogram import Router\n"
            "def parent(self):\n"
            "    return self.__dict__.get('_parent')\n"
            "def attach(self, router):\n"
            "    if self.__dict__.get('_parent'):\n"
            "        raise RuntimeError('Router is already attached')\n"
            "    self.__dict__['_parent'] = router\n"
            "    router.sub_routers.append(self)\n"
            "Router.parent_router = property(parent, attach)\n"
        ),
    },
    # aiogram calls handlers from another module than aiogram.dispatcher.event.handler.
    "handler_names": {
        "before": "",
        "after": (
            "import asyncio, functools\n"
            "from aiogram.dispatcher.event.handler import CallableObject\n"
            "async def call(self, *args, **kwargs):\n"
            "    kwargs = self._prepare_kwargs(kwargs)\n"
            "    wrapped = functools.partial(self.callback, *args, **kwargs)\n"
            "    return await wrapped() if self.awaitable else await asyncio.to_thread(wrapped)\n"
            "CallableObject.call = call\n"
        ),
    },
}

# The start of `python -m bot run` (patches on, then the check) with a fake applied, then
# the production Dispatcher answering a member through the recording session, and a post
# with a survey sent to that member through the broadcast's own sender.
STARTS = """
import asyncio, json, logging, sys

lines = []
class Keep(logging.Handler):
    def emit(self, record):
        lines.append([record.levelname, record.name, record.getMessage()])
logging.getLogger().addHandler(Keep())
logging.getLogger().setLevel(logging.INFO)
# BEFORE
from bot import compat
compat.start()
# AFTER

async def main(db):
    states = await compat.check()
    from bot.app import create_bot, create_dispatcher
    from bot.context import build_context
    from bot.broadcast.composition import Rendition, parts
    from bot.broadcast.sends import send_part
    from bot.storage.migrate import upgrade
    from tests.conftest import make_settings
    from tests.driver import Person
    from tests.recording import RecordingSession

    ctx = build_context(make_settings("sqlite+aiosqlite:///" + db))
    await upgrade(ctx.engine)
    recording = RecordingSession()
    bot = create_bot(ctx.settings, session=recording)
    member = Person(create_dispatcher(ctx), bot, recording, 4242, language_code="ru")
    replies = await member.send("/start")
    post = Rendition(language="ru", text="<b>Новость</b>", text_language="ru",
        media_kind=None, media_file_id=None, poll_question="Вовремя?",
        poll_options=("Да", "Нет"), poll_language="ru")
    before = len(recording.requests)
    for part in parts(post):
        await send_part(bot, 4242, post, part, paid=True)
    await ctx.close()
    print(json.dumps({
        "states": states,
        "answered": [getattr(r, "text", None) for r in replies if getattr(r, "chat_id", 0) == 4242],
        "post": [type(r).__name__ for r in recording.requests[before:]],
        "post_chats": [r.chat_id for r in recording.requests[before:]],
        "request_middlewares": [type(m).__name__ for m in bot.session.middleware],
        "logged": [line for line in lines if line[0] not in ("DEBUG", "INFO")],
    }))

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.parametrize("patch", list(FAKES))
def test_an_internal_that_differs_switches_its_patch_off_and_the_bot_still_works(
    patch: str, tmp_path: Path
) -> None:
    fake = FAKES[patch]
    script = STARTS.replace("# BEFORE", fake["before"]).replace("# AFTER", fake["after"])
    # A fake applied after the start's imports may run in a process forked from the warm
    # starter (tests/warm_start.py), which has done those imports; one applied before them
    # needs a fresh interpreter.
    run = STARTER.run if not fake["before"] and not COLD else python
    done = run("-c", script, str(migrated_sqlite(tmp_path / "bot.db")), timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["states"] == {name: name != patch for name in FAKES}
    # One line, at WARNING, naming the patch and the installed versions; nothing else.
    assert len(found["logged"]) == 1, found["logged"]
    level, logger, line = found["logged"][0]
    assert (level, logger) == ("WARNING", "bot.compat")
    assert f"{patch} switched off" in line and "\n" not in line
    assert f"aiogram {version('aiogram')}" in line and f"pydantic {version('pydantic')}" in line
    # The member is answered: the onboarding's first question, in the member's language.
    assert any(text and "язык" in text for text in found["answered"]), found["answered"]
    # The post and its survey reach the member: aiogram's own methods when lean sends are off.
    lean = patch != "lean_sends"
    assert found["post"] == (
        ["BroadcastMessage", "BroadcastPoll"] if lean else ["SendMessage", "SendPoll"]
    )
    assert found["post_chats"] == [4242, 4242]
    kept = "KeepResponseTypes" in found["request_middlewares"]
    assert kept == (patch != "response_types")


class Requests(BaseRequestMiddleware):
    """The methods the bot sent and the type each answer was read as."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        answer = await make_request(bot, method)
        self.seen.append((type(method).__name__, type(answer).__name__))
        return answer


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
def patches_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check switches patches off for the whole process: on again after the test."""
    for module in (lean_types, sends, requests, routers, handlers):
        monkeypatch.setattr(module.PATCH, "on", module.PATCH.on)
        monkeypatch.setattr(module.PATCH, "off_because", module.PATCH.off_because)


@pytest.mark.usefixtures("patches_restored")
async def test_with_lean_sends_off_a_post_with_a_survey_goes_as_aiogram_sends_it(
    tmp_path: Path,
    api: FakeBotAPI,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Through the bot's own session and request middlewares to the fake Bot API: every
    member gets the post and the poll, and each poll's id is recorded."""

    def dump_everything(self: BaseModel, **kwargs: Any) -> dict[str, Any]:
        return BaseModel.model_dump(self)

    monkeypatch.setattr(TelegramMethod, "model_dump", dump_everything)
    with caplog.at_level(logging.INFO, logger="bot.compat"):
        states = await compat.check()
    assert states == {name: name != "lean_sends" for name in FAKES}
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(logged) == 1 and "lean_sends switched off" in logged[0].getMessage()

    async with database("sqlite", tmp_path) as engine:
        await upgrade(engine)
        await _members(engine, 12)
        survey = {
            "kk": {"question": "Жалақы уақытында ма?", "options": ["Иә", "Жоқ"]},
            "ru": {"question": "Зарплата вовремя?", "options": ["Да", "Нет"]},
        }
        post = await _post(engine, survey=survey)
        session = BotSession(api=TelegramAPIServer.from_base(api.base_url))
        bot = with_request_middlewares(Bot(TOKEN, session=session))
        seen = Requests()
        bot.session.middleware(seen)
        try:
            settings = SendSettings(concurrency=4, batch=8, paid=True)
            result = await Broadcaster(bot, engine, Pacer(500), owner="a", settings=settings).run(
                post
            )
        finally:
            await bot.session.close()
        async with engine.connect() as conn:
            polls = dict((await conn.execute(select(Delivery.chat_id, Delivery.poll_id))).all())
    assert result is not None and result.finished and result.counts["delivered"] == 12
    assert set(seen.seen) == {("SendMessage", "Message"), ("SendPoll", "Message")}
    answered = {int(str(c.chat_id)): c.result["poll"]["id"] for c in api.calls_for("sendPoll")}
    assert {int(chat): poll for chat, poll in polls.items()} == answered
    assert set(answered) == {FIRST_CHAT + i for i in range(12)}
    # aiogram's form, every field resolved against the bot's defaults: paid, HTML.
    texts = api.calls_for("sendMessage")
    assert all(c.params.get("allow_paid_broadcast") in (True, "true") for c in texts)
    assert all(c.params.get("parse_mode") == "HTML" for c in texts)


ENTRY = """
import json, sys, tempfile
import bot, bot.__main__
assert "aiogram" not in sys.modules, "importing the bot imported aiogram"
from bot.compat import lean_types
assert not lean_types.PATCH.on
checked = bot.__main__.main(["faq", "check"])
assert "aiogram" not in sys.modules, "faq check imported aiogram"
# A command that uses aiogram: an import of an empty directory is refused (exit 1).
code = bot.__main__.main(["faq", "import", tempfile.mkdtemp()])
import aiogram.types
print(json.dumps({"checked": checked, "code": code, "on": lean_types.PATCH.on,
    "deferred": not aiogram.types.Update.__pydantic_complete__}))
"""


def test_importing_the_bot_patches_nothing_and_python_m_bot_switches_the_patches_on() -> None:
    done = python("-c", ENTRY)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"checked": 0, "code": 1, "on": True, "deferred": True}

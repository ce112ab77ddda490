"""Fuzzing the production Dispatcher with hypothesis: random people doing random things.

Each example is a short walk by one person (new, a member in Kazakh or Russian, a lawyer,
the head lawyer, the press secretary, an admin): texts (empty, unicode, 5,000 characters),
commands with junk arguments, stickers, contacts, locations, voice, photos and documents
with random captions and sizes, edited messages; buttons: a random one of those on the
person's screen (so walks go deep into dialogues), forged data with a real prefix and random
fields, random bytes. Bot API calls go to a session that refuses what Telegram refuses
(tests/strict.py). The errors handler (bot/handlers/errors.py) must never be reached: the
apology is for faults, never for input.

One database per test function (examples share it, so later examples meet the appeals,
posts and drafts earlier ones left). Examples: FUZZ_EXAMPLES (default 1,000 in all; a
release runs `FUZZ_EXAMPLES=10000 python -m pytest tests/test_fuzz.py` first);
FUZZ_STATS=1 prints, per test, the handlers never reached and where the time went.
"""

from __future__ import annotations

import functools
import os
import re
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    ChatMemberBanned,
    ChatMemberMember,
    ChatMemberUpdated,
    Contact,
    Document,
    ErrorEvent,
    Location,
    Message,
    MessageEntity,
    PhotoSize,
    PollAnswer,
    Sticker,
    Voice,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import bot.app
import bot.callbacks
import bot.handlers.errors as errors_module
import bot.report.chart
import bot.report.excel
from bot.app import create_bot, create_dispatcher
from bot.context import Context
from bot.handlers.shared.media import pieces
from bot.middlewares import EditsThatChangeNothing
from bot.storage.models import Appeal, StaffRole
from bot.topics import TOPICS
from tests.conftest import ADMIN_ID
from tests.driver import Person, buttons
from tests.recording import BOT_USER
from tests.strict import StrictSession
from tests.test_desk_flow import make_lawyer
from tests.test_member_flow import onboard, send_appeal

TOTAL = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
HANDLERS = Path(__file__).resolve().parent.parent / "bot" / "handlers"

COMMANDS = [
    "/start",
    "/help",
    "/lang",
    "/faq",
    "/ask",
    "/my",
    "/feedback",
    "/news",
    "/mydata",
    "/queue",
    "/mine",
    "/log",
    "/mystats",
    "/replies",
    "/post",
    "/posts",
    "/approval",
    "/stats",
    "/inbox",
    "/invite",
    "/invites",
    "/staff",
    "/join",
    "/links",
    # start links: a region's poster link, an invite link (a made-up code)
    "/start org_karaganda",
    "/start join_AAAAAAAAAAAA",
    "/unknown",
]
# /forget erases the person: it would end every later walk of theirs at the start.
SKIPPED_PREFIXES = ("forget",)

CALLBACKS: list[type[CallbackData]] = [
    cls
    for cls in vars(bot.callbacks).values()
    if isinstance(cls, type)
    and issubclass(cls, CallbackData)
    and cls is not CallbackData
    and cls.__prefix__ not in SKIPPED_PREFIXES
]


def _vocabulary() -> list[str]:
    """Words the handlers use in button data: actions, values, codes."""
    words: set[str] = {"", "0", "1", "kk", "ru", "all", "yes", "no", "none", "keep"}
    pattern = re.compile(r'(?:\w+ ?==? ?|\{|, )"([a-z][\w-]{0,20})"')
    for path in HANDLERS.rglob("*.py"):
        words.update(pattern.findall(path.read_text()))
    words.update(TOPICS)
    words.update(r.value for r in StaffRole)
    return sorted(words)


VOCABULARY = _vocabulary()

no_surrogates = st.characters(codec="utf-8")
junk = st.text(alphabet=no_surrogates, max_size=40)


def telegram_sized(text: str, units: int = 4096) -> str:
    """Telegram delivers at most 4,096 UTF-16 units of text (1,024 of a caption)."""
    return pieces(text, units)[0] if text else text


texts = st.one_of(
    st.text(alphabet=no_surrogates, max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "\n",
            "<b>x</b><a href='tg://x'>",
            "&amp; & < >",
            "0",
            "-1",
            "99999999999999999999",
            "2025-01-01 2025-12-31",
            "01.01.2025",
            "1 000 000",
            "🙂" * 50,
            "зарплата",
            "демалыс",
            "ы" * 5000,  # longer than Telegram sends: refused with the length, nothing lost
        ]
    ),
    st.sampled_from(  # what the dialogues ask for: often accepted, so walks go on
        [
            "Жалақы үш ай төленбеді, не істеу керек?",
            "Не выплачивают отпускные. Что делать?",
            "Жаңалық: <b>семинар</b> 10 желтоқсанда",
            "Новость: <i>собрание</i> в пятницу",
            "Какой день лучше?\nПонедельник\nПятница",
            "Қай күн?\nДүйсенбі\nЖұма",
            "2026-12-31 10:00",
            "31.12.2026 10:00",
            "10:00",
            "5",
            "150000",
            "2025-01-01 2025-06-30",
            "Рахмет!",
        ]
    ),
    st.builds(
        lambda ch, n, tail: telegram_sized(ch * n + tail),
        st.sampled_from(["ы", "a", "ә", "🙂", "<", "&"]),
        st.integers(1000, 5000),
        junk,
    ),
)


@dataclass(repr=False)
class World:
    ctx: Context
    dp: Dispatcher
    bot: Bot
    session: StrictSession
    people: dict[str, list[Person]]
    errors: list[tuple[ErrorEvent, str]] = field(default_factory=list)
    updates: int = 0

    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"World(updates={self.updates})"

    def person(self, role: str, index: int) -> Person:
        pool = self.people[role]
        return pool[index % len(pool)]


@pytest.fixture
async def world(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    errors: list[tuple[ErrorEvent, str]] = []
    original = errors_module.on_error

    async def on_error(event: ErrorEvent, bot: Bot) -> None:
        errors.append((event, "".join(traceback.format_exception(event.exception))))
        await original(event, bot)

    monkeypatch.setattr(bot.app, "on_error", on_error)
    # Drawing the report's chart and workbook takes half a second (tests/test_report_files
    # checks them): here only what leads to them is fuzzed.
    monkeypatch.setattr(bot.report.chart, "render_chart", lambda *a, **k: b"png")

    async def workbook_bytes(*args: object, **kwargs: object) -> bytes:
        return b"xlsx"

    monkeypatch.setattr(bot.report.excel, "workbook_bytes", workbook_bytes)
    dp = create_dispatcher(ctx)
    session = StrictSession()
    telegram = create_bot(ctx.settings, session=session)  # type: ignore[arg-type]
    if not any(isinstance(m, EditsThatChangeNothing) for m in session.middleware._middlewares):
        session.middleware(EditsThatChangeNothing())  # until bot.app.create_bot does it

    def make(user_id: int, lang: str = "kk") -> Person:
        return Person(dp, telegram, session, user_id, language_code=lang)

    people = {
        "new": [make(70_000 + i, lang) for i, lang in enumerate(["kk", "ru", "en", "ru"])],
        "member_kk": [make(71_000), make(71_001)],
        "member_ru": [make(72_000, "ru"), make(72_001, "ru")],
        "lawyer": [make(73_000)],
        "head": [make(73_001, "ru")],
        "press": [make(73_002, "ru")],
        "admin": [make(ADMIN_ID)],
    }
    for person in people["member_kk"]:
        await onboard(person, lang="kk", org="karaganda")
    for person in people["member_ru"]:
        await onboard(person, lang="ru", org="karaganda")
    await onboard(people["lawyer"][0], lang="kk", org="karaganda")
    await onboard(people["head"][0], lang="ru", org="abai")
    admin = people["admin"][0]
    await make_lawyer(admin, people["lawyer"][0])
    for role, person in (("head-lawyer", people["head"][0]), ("press", people["press"][0])):
        sent = await admin.send(f"/invite {role}")
        said = next(t for r in sent if "/join " in (t := str(getattr(r, "text", ""))))
        code = said.split("/join ", 1)[1].split("<", 1)[0]
        await person.send(f"/join {code.strip()}")
    for i, person in enumerate(people["member_kk"] + people["member_ru"]):
        await send_appeal(person, list(TOPICS)[i % len(TOPICS)], f"Өтініш {i}: жалақы.")
    async with ctx.session_factory() as db:
        appeal_ids = list((await db.scalars(select(Appeal.id))).all())
    await people["lawyer"][0].press(f"desk:take:{appeal_ids[0]}:")
    assert errors == [], errors[0][1]
    world = World(ctx, dp, telegram, session, people, errors)
    called: Counter[str] = Counter()
    spent: defaultdict[str, float] = defaultdict(float)
    if os.environ.get("FUZZ_STATS"):
        from aiogram.dispatcher.event.handler import HandlerObject

        original_call = HandlerObject.call

        async def counting(self: HandlerObject, *args: Any, **kwargs: Any) -> Any:
            name = f"{self.callback.__module__}.{self.callback.__qualname__}"
            called[name] += 1
            started = time.perf_counter()
            try:
                return await original_call(self, *args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started

        monkeypatch.setattr(HandlerObject, "call", counting)
    yield world
    if os.environ.get("FUZZ_STATS"):
        every = {
            f"{h.callback.__module__}.{h.callback.__qualname__}"
            for router in dp.chain_tail
            for observer in router.observers.values()
            for h in observer.handlers
        }
        print("never called:", sorted(n for n in every if not called[n] and "handlers" in n))
        print(
            "slowest:",
            [
                (n, round(t, 1), called[n])
                for n, t in sorted(spent.items(), key=lambda i: -i[1])[:8]
            ],
        )

        from bot.storage.models import Broadcast, Feedback, FsmRecord

        async with ctx.session_factory() as db:
            states = Counter((await db.scalars(select(FsmRecord.state))).all())
            posts = len((await db.scalars(select(Broadcast.id))).all())
            appeals = len((await db.scalars(select(Appeal.id))).all())
            feedback = len((await db.scalars(select(Feedback.id))).all())
        methods = Counter(r.__api_method__ for r in session.requests)
        print(f"\nupdates {world.updates}; appeals {appeals}; posts {posts}; mailbox {feedback}")
        print("methods", dict(methods))
        print("states now", dict(states))


# --- actions ---------------------------------------------------------------------------------


def _message(person: Person, **content: Any) -> Message:
    return person._message(**content)


async def do(world: World, person: Person, action: tuple[Any, ...]) -> None:
    kind = action[0]
    world.updates += 1
    if kind == "text":
        text = action[1]
        if not text:  # Telegram sends no empty texts: a message with nothing at all
            await person.feed(message=_message(person))
        else:
            await person.feed(message=_message(person, text=text))
    elif kind == "command":
        text = f"{action[1]} {action[2]}".rstrip() if action[2] else action[1]
        entity = MessageEntity(type="bot_command", offset=0, length=len(action[1]))
        await person.feed(message=_message(person, text=text, entities=[entity]))
    elif kind == "menu":  # a reply-keyboard button, as the member's keyboard shows it
        keyboard = person.session.screen.reply_keyboards.get(person.chat.id)
        labels = [b.text for row in keyboard.keyboard for b in row] if keyboard else ["/start"]
        await person.feed(message=_message(person, text=labels[action[1] % len(labels)]))
    elif kind == "photo":
        photo = [
            PhotoSize(file_id="ps", file_unique_id="psu", width=90, height=90, file_size=900),
            PhotoSize(
                file_id=f"p{action[2]}",
                file_unique_id="pu",
                width=1280,
                height=960,
                file_size=action[2],
            ),
        ]
        await person.feed(message=_message(person, photo=photo, caption=action[1] or None))
    elif kind == "document":
        document = Document(
            file_id=f"d{action[2]}", file_unique_id="du", file_name=action[3], file_size=action[2]
        )
        await person.feed(message=_message(person, document=document, caption=action[1] or None))
    elif kind == "sticker":
        sticker = Sticker(
            file_id="stk",
            file_unique_id="stku",
            type="regular",
            width=512,
            height=512,
            is_animated=False,
            is_video=False,
        )
        await person.feed(message=_message(person, sticker=sticker))
    elif kind == "contact":
        contact = Contact(phone_number=action[1] or "+7", first_name="A")
        await person.feed(message=_message(person, contact=contact))
    elif kind == "location":
        await person.feed(
            message=_message(person, location=Location(latitude=43.2, longitude=76.9))
        )
    elif kind == "voice":
        await person.feed(
            message=_message(person, voice=Voice(file_id="v", file_unique_id="vu", duration=3))
        )
    elif kind == "edited":
        edited = _message(
            person, text=action[1] or "x", edit_date=int(datetime.now(UTC).timestamp())
        )
        await person.feed(edited_message=edited)
    elif kind == "blocked":  # the person blocks the bot, or unblocks it
        member = ChatMemberMember(user=BOT_USER)
        banned = ChatMemberBanned(user=BOT_USER, until_date=datetime.fromtimestamp(0, UTC))
        change = ChatMemberUpdated(
            chat=person.chat,
            from_user=person.user,
            date=datetime.now(UTC),
            old_chat_member=member if action[1] else banned,
            new_chat_member=banned if action[1] else member,
        )
        await person.feed(my_chat_member=change)
    elif kind == "poll":  # an answer to a survey (a poll id the bot may or may not know)
        answer = PollAnswer(
            poll_id=action[1],
            user=person.user,
            option_ids=action[2],
            option_persistent_ids=[str(i) for i in action[2]],
        )
        await person.feed(poll_answer=answer)
    elif kind == "tap":  # a button of the newest message having some
        for message in reversed(person.messages()):
            data = [d for _, d in buttons(message) if d]
            if data:
                await press(person, data[action[1] % len(data)], message)
                break
        else:
            await do(world, person, ("command", "/start", ""))
    elif kind == "double":  # the same button twice: people do
        for message in reversed(person.messages()):
            data = [d for _, d in buttons(message) if d]
            if data:
                await press(person, data[action[1] % len(data)], message)
                await press(person, data[action[1] % len(data)], message)
                break
    elif kind == "tap-old":  # a button of an older message on the screen
        shown = [(m, d) for m in person.messages()[-12:] for _, d in buttons(m) if d]
        if shown:
            message, data = shown[action[1] % len(shown)]
            await press(person, data, message)
    elif kind == "forged":  # a real prefix, random fields
        cls: type[CallbackData] = action[1]
        fields = [str(v) for v in action[2]][: len(cls.model_fields)]
        await press(person, ":".join([str(cls.__prefix__), *fields])[:64], None)
    elif kind == "raw":
        await press(person, action[1], None)
    else:  # pragma: no cover
        raise AssertionError(kind)


async def press(person: Person, data: str, message: Message | None) -> None:
    if message is None:
        shown = person.messages()
        message = shown[-1] if shown else _message(person, text="…")
    query = CallbackQuery(
        id="q", from_user=person.user, chat_instance="ci", message=message, data=data
    )
    await person.feed(callback_query=query)


@functools.cache
def actions() -> st.SearchStrategy[tuple[Any, ...]]:
    """One action, weighted: taps and typed input most, so walks go deep into dialogues."""
    file_size = st.one_of(
        st.none(), st.integers(0, 30 * 1024 * 1024), st.just(20 * 1024 * 1024 + 1)
    )
    caption = st.one_of(st.just(""), texts.map(lambda t: telegram_sized(t, 1024)))
    known_int = st.integers(0, 30)  # ids of appeals, staff, posts in a young database
    safe_text = st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters=":"),
        max_size=12,
    )
    field_value = st.one_of(
        st.sampled_from(VOCABULARY),
        known_int,
        st.integers(-3, 40),
        st.integers(-(2**70), 2**70),
        st.booleans(),
        safe_text,
    )
    by_kind: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
        "text": st.tuples(st.just("text"), texts),
        "command": st.tuples(
            st.just("command"),
            st.sampled_from(COMMANDS),
            st.one_of(st.just(""), junk, st.sampled_from(VOCABULARY)),
        ),
        "menu": st.tuples(st.just("menu"), st.integers(0, 20)),
        "photo": st.tuples(st.just("photo"), caption, file_size),
        "document": st.tuples(st.just("document"), caption, file_size, st.one_of(st.none(), junk)),
        "sticker": st.tuples(st.just("sticker")),
        "contact": st.tuples(st.just("contact"), junk),
        "location": st.tuples(st.just("location")),
        "voice": st.tuples(st.just("voice")),
        "edited": st.tuples(st.just("edited"), junk),
        "blocked": st.tuples(st.just("blocked"), st.booleans()),
        "poll": st.tuples(
            st.just("poll"),
            st.one_of(st.sampled_from(["1", "poll-1", ""]), junk),
            st.lists(st.integers(0, 12), max_size=3),
        ),
        "tap": st.tuples(st.just("tap"), st.integers(-3, 40)),
        "tap-old": st.tuples(st.just("tap-old"), st.integers(0, 100)),
        "double": st.tuples(st.just("double"), st.integers(-3, 40)),
        "forged": st.tuples(
            st.just("forged"),
            st.sampled_from(CALLBACKS),
            st.lists(field_value, min_size=0, max_size=5),
        ),
        "raw": st.tuples(
            st.just("raw"),
            st.text(alphabet=no_surrogates, max_size=64).filter(lambda s: len(s.encode()) <= 64),
        ),
    }
    weights = {
        "tap": 14,
        "tap-old": 2,
        "text": 6,
        "photo": 2,
        "document": 2,
        "command": 3,
        "forged": 3,
    }
    kinds = [kind for kind in by_kind for _ in range(weights.get(kind, 1))]
    return st.sampled_from(kinds).flatmap(lambda kind: by_kind[kind])


ROLE_COMMANDS = {
    "member": ["/start", "/help", "/lang", "/faq", "/ask", "/my", "/feedback", "/news", "/mydata"],
    "lawyer": ["/queue", "/mine", "/mystats", "/stats", "/replies", "/queue", "/mine", "/log"],
    "press": ["/post", "/posts", "/post"],
    "admin": [
        "/inbox",
        "/staff",
        "/invite",
        "/invites",
        "/links",
        "/stats",
        "/post",
        "/posts",
        "/approval",
    ],
}
ROLE_KIND = {
    "new": "member",
    "member_kk": "member",
    "member_ru": "member",
    "lawyer": "lawyer",
    "head": "lawyer",
    "press": "press",
    "admin": "admin",
}


def _cmd(command: str) -> tuple[Any, ...]:
    return ("command", command, "")


def _tap(index: int) -> tuple[Any, ...]:
    return ("tap", index)  # -1: the last button


# /post with both texts, no photo, every member: at the survey question.
_COMPOSED = [
    ("command", "/post", ""),
    ("text", "Сауалнама"),
    ("text", "Опрос"),
    ("tap", 0),  # without a photo
    ("tap", -1),  # audience: next
]

# Ways into the deeper dialogues (a random walk seldom finds all the right buttons).
SCRIPTS: dict[str, list[list[tuple[Any, ...]]]] = {
    "member": [
        [_cmd("/my"), _tap(0), _tap(0)],  # an appeal: add a message
        [_cmd("/ask"), _tap(0), ("text", "Жалақы төленбеді.")],
        [_cmd("/ask"), _tap(2), ("text", "Не платят."), _tap(0), _tap(0)],  # sent
        [_cmd("/feedback"), _tap(1), ("text", "Ұсыныс бар.")],
        [_cmd("/feedback"), _tap(0), ("text", "Спасибо!"), _tap(1)],  # anonymous
        [_cmd("/ask"), _tap(2), ("text", "Не платят."), _tap(0), _tap(1)],  # hide my name
        [_cmd("/forget"), _tap(-1)],  # asked, then kept
        [_cmd("/forget"), _tap(0)],  # erased: the person starts again as new
    ],
    "lawyer": [
        [_cmd("/queue"), _tap(0), _tap(0)],  # open the oldest, take it
        [_cmd("/mine"), _tap(0), _tap(1)],  # closing
        [_cmd("/mine"), _tap(0), _tap(1), _tap(-1)],  # closed as it is
        [_cmd("/mine"), _tap(0), _tap(1), _tap(-4), ("text", "3")],  # a count typed
        [_cmd("/mine"), _tap(0), _tap(0), ("text", "Жауап: өтінішіңіз қаралды.")],
        [_cmd("/mine"), _tap(0), _tap(2), ("text", "Ішкі жазба")],
        [_cmd("/mine"), _tap(0), _tap(3)],  # back to the queue
        [_cmd("/mine"), _tap(0), _tap(4), _tap(-1)],  # hand over: regions
        [_cmd("/replies"), _tap(-1), _tap(0), ("text", "Жалақы"), ("text", "Айына бір рет.")],
        [_cmd("/mine"), _tap(0), _tap(5), _tap(0), _tap(0)],  # a saved reply: its preview
        [_cmd("/mine"), _tap(0), _tap(6), _tap(0), _tap(0)],  # an FAQ answer
        [_cmd("/log"), _tap(0), _tap(0), _tap(0)],  # written: at the day received
        [_cmd("/log"), _tap(1), _tap(0), _tap(0), _tap(0), ("text", "Жалақы төленбеді.")],
        # oral, typed day, every optional part skipped: saved (the head lawyer: elsewhere)
        [_cmd("/log"), _tap(1), _tap(2), _tap(3), ("text", "01.02.2026"), *[_tap(0)] * 4],
    ],
    "press": [
        [_cmd("/post"), ("text", "Жаңалық: <b>семинар</b>"), ("text", "Новость: семинар")],
        [*_COMPOSED, _tap(0), ("text", "Қай күн?\nДүйсенбі\nЖұма")],  # a survey: ru next
        [*_COMPOSED, _tap(1), _tap(1)],  # no survey; on a date: the date next
        [*_COMPOSED, _tap(1), _tap(2), _tap(4)],  # weekly on Friday: the time next
        [*_COMPOSED, _tap(1), _tap(0), _tap(1)],  # now, not urgent: the preview
        [_cmd("/post"), ("text", "Жаңалық"), _tap(0), _tap(0), _tap(3), _tap(-1)],  # one region
        [_cmd("/posts"), _tap(0), _tap(0)],
    ],
}
SCRIPTS["admin"] = SCRIPTS["press"] + [
    [_cmd("/stats"), _tap(0), _tap(0)],
    [_cmd("/stats"), _tap(-1), ("text", "2025-01-01 2025-03-31")],
    [_cmd("/staff"), _tap(0), _tap(0)],
    [_cmd("/inbox"), _tap(-1)],
]


@functools.cache
def walks(role: str) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """Mostly one of the role's commands and a few taps (into a dialogue), or a script
    into a dialogue, then anything."""
    command = st.one_of(
        st.sampled_from(ROLE_COMMANDS[ROLE_KIND[role]]),
        st.sampled_from(ROLE_COMMANDS[ROLE_KIND[role]]),
        st.sampled_from(ROLE_COMMANDS[ROLE_KIND[role]]),
        st.sampled_from(COMMANDS),
    )
    opener: st.SearchStrategy[list[tuple[Any, ...]]] = st.one_of(
        st.just([]),
        st.sampled_from(SCRIPTS[ROLE_KIND[role]]),
        st.tuples(
            command.map(lambda c: ("command", c, "")),
            st.lists(st.integers(0, 40).map(lambda i: ("tap", i)), max_size=2),
        ).map(lambda t: [t[0], *t[1]]),
    )
    return st.tuples(opener, st.lists(actions(), min_size=1, max_size=2)).map(
        lambda t: [*t[0], *t[1]]
    )


def check(world: World) -> None:
    if world.errors:
        event, trace = world.errors[0]
        world.errors.clear()
        update = event.update.model_dump_json(exclude_none=True)[:2000]
        raise AssertionError(f"the errors handler was reached\nupdate: {update}\n{trace}")


ROLES_MEMBER = ["new", "member_kk", "member_ru"]
ROLES_STAFF = ["lawyer", "head", "press", "admin"]


def _fuzz(roles: list[str], examples: int) -> Callable[..., Any]:
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        # The database carries over between examples, so a failure cannot be replayed
        # alone and shrinking would only report it as flaky: the first failure is shown.
        phases=[Phase.generate],
    )
    @given(data=st.data())
    async def run(world: World, data: st.DataObject) -> None:
        role = data.draw(st.sampled_from(roles), label="role")
        person = world.person(role, data.draw(st.integers(0, 3), label="person"))
        for action in data.draw(walks(role), label="walk"):
            await do(world, person, action)
            check(world)

    return run


test_fuzz_members = _fuzz(ROLES_MEMBER, TOTAL * 5 // 10)
test_fuzz_staff = _fuzz(ROLES_STAFF, TOTAL * 4 // 10)
test_fuzz_everyone = _fuzz(ROLES_MEMBER + ROLES_STAFF, TOTAL - TOTAL * 9 // 10)

"""FakeBotAPI: the aiohttp server and its routes, the calls it recorded, long polling, and
what tests use to play people and inject faults."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fake_api.content import buttons
from tests.fake_api.errors import TelegramError, error_payload
from tests.fake_api.faults import Fault, make_fault, take_fault
from tests.fake_api.methods import Handler, Methods
from tests.fake_api.params import JSONDict, norm_chat, read_params
from tests.fake_api.store import Store, StoredMessage
from tests.fake_api.users import UserActions

# Update types delivered when allowed_updates is empty / never specified.
NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

SEND_PREFIXES = ("send", "copymessage", "forwardmessage")


@dataclass
class Call:
    """One recorded Bot API request. ``params`` have JSON-encoded values decoded."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    result: Any = None

    @property
    def chat_id(self) -> int | str | None:
        return norm_chat(self.params.get("chat_id"))

    @property
    def text(self) -> str | None:
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def ok(self) -> bool:
        return self.status == 200


class FakeBotAPI(UserActions):
    """In-process fake of the Telegram Bot API (aiohttp server in the current event loop)."""

    def __init__(self) -> None:
        self.store = Store()
        self.files = self.store.files  # file_id -> content served by getFile downloads
        self.calls: list[Call] = []
        # When each getUpdates request arrived: calls are recorded when answered, and a long
        # poll with nothing to deliver is answered only at its timeout.
        self.polls: list[float] = []
        self.latency = 0.0
        self.updates: list[JSONDict] = []  # queued, not yet confirmed
        self.faults: list[Fault] = []
        self.allowed_updates: set[str] | None = None  # None: Telegram's default set
        self._next_update_id = 1
        self._update_event = asyncio.Event()
        self._call_event = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        # Webhook mode: called with every new update (tests post it to the bot's instances).
        self.on_update: Callable[[JSONDict], None] | None = None
        self._base_url: str | None = None
        self._methods = Methods(self.store)
        self._handlers: dict[str, Handler] = {
            "getupdates": self._get_updates,
            **self._methods.handlers(),
        }

    @property
    def bot_user(self) -> JSONDict:
        return self.store.bot_user

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        app.router.add_post("/_fake/update", self._control_push)
        app.router.add_get("/_fake/calls", self._control_calls)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self._base_url = f"http://{bound_host}:{bound_port}"

    async def stop(self) -> None:
        self._closing = True
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeBotAPI is not started")
        return self._base_url

    # ------------------------------------------------------------------ recorded calls

    def mark(self) -> int:
        return len(self.calls)

    def polls_mark(self) -> int:
        return len(self.polls)

    async def wait_polling(self, after: int = 0, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Until a getUpdates request (index >= ``after``) has arrived: the bot polls."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.polls) <= after:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"no getUpdates request within {timeout}s; last calls:\n{self.describe_calls()}"
                )
            event = self._call_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def calls_for(self, method: str | None = None, chat_id: int | str | None = None) -> list[Call]:
        wanted_chat = norm_chat(chat_id)
        return [
            call
            for call in self.calls
            if (method is None or call.method.lower() == method.lower())
            and (wanted_chat is None or call.chat_id == wanted_chat)
        ]

    async def wait_for(
        self,
        method: str | None,
        predicate: Callable[[Call], bool] = lambda call: True,
        timeout: float = 10.0,  # noqa: ASYNC109
        after: int = 0,
    ) -> Call:
        """First call (index >= ``after``) of ``method`` matching ``predicate``."""
        index = after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._call_event
            while index < len(self.calls):
                call = self.calls[index]
                index += 1
                if (method is None or call.method.lower() == method.lower()) and predicate(call):
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"no {method or 'any'} call matching the predicate within {timeout}s "
                    f"(after index {after}); last calls:\n{self.describe_calls()}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def describe_calls(self, last: int = 20) -> str:
        shown = [(i, c) for i, c in enumerate(self.calls) if c.method.lower() != "getupdates"][
            -last:
        ]
        if not shown:
            return "  (no calls besides getUpdates)"
        return "\n".join(
            f"  #{i} {c.method} chat={c.chat_id} status={c.status} text={c.text!r:.120}"
            for i, c in shown
        )

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._wake_waiters()

    def _wake_waiters(self) -> None:
        event, self._call_event = self._call_event, asyncio.Event()
        event.set()

    # ------------------------------------------------------------------ what a chat shows

    def bot_messages(self, chat_id: int | str, *, include_deleted: bool = False) -> list[JSONDict]:
        """All messages the bot sent in the chat, oldest first (see ``last_bot_message``)."""
        return self.store.bot_messages(chat_id, include_deleted=include_deleted)

    def last_bot_message(self, chat_id: int | str) -> JSONDict | None:
        """The bot message sent or edited most recently in the chat (deleted ones skipped).

        Keys: message_id, chat_id, text (text or caption), reply_markup (as sent, any
        keyboard kind, None when removed), method, edited, message (full Telegram JSON).
        """
        return self.store.last_bot_message(chat_id)

    @staticmethod
    def buttons(message: JSONDict | None) -> list[tuple[str, str]]:
        return buttons(message)

    # ------------------------------------------------------------------ updates

    def push_update(self, update: JSONDict) -> int:
        update = dict(update)
        update_id = self._next_update_id
        self._next_update_id += 1
        update["update_id"] = update_id
        store = self.store
        for key in ("message", "edited_message", "channel_post", "business_message"):
            message = update.get(key)
            if isinstance(message, dict) and "chat" in message and "message_id" in message:
                store.add(StoredMessage(copy.deepcopy(message), from_bot=False, method=key))
                store.chats.setdefault(int(message["chat"]["id"]), dict(message["chat"]))
        for value in update.values():
            sender = value.get("from") if isinstance(value, dict) else None
            if isinstance(sender, dict) and "id" in sender and not sender.get("is_bot"):
                store.users.setdefault(int(sender["id"]), dict(sender))
        self.updates.append(update)
        self._wake_pollers()
        if self.on_update is not None:  # webhook mode: the test delivers it
            self.on_update(copy.deepcopy(update))
        return update_id

    def _wake_pollers(self) -> None:
        event, self._update_event = self._update_event, asyncio.Event()
        event.set()

    def _deliverable(self, update: JSONDict) -> bool:
        kind = next((k for k in update if k != "update_id"), None)
        if kind is None:
            return False
        if self.allowed_updates is None:
            return kind not in NOT_DELIVERED_BY_DEFAULT
        return kind in self.allowed_updates

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = {str(kind) for kind in allowed} or None
        if offset < 0:
            self.updates = self.updates[offset:]
        elif offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._update_event
            batch = [u for u in self.updates if self._deliverable(u)][:limit]
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                return copy.deepcopy(batch)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    # ------------------------------------------------------------------ fault injection

    def inject(
        self,
        method: str,
        *,
        status: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
        delay: float = 0.0,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` (for ``chat_id`` if given) fail.

        A 429 always carries ``parameters.retry_after`` (default 1), as Telegram's do.
        ``status=0`` only sleeps ``delay`` seconds and then answers normally.
        """
        fault = make_fault(
            method,
            status=status,
            description=description,
            retry_after=retry_after,
            times=times,
            chat_id=chat_id,
            delay=delay,
        )
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        key = method.lower()
        params = await read_params(request)
        if key == "getchatmember":
            # The bot's own id is its token's first part, whatever getMe says.
            params["bot_id"] = request.match_info["token"].split(":", 1)[0]
        if key == "getupdates":
            self.polls.append(arrived)
            self._wake_waiters()
        status, payload, result = 200, None, None
        try:
            fault = take_fault(self.faults, key, params)
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status:
                    extra = {"retry_after": fault.retry_after} if fault.retry_after else None
                    raise TelegramError(fault.status, fault.description, extra)
            if self.latency and key.startswith(SEND_PREFIXES):
                await asyncio.sleep(self.latency)
            handler = self._handlers.get(key, self._methods.true)
            result = await handler(params)
            payload = {"ok": True, "result": result}
        except TelegramError as exc:
            status = exc.status
            payload = error_payload(exc)
        self._record(Call(method, params, arrived, status, result))
        return web.json_response(payload, status=status)

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        if file_id not in self.files:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=self.files[file_id])

    async def _control_push(self, request: web.Request) -> web.Response:
        update_id = self.push_update(dict(await request.json()))
        return web.json_response({"ok": True, "result": update_id})

    async def _control_calls(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"method": c.method, "params": c.params, "at": c.at, "status": c.status}
                for c in self.calls
            ],
            dumps=lambda obj: json.dumps(obj, default=repr),
        )

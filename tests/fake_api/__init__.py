"""A fake Telegram Bot API HTTP server for Qorgau's test suite.

The bot under test talks to it through ``TELEGRAM_API_URL=<api.base_url>``; aiogram then posts to
``{base}/bot{token}/{method}`` with form fields whose complex values are JSON strings.

Usage::

    async with FakeBotAPI() as api:
        ...  # start `python -m bot` with TELEGRAM_API_URL=api.base_url
        api.send_command(42, "/start")
        call = await api.wait_for("sendMessage", lambda c: c.chat_id == 42)
        message = api.last_bot_message(42)
        api.press(42, message["message_id"], api.buttons(message)[0][1])

Behaviour worth knowing:

* ``getUpdates`` long-polls for real and honours ``offset``/``limit``/``timeout`` and
  ``allowed_updates`` (the default set excludes chat_member, message_reaction and
  message_reaction_count, as Telegram does; the last non-empty list sticks).
* ``parse_mode=HTML`` text and captions are parsed like Telegram does: the returned/stored text
  is the plain text plus ``entities``; unsupported or unbalanced tags give
  ``400 Bad Request: can't parse entities: ...``. Other parse modes are stored verbatim.
* Sending validates what is cheap to validate: empty/too long texts and captions, callback_data
  longer than 64 bytes, inline buttons without an action.
* ``Call.at`` is ``time.monotonic()`` at the moment the request arrived; a call is appended to
  ``api.calls`` once the response is ready (so the message store is already updated when
  ``wait_for`` returns).
* Fault injection: ``inject(method, status=..., retry_after=..., times=..., chat_id=...,
  delay=...)``; ``status=0`` only delays; ``times=-1`` never runs out.

The parts: `server` (FakeBotAPI: routes, recorded calls, long polling), `methods` (the Bot
API methods it answers), `store` (chats, people, messages, files), `users` (what people's
apps send), `telegram_html` (Telegram's HTML), `content` (limits, keyboards, buttons),
`params` (reading a request), `errors` and `faults` (Telegram's errors, injected ones).
`python tests/fake_bot_api.py --port 8081` runs it alone.
"""

from tests.fake_api.content import MAX_CALLBACK_DATA, MAX_CAPTION, MAX_TEXT, buttons
from tests.fake_api.errors import NOT_MODIFIED, TelegramError, bad_request
from tests.fake_api.faults import Fault
from tests.fake_api.params import JSONDict, UploadedFile
from tests.fake_api.server import Call, FakeBotAPI
from tests.fake_api.store import BOT_USER, StoredMessage
from tests.fake_api.telegram_html import ParsedText, parse_text

__all__ = [
    "BOT_USER",
    "MAX_CALLBACK_DATA",
    "MAX_CAPTION",
    "MAX_TEXT",
    "NOT_MODIFIED",
    "Call",
    "FakeBotAPI",
    "Fault",
    "JSONDict",
    "ParsedText",
    "StoredMessage",
    "TelegramError",
    "UploadedFile",
    "bad_request",
    "buttons",
    "parse_text",
]

"""The bot talks with people in private chats only.

In a group, a supergroup or a channel everything the bot says is read by everyone there,
often colleagues from the member's workplace: /mydata would post a member's file, /invite
a staff code, a draft's questions a member's story. So updates from those chats are not
handled at all, before the database session and the people lookups (a busy group costs
nothing). The first time a group is seen it gets one short line pointing to a private chat
(no names, no data) and the bot leaves it, so Telegram sends nothing more from there.

Updates without a chat pass (survey answers: `poll_answer`), and so do private chats'
(messages, buttons, `my_chat_member` when a member blocks the bot).

The one exception is a staff supergroup an admin linked on purpose (`/linkgroup`,
bot/handlers/desk/topics.py): its updates pass, and the group's router serves only the
staff of its region. In a supergroup not linked yet, an admin's `/linkgroup` passes and
the admin's other updates (adding the bot, setting the group up) are not handled but do
not make the bot leave; anyone else's are met as in any group.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, TelegramObject, Update, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_, guess_language
from bot.logs import describe
from bot.services.staff_groups import StaffGroups

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

HINT = N_("Please write to me in a private chat: @{username}")
# The bot is already out of the chat: nothing to say there, nothing to leave.
GONE = frozenset({ChatMemberStatus.LEFT, ChatMemberStatus.KICKED})


def admits(chat: Chat | None) -> bool:
    """The one rule of where the bot works (besides the staff groups linked on purpose,
    which `PrivateChatsOnly` admits by their id)."""
    return chat is None or chat.type == ChatType.PRIVATE


class PrivateChatsOnly(BaseMiddleware):
    """An outer middleware of `dp.update`, before any that reads the database.

    `remember`: how many chats this process keeps as already told (and left); the oldest
    are forgotten first, and a chat that writes again moves to the newest end, so a busy
    group never gets a second line from this process."""

    def __init__(
        self,
        i18n: I18n,
        remember: int = 10_000,
        *,
        groups: StaffGroups | None = None,
        is_admin: Callable[[int], Awaitable[bool]] | None = None,
    ) -> None:
        self.i18n = i18n
        self.groups = groups
        self.is_admin = is_admin
        self.remember = remember
        self._told: OrderedDict[int, None] = OrderedDict()
        self.ignored = 0  # updates not handled (for tests)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        if admits(chat):
            return await handler(event, data)
        assert chat is not None and isinstance(event, Update)
        if chat.type == ChatType.SUPERGROUP and self.groups is not None:
            if await self.groups.scope_of(chat.id) is not None:
                return await handler(event, data)
            user_id = getattr(data.get("event_from_user"), "id", None)
            if user_id is not None and self.is_admin is not None and await self.is_admin(user_id):
                if _links(event):
                    return await handler(event, data)
                if event.message is not None or event.my_chat_member is not None:
                    return UNHANDLED  # an admin setting the group up: the bot stays
            if chat.id not in self._told and await self.groups.scope_of(chat.id, fresh=True):
                # Linked a moment ago in another process: not left.
                return await handler(event, data)
        self.ignored += 1
        bot: Bot = data["bot"]
        user: User | None = data.get("event_from_user")
        text = await self._hint(bot, user)
        if event.callback_query is not None:
            # Every button is answered; only the person who tapped it sees the answer.
            await _quietly(event.callback_query.answer(text or None), chat)
        if (
            event.my_chat_member is not None and event.my_chat_member.new_chat_member.status in GONE
        ) or event.poll_answer is not None:
            return UNHANDLED
        if self._first_time(chat.id):
            log.info("update from a %s chat %s not handled; leaving it", chat.type, chat.id)
            if text and chat.type != ChatType.CHANNEL and event.callback_query is None:
                # Not in a channel: a line there would go to every subscriber.
                thread = data.get("event_thread_id")
                await _quietly(bot.send_message(chat.id, text, message_thread_id=thread), chat)
            await _quietly(bot.leave_chat(chat.id), chat)
        return UNHANDLED

    def _first_time(self, chat_id: int) -> bool:
        told = self._told
        if chat_id in told:
            told.move_to_end(chat_id)
            return False
        told[chat_id] = None
        while len(told) > self.remember:
            told.popitem(last=False)
        return True

    async def _hint(self, bot: Bot, user: User | None) -> str:
        """The line in the writer's Telegram language (the bot does not look up members
        here); empty when the bot's username is not known."""
        try:
            username = (await bot.me()).username  # asked once, then aiogram keeps it
        except TelegramAPIError:
            return ""
        if not username:
            return ""
        with self.i18n.context(), self.i18n.use_locale(guess_language(user)):
            return _(HINT).format(username=username)


def _links(event: Update) -> bool:
    """`/linkgroup` (or `/linkgroup@bot`)."""
    text = event.message.text if event.message is not None else None
    return bool(text) and str(text).split(maxsplit=1)[0].split("@")[0] == "/linkgroup"


async def _quietly(call: Awaitable[Any], chat: Chat) -> None:
    try:
        await call
    except TelegramAPIError as exc:  # no right to write there, already gone, an old button
        log.info("%s chat %s: %s", chat.type, chat.id, describe(exc))

"""An appeal's forum topics in the linked staff groups (bot/services/staff_groups.py):
opening them for a new appeal, posting the member's words into them, closing them.

Everything posted into a topic goes through the outbox with its `message_thread_id`; the
topic itself is created at once (its id is needed before anything is posted), and a
topic Telegram refuses to create is logged and skipped: the private desk still has the
appeal, and the clock tries again (bot/clock/topics.py). The card's buttons follow the
appeal's status (`refresh_cards`). What is posted is in the group's language (chosen when
it was linked)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from html import escape
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import (
    CloseForumTopic,
    EditMessageReplyMarkup,
    ReopenForumTopic,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import ForumCb, TopicDeskCb
from bot.handlers.shared.media import relay
from bot.handlers.shared.relay import send_later
from bot.logs import describe
from bot.outbox import Outbox
from bot.outbox.texts import TO_STAFF
from bot.services.staff_groups import HEAD_SCOPE, add_topic, groups_for
from bot.storage.models import (
    Appeal,
    AppealStatus,
    AppealTopic,
    Member,
    OutboxMessage,
    OutboxStatus,
    StaffGroup,
)
from bot.topics import MemberOrgs, topic_title

log = logging.getLogger(__name__)

NAME_LIMIT = 128  # Telegram's limit on a topic's name
CARD_TEXT_LIMIT = 3000  # the appeal's first text on the topic's card; the rest on the desk


def topic_name(appeal: Appeal, orgs: MemberOrgs, lang: str) -> str:
    name = " · ".join(
        (f"№{appeal.id}", topic_title(appeal.topic, lang), orgs.title(appeal.member_org, lang))
    )
    return name[:NAME_LIMIT]


def topic_markup(appeal_id: int, status: AppealStatus) -> InlineKeyboardMarkup | None:
    """The card's buttons in a topic (in the locale in use). Whoever taps is checked as on
    the private desk (bot/handlers/desk/topic_buttons.py): take if they cover the region;
    give back, close and hand over only the holder. None once it is closed."""
    builder = kb.InlineKeyboard()
    if status in (AppealStatus.QUEUED, AppealStatus.REOPENED):
        builder.button(text=_("✋ Take"), callback_data=ForumCb(action="take", appeal=appeal_id))
    elif status in (AppealStatus.CLAIMED, AppealStatus.ANSWERED):
        builder.button(
            text=_("✅ Close with the outcome"),
            callback_data=TopicDeskCb(action="close", appeal=appeal_id),
        )
        builder.button(
            text=_("🔀 Hand over"), callback_data=TopicDeskCb(action="hand", appeal=appeal_id)
        )
        builder.button(
            text=_("↩️ Back to the queue"),
            callback_data=ForumCb(action="release", appeal=appeal_id),
        )
    else:
        return None
    builder.button(
        text=_("🗂 Card in my private chat"),
        callback_data=ForumCb(action="card", appeal=appeal_id),
    )
    builder.adjust(1)
    return builder.as_markup()


def topic_card(appeal: Appeal, member: Member, orgs: MemberOrgs, lang: str) -> str:
    """The appeal as its topic opens with it (in the locale in use)."""
    text = appeal.text or ""
    if len(text) > CARD_TEXT_LIMIT:
        text = text[:CARD_TEXT_LIMIT] + "…"
    lines = [
        "<b>" + escape(topic_name(appeal, orgs, lang)) + "</b>",
        escape(member.full_name or _("(name not given)")),
        # The member's request, for every lawyer reading the topic as on the private card.
        *(
            [_("🔒 Do not name the member to their workplace's union committee.")]
            if appeal.hide_from_employer
            else []
        ),
        "",
        escape(text),
        "",
        _(
            "The lawyer who takes it writes to the member here: each message goes to them. "
            "A message starting with “!” is an internal note."
        ),
    ]
    return "\n".join(lines)


def in_thread(methods: list[TelegramMethod[Any]], thread_id: int) -> list[TelegramMethod[Any]]:
    return [m.model_copy(update={"message_thread_id": thread_id}) for m in methods]


async def open_topics(
    appeal_id: int,
    *,
    session: AsyncSession,
    bot: Bot,
    outbox: Outbox,
    orgs: MemberOrgs,
    i18n: I18n,
    only: int | None = None,
) -> list[int]:
    """A new appeal's topic in each linked group of its region (and the head lawyers'),
    or in the group `only`, with its card. Does nothing for a region with no linked group.
    Returns the groups where Telegram refused to create it (bot/clock/topics.py tries
    them again)."""
    refused: list[int] = []
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None:
        return refused
    groups = await groups_for(session, appeal.member_org)
    if not groups:
        return refused
    member = await session.get_one(Member, appeal.member_id)
    opened = set(
        await session.scalars(select(AppealTopic.chat_id).where(AppealTopic.appeal_id == appeal_id))
    )
    rows: list[OutboxMessage] = []
    for group in groups:
        if group.chat_id in opened or only not in (None, group.chat_id):
            continue  # opened already (a Send delivered twice), or not asked for
        with i18n.use_locale(group.language):
            name = topic_name(appeal, orgs, group.language)
            text = topic_card(appeal, member, orgs, group.language)
            markup = topic_markup(appeal.id, appeal.status)
        try:
            topic = await bot.create_forum_topic(chat_id=group.chat_id, name=name)
        except TelegramAPIError as exc:
            log.warning(
                "no topic for appeal %s in staff group %s (tried again by the clock): %s",
                appeal_id,
                group.chat_id,
                describe(exc),
            )
            refused.append(group.chat_id)
            continue
        place = await add_topic(session, appeal_id, group.chat_id, topic.message_thread_id)
        card = send_later(
            session,
            outbox,
            [
                SendMessage(
                    chat_id=group.chat_id,
                    message_thread_id=topic.message_thread_id,
                    text=text,
                    reply_markup=markup,
                )
            ],
            purpose=TO_STAFF,
            appeal_id=appeal_id,
        )
        await session.flush()
        place.card_outbox_id = card[0].id
        rows += card
    await session.commit()
    await outbox.deliver(bot, rows)
    return refused


async def topics_with_language(
    session: AsyncSession, appeal_id: int, *, covering: bool | None = True
) -> list[tuple[AppealTopic, str]]:
    """The appeal's topics in groups still linked, with each group's language. `covering`:
    only in groups that serve the appeal's region now (True), only in those that no longer
    do, after a hand-over to another region (False), or all (None)."""
    serving = StaffGroup.scope.in_((Appeal.member_org, HEAD_SCOPE))
    query = (
        select(AppealTopic, StaffGroup.language)
        .join(StaffGroup, StaffGroup.chat_id == AppealTopic.chat_id)
        .join(Appeal, Appeal.id == AppealTopic.appeal_id)
        .where(AppealTopic.appeal_id == appeal_id)
        .order_by(AppealTopic.id)
    )
    if covering is not None:
        query = query.where(serving if covering else ~serving)
    rows = await session.execute(query)
    return [(topic, str(language)) for topic, language in rows]


async def post_in_topics(
    appeal_id: int,
    text: str | None,
    attachments: list[dict[str, Any]],
    *,
    label: Callable[[], str],
    session: AsyncSession,
    outbox: Outbox,
    i18n: I18n,
    appeal_message_id: int | None = None,
) -> list[OutboxMessage]:
    """The member's message as the appeal's topics get it, added to the caller's session
    (the caller commits, then delivers). `label` is called in each group's language."""
    rows: list[OutboxMessage] = []
    for topic, language in await topics_with_language(session, appeal_id):
        with i18n.use_locale(language):
            methods = relay(topic.chat_id, label(), text, attachments, None)
        rows += send_later(
            session,
            outbox,
            in_thread(methods, topic.thread_id),
            purpose=TO_STAFF,
            appeal_id=appeal_id,
            appeal_message_id=appeal_message_id,
        )
    return rows


async def close_topics(
    appeal_id: int, *, session: AsyncSession, outbox: Outbox, covering: bool | None = None
) -> list[OutboxMessage]:
    """Close the appeal's topics (added to the caller's session, sent after its commit):
    all of them when it is closed; after a hand-over to another region, those of the groups
    that no longer serve it (`covering=False`)."""
    topics = await topics_with_language(session, appeal_id, covering=covering)
    methods: list[TelegramMethod[Any]] = [
        CloseForumTopic(chat_id=topic.chat_id, message_thread_id=topic.thread_id)
        for topic, _language in topics
    ]
    if not methods:
        return []
    return send_later(session, outbox, methods, purpose=TO_STAFF, appeal_id=appeal_id)


async def reopen_topics(
    appeal_id: int, status: AppealStatus, *, session: AsyncSession, outbox: Outbox, i18n: I18n
) -> list[OutboxMessage]:
    """ "Not solved": the appeal's topics open again, with a line and the card's buttons
    (added to the caller's session, sent after its commit)."""
    rows: list[OutboxMessage] = []
    for topic, language in await topics_with_language(session, appeal_id):
        with i18n.use_locale(language):
            text = _(
                "🔁 Appeal No. {number} is reopened: the member says the problem is not solved."
            ).format(number=appeal_id)
            markup = topic_markup(appeal_id, status)
        rows += send_later(
            session,
            outbox,
            [
                ReopenForumTopic(chat_id=topic.chat_id, message_thread_id=topic.thread_id),
                SendMessage(
                    chat_id=topic.chat_id,
                    message_thread_id=topic.thread_id,
                    text=text,
                    reply_markup=markup,
                ),
            ],
            purpose=TO_STAFF,
            appeal_id=appeal_id,
        )
    return rows + await refresh_cards(appeal_id, status, session=session, outbox=outbox, i18n=i18n)


async def refresh_cards(
    appeal_id: int,
    status: AppealStatus,
    *,
    session: AsyncSession,
    outbox: Outbox,
    i18n: I18n,
    tapped: tuple[int, int] | None = None,
) -> list[OutboxMessage]:
    """The buttons of the appeal's topic cards as its new `status` has them (added to the
    caller's session, sent after its commit); a card in a group that no longer serves the
    appeal (handed to another region) loses its buttons. A card not sent yet, or posted
    before cards were remembered, is left; so is `tapped` (chat, message), the card the
    caller edits itself."""
    rows: list[OutboxMessage] = []
    for covering in (True, False):
        for topic, language in await topics_with_language(session, appeal_id, covering=covering):
            if topic.card_outbox_id is None:
                continue
            card = await session.get(OutboxMessage, topic.card_outbox_id)
            if card is None or card.status != OutboxStatus.SENT or not card.message_id:
                continue
            if tapped == (card.chat_id, card.message_id):
                continue
            with i18n.use_locale(language):
                markup = topic_markup(appeal_id, status) if covering else None
            rows += send_later(
                session,
                outbox,
                [
                    EditMessageReplyMarkup(
                        chat_id=card.chat_id, message_id=card.message_id, reply_markup=markup
                    )
                ],
                purpose=TO_STAFF,
                appeal_id=appeal_id,
            )
    return rows


async def released_cards(
    appeal_ids: Iterable[int], *, session: AsyncSession, outbox: Outbox, i18n: I18n
) -> list[OutboxMessage]:
    """The cards of appeals that went back to the queue by an access change or the desk's
    clock: "take" again (added to the caller's session, sent after its commit)."""
    rows: list[OutboxMessage] = []
    for appeal_id in sorted(set(appeal_ids)):
        rows += await refresh_cards(
            appeal_id, AppealStatus.QUEUED, session=session, outbox=outbox, i18n=i18n
        )
    return rows


async def deliver_quietly(bot: Bot, outbox: Outbox, rows: list[OutboxMessage]) -> None:
    """The first try of what goes to the topics: what fails is the background sender's."""
    if rows:
        await outbox.deliver(bot, rows)

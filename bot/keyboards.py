"""Keyboards. Texts go through gettext in the current member's locale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _

from bot.callbacks import (
    ConsentCb,
    DraftCb,
    FaqCb,
    LangCb,
    OrgCb,
    TopicCb,
    WorkplaceCb,
)
from bot.i18n import N_
from bot.storage.models import WorkplaceType
from bot.topics import TOPICS, MemberOrgs, topic_title

T = TypeVar("T")


def batched(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class InlineKeyboard:
    """aiogram's InlineKeyboardBuilder without its copies.

    The builder deep-copies the whole markup on every added button (quadratic in buttons,
    and most of the CPU time of an update in bench/updates.py); this one only appends.
    """

    def __init__(self) -> None:
        self._rows: list[list[InlineKeyboardButton]] = []
        self._pending: list[InlineKeyboardButton] = []

    def button(self, *, text: str, callback_data: CallbackData | str) -> None:
        data = callback_data.pack() if isinstance(callback_data, CallbackData) else callback_data
        self._pending.append(InlineKeyboardButton(text=text, callback_data=data))

    def adjust(self, *sizes: int) -> None:
        """Lay the buttons added so far in rows of these sizes; the last size repeats."""
        buttons, self._pending = self._pending, []
        index = 0
        for size in sizes:
            if index >= len(buttons):
                break
            self._rows.append(buttons[index : index + size])
            index += size
        self._rows.extend(batched(buttons[index:], sizes[-1]))

    def row(self, *buttons: InlineKeyboardButton) -> None:
        self.adjust(8)
        self._rows.append(list(buttons))

    def as_markup(self) -> InlineKeyboardMarkup:
        self.adjust(8)
        return InlineKeyboardMarkup(inline_keyboard=self._rows)


BTN_FAQ = N_("📚 Legal FAQ")
BTN_ASK = N_("✍️ Ask a lawyer")
BTN_MY = N_("📂 My appeals")
BTN_MAILBOX = N_("📮 Union mailbox")
BTN_LANG = N_("🌐 Language")
BTN_HELP = N_("ℹ️ Help")
MENU = (BTN_FAQ, BTN_ASK, BTN_MY, BTN_MAILBOX, BTN_LANG, BTN_HELP)

WORKPLACE_LABELS = {
    WorkplaceType.SCHOOL: N_("School"),
    WorkplaceType.KINDERGARTEN: N_("Kindergarten"),
    WorkplaceType.COLLEGE: N_("College"),
    WorkplaceType.UNIVERSITY: N_("University"),
    WorkplaceType.RESEARCH: N_("Research organisation"),
    WorkplaceType.OTHER: N_("Other"),
}


def main_menu() -> ReplyKeyboardMarkup:
    labels = [_(label) for label in (BTN_FAQ, BTN_ASK, BTN_MY, BTN_MAILBOX, BTN_LANG, BTN_HELP)]
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=text) for text in row] for row in batched(labels, 2)],
        resize_keyboard=True,
        input_field_placeholder=_("Type your question here"),
    )


def languages() -> InlineKeyboardMarkup:
    kb = InlineKeyboard()
    kb.button(text="🇰🇿 Қазақша", callback_data=LangCb(code="kk"))
    kb.button(text="🇷🇺 Русский", callback_data=LangCb(code="ru"))
    return kb.as_markup()


def member_orgs(orgs: MemberOrgs, lang: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboard()
    for org in orgs.orgs:
        kb.button(text=org.title(lang), callback_data=OrgCb(id=org.id))
    kb.adjust(2)
    return kb.as_markup()


def workplaces() -> InlineKeyboardMarkup:
    kb = InlineKeyboard()
    for kind, label in WORKPLACE_LABELS.items():
        kb.button(text=_(label), callback_data=WorkplaceCb(kind=kind.value))
    kb.adjust(2)
    return kb.as_markup()


def consent() -> InlineKeyboardMarkup:
    kb = InlineKeyboard()
    kb.button(text=_("✅ I agree"), callback_data=ConsentCb(agree=True))
    kb.button(text=_("Not now"), callback_data=ConsentCb(agree=False))
    kb.adjust(1)
    return kb.as_markup()


def topics(lang: str, *, with_cancel: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboard()
    for topic_id in TOPICS:
        kb.button(text=topic_title(topic_id, lang), callback_data=TopicCb(id=topic_id))
    if with_cancel:
        kb.button(text=_("✖️ Cancel"), callback_data=DraftCb(action="cancel"))
    kb.adjust(2)
    return kb.as_markup()


def faq_nav(kb: InlineKeyboard, back_to: str | None) -> None:
    """Back (to the parent, or to the topics) and Home, under every FAQ screen; one button
    where both lead to the topics."""
    if back_to == "":
        kb.row(
            InlineKeyboardButton(
                text=_("⬅️ Back"), callback_data=FaqCb(action="open", node="").pack()
            )
        )
    elif back_to is not None:
        kb.row(
            InlineKeyboardButton(
                text=_("⬅️ Back"), callback_data=FaqCb(action="open", node=back_to).pack()
            ),
            InlineKeyboardButton(
                text=_("🏠 Home"), callback_data=FaqCb(action="open", node="").pack()
            ),
        )

"""Keyboards. Texts go through gettext in the current member's locale."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder, ReplyKeyboardBuilder

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

BTN_FAQ = N_("📚 Legal FAQ")
BTN_ASK = N_("✍️ Ask a lawyer")
BTN_MY = N_("📂 My appeals")
BTN_MAILBOX = N_("📮 Union mailbox")
BTN_LANG = N_("🌐 Language")
BTN_HELP = N_("ℹ️ Help")

WORKPLACE_LABELS = {
    WorkplaceType.SCHOOL: N_("School"),
    WorkplaceType.KINDERGARTEN: N_("Kindergarten"),
    WorkplaceType.COLLEGE: N_("College"),
    WorkplaceType.UNIVERSITY: N_("University"),
    WorkplaceType.RESEARCH: N_("Research organisation"),
    WorkplaceType.OTHER: N_("Other"),
}


def main_menu() -> ReplyKeyboardMarkup:
    kb = ReplyKeyboardBuilder()
    for label in (BTN_FAQ, BTN_ASK, BTN_MY, BTN_MAILBOX, BTN_LANG, BTN_HELP):
        kb.button(text=_(label))
    kb.adjust(2, 2, 2)
    return kb.as_markup(resize_keyboard=True, input_field_placeholder=_("Type your question here"))


def languages() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="🇰🇿 Қазақша", callback_data=LangCb(code="kk"))
    kb.button(text="🇷🇺 Русский", callback_data=LangCb(code="ru"))
    return kb.as_markup()


def member_orgs(orgs: MemberOrgs, lang: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for org in orgs.orgs:
        kb.button(text=org.title(lang), callback_data=OrgCb(id=org.id))
    kb.adjust(2)
    return kb.as_markup()


def workplaces() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for kind, label in WORKPLACE_LABELS.items():
        kb.button(text=_(label), callback_data=WorkplaceCb(kind=kind.value))
    kb.adjust(2)
    return kb.as_markup()


def consent() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ I agree"), callback_data=ConsentCb(agree=True))
    kb.button(text=_("Not now"), callback_data=ConsentCb(agree=False))
    kb.adjust(1)
    return kb.as_markup()


def topics(lang: str, *, with_cancel: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for topic_id in TOPICS:
        kb.button(text=topic_title(topic_id, lang), callback_data=TopicCb(id=topic_id))
    if with_cancel:
        kb.button(text=_("✖️ Cancel"), callback_data=DraftCb(action="cancel"))
    kb.adjust(2)
    return kb.as_markup()


def faq_nav(kb: InlineKeyboardBuilder, back_to: str | None) -> None:
    """Back (to the parent, or to the topics) and Home, under every FAQ screen."""
    if back_to is not None:
        kb.row(
            InlineKeyboardButton(
                text=_("⬅️ Back"), callback_data=FaqCb(action="open", node=back_to).pack()
            ),
            InlineKeyboardButton(
                text=_("🏠 Home"), callback_data=FaqCb(action="open", node="").pack()
            ),
        )

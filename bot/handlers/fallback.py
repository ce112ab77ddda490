"""The last router: whatever nobody else took gets a short, localised hint. Never silence."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.filters import COMMAND, FILE, Magic
from bot.handlers.shared.common import outdated
from bot.handlers.shared.states import AddToAppeal, AppealDraft, Mailbox

router = Router(name=__name__)


@router.callback_query()
async def on_stale_button(query: CallbackQuery) -> None:
    await query.answer(outdated(), show_alert=True)


@router.message(StateFilter(AppealDraft.topic))
async def on_waiting_topic(message: Message) -> None:
    await message.answer(_("Please choose the topic with the buttons above."))


@router.message(StateFilter(AppealDraft, AddToAppeal, Mailbox), COMMAND)
async def on_unknown_command_in_dialog(message: Message) -> None:
    await message.answer(_("Unknown command. Send /start for the main menu."))


@router.message(Magic(F.sticker | F.animation | F.dice))
async def on_sticker(message: Message) -> None:
    await message.answer(_("Nice sticker! But I understand only words: please type your question."))


@router.message(Magic(F.voice | F.video_note | F.audio | F.video))
async def on_voice(message: Message) -> None:
    await message.answer(
        _("I cannot listen to voice or video messages yet. Please type your question in words.")
    )


@router.message(Magic(F.location | F.venue | F.contact))
async def on_location_or_contact(message: Message) -> None:
    await message.answer(
        _(
            "There is no need to send a location or a contact: the lawyers know your member "
            "organisation. Please type your question in words."
        )
    )


@router.message(StateFilter(None), FILE)
async def on_file_outside_appeal(message: Message) -> None:
    await message.answer(
        _(
            "To pass a document to a lawyer, start an appeal with “✍️ Ask a lawyer” (or /ask), "
            "or add it to an open appeal in /my."
        )
    )


@router.message(COMMAND)
async def on_unknown_command(message: Message) -> None:
    await message.answer(_("Unknown command. Send /help to see what I can do."))


@router.message()
async def on_anything_else(message: Message) -> None:
    await message.answer(_("I understand text, photos and documents. Please type your question."))

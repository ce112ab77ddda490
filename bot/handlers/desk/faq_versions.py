"""An FAQ answer's sign-off and versions: a lawyer signs exactly the published version
they saw; the versions list who changed what, and one tap restores an earlier one."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import FaqEditCb
from bot.faq.content import Faq, Node
from bot.faq.library import FaqLibrary
from bot.handlers.desk.faq_editor import (
    Editor,
    author_name,
    change_words,
    edit_or_send,
    show_changed,
    version_number,
)
from bot.handlers.shared.common import outdated
from bot.services.staff import StaffView, audit
from bot.storage import faq as store
from bot.storage.models import FaqVersion, utcnow

router = Router(name=__name__)
router.message.filter(Editor())
router.callback_query.filter(Editor())


@router.callback_query(FaqEditCb.filter(F.action == "sign"))
async def on_sign(
    query: CallbackQuery, callback_data: FaqEditCb, faq: Faq, staff: StaffView, i18n: I18n
) -> None:
    node = faq.get(callback_data.node)
    if node is None or not node.is_answer or callback_data.value != str(node.version):
        await query.answer(outdated(), show_alert=True)
        return
    name = author_name(staff, query)
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("✅ I have checked it: sign off"),
        callback_data=FaqEditCb(action="signok", node=node.id, value=str(node.version)),
    )
    builder.button(text=_("↩️ Not now"), callback_data=FaqEditCb(action="open", node=node.id))
    builder.adjust(1)
    assert isinstance(query.message, Message)
    await query.message.answer(
        _(
            "You confirm, as union lawyer {name}, that version {number} of «{title}» is right "
            "in both languages, with its references. For 12 months, or until the next edit, "
            "members will read: “Checked by union lawyer {name}, {date}.”"
        ).format(
            name=escape(name),
            number=node.version,
            title=escape(node.title_in(i18n.current_locale)),
            date=utcnow().strftime("%d.%m.%Y"),
        ),
        reply_markup=builder.as_markup(),
    )
    await query.answer()


@router.callback_query(FaqEditCb.filter(F.action == "signok"))
async def on_sign_confirmed(
    query: CallbackQuery,
    callback_data: FaqEditCb,
    faq: Faq,
    faq_library: FaqLibrary,
    session: AsyncSession,
    staff: StaffView,
    i18n: I18n,
) -> None:
    node = faq.get(callback_data.node)
    number = version_number(callback_data.value)
    if node is None or number is None:
        await query.answer(outdated(), show_alert=True)
        return
    author = store.Author(staff.id, author_name(staff, query))
    signed = await store.sign_off(session, node.id, number, author, utcnow())
    if not signed:
        await query.answer(
            _("This version is no longer the published one: open the answer again."),
            show_alert=True,
        )
        return
    await audit(session, staff.telegram_id, "faq-sign-off", entry=node.id, version=node.version)
    await session.commit()
    note = "✅ " + _("Signed off. Members see your name and today's date under the answer.")
    await show_changed(query, session, faq_library, node.id, i18n.current_locale, note)


@router.callback_query(FaqEditCb.filter(F.action == "history"))
async def on_history(
    query: CallbackQuery, callback_data: FaqEditCb, faq: Faq, session: AsyncSession, i18n: I18n
) -> None:
    node = faq.get(callback_data.node)
    if node is None or not node.is_answer:
        await query.answer(outdated(), show_alert=True)
        return
    versions = await store.versions(session, node.id)
    lines = [f"🕘 <b>{escape(node.title_in(i18n.current_locale))}</b>"]
    builder = kb.InlineKeyboard()
    for version in versions:
        lines.append(version_line(version, current=version.number == node.version))
        if version.number != node.version:
            builder.button(
                text=_("↩️ Restore version {number}").format(number=version.number),
                callback_data=FaqEditCb(action="restore", node=node.id, value=str(version.number)),
            )
    builder.adjust(2)
    builder.button(
        text=_("⬅️ Back to the editor"), callback_data=FaqEditCb(action="open", node=node.id)
    )
    builder.adjust(1)
    await edit_or_send(query, "\n".join(lines), builder.as_markup())


def version_line(version: FaqVersion, *, current: bool) -> str:
    mark = "▶️" if current else "•"
    parts = [
        f"{mark} <b>{version.number}</b> · {version.created_at.strftime('%d.%m.%Y %H:%M')}",
        escape(version.author_name or _("the repository")),
        escape(change_words(list(version.changes or []))),
    ]
    if version.restored_from:
        parts.append(_("restored from {number}").format(number=version.restored_from))
    if version.signed_at is not None:
        parts.append(
            "✅ "
            + _("signed off by {name} on {date}").format(
                name=escape(version.signed_by_name or ""),
                date=version.signed_at.strftime("%d.%m.%Y"),
            )
        )
    return " · ".join(p for p in parts if p)


async def _asked_version(
    session: AsyncSession, faq: Faq, callback_data: FaqEditCb
) -> tuple[Node | None, FaqVersion | None]:
    """The answer and the earlier version a restore button names (None when either is gone
    or the button is forged)."""
    node = faq.get(callback_data.node)
    number = version_number(callback_data.value)
    if node is None or number is None:
        return node, None
    return node, await store.version(session, node.id, number)


@router.callback_query(FaqEditCb.filter(F.action == "restore"))
async def on_restore(
    query: CallbackQuery, callback_data: FaqEditCb, faq: Faq, session: AsyncSession
) -> None:
    node, old = await _asked_version(session, faq, callback_data)
    if node is None or old is None:
        await query.answer(outdated(), show_alert=True)
        return
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("↩️ Yes, restore version {number}").format(number=old.number),
        callback_data=FaqEditCb(action="restoreok", node=node.id, value=str(old.number)),
    )
    builder.button(
        text=_("⬅️ Back to the editor"), callback_data=FaqEditCb(action="open", node=node.id)
    )
    builder.adjust(1)
    assert isinstance(query.message, Message)
    await query.message.answer(
        _(
            "Restore version {number}? It is published at once as a new version; "
            "the sign-off has to be given again."
        ).format(number=old.number),
        reply_markup=builder.as_markup(),
    )
    await query.answer()


@router.callback_query(FaqEditCb.filter(F.action == "restoreok"))
async def on_restore_confirmed(
    query: CallbackQuery,
    callback_data: FaqEditCb,
    faq: Faq,
    faq_library: FaqLibrary,
    session: AsyncSession,
    staff: StaffView,
    i18n: I18n,
) -> None:
    node, old = await _asked_version(session, faq, callback_data)
    if node is None or old is None:
        await query.answer(outdated(), show_alert=True)
        return
    author = store.Author(staff.id, author_name(staff, query))
    published = await store.publish(
        session, node.id, store.Texts.of_version(old), author, restored_from=old.number
    )
    if published is not None:
        await audit(
            session,
            staff.telegram_id,
            "faq-restore",
            entry=node.id,
            version=published.number,
            restored_from=old.number,
        )
    await session.commit()
    note = (
        "↩️ " + _("Version {number} restored: members see it now.").format(number=old.number)
        if published is not None
        else _("That version is the published text already.")
    )
    await show_changed(query, session, faq_library, node.id, i18n.current_locale, note)

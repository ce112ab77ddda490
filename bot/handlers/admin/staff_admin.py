"""Admins: /staff lists staff; a person's role is changed or revoked, a lawyer's member
organisations are picked. Every change takes effect at once: the appeals the person holds
that the new role no longer covers go back to their regions' queues, their members are
told, and so is the person."""

from __future__ import annotations

from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.access import (
    FIRST_TRY,
    ROLE_TITLES,
    refresh_menu,
    role_text,
    role_title,
    tell_members,
    tell_person,
)
from bot.callbacks import RegionsCb, StaffCb
from bot.filters import HasRole
from bot.handlers.shared.common import outdated
from bot.handlers.shared.common import reader_language as _lang
from bot.handlers.shared.forum import released_cards
from bot.outbox import Outbox, letter
from bot.outbox.texts import NOTICE
from bot.services.members import MemberDirectory, MemberView
from bot.services.staff import (
    Changed,
    StaffDirectory,
    StaffError,
    StaffView,
    audit,
    change_role,
    held_count,
    list_staff,
    set_regions,
)
from bot.storage import outbox as outbox_store
from bot.storage.models import OutboxMessage, Staff, StaffRole, utcnow
from bot.topics import MemberOrgs

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.ADMIN))
router.callback_query.filter(HasRole(StaffRole.ADMIN))


def _name(person: Staff) -> str:
    return person.full_name or str(person.telegram_id)


async def staff_view(
    session: AsyncSession, orgs: MemberOrgs, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    people = await list_staff(session)
    lines = [_("<b>Staff</b> ({count})").format(count=len(people))]
    builder = kb.InlineKeyboard()
    for person in people:
        regions = ", ".join(orgs.title(o, lang) for o in person.member_orgs or [])
        lines.append(
            "• {name} — {role}{regions}".format(
                name=escape(_name(person)),
                role=role_title(person.role),
                regions=f" ({escape(regions)})" if regions else "",
            )
        )
        builder.button(text=_name(person), callback_data=StaffCb(action="pick", staff_id=person.id))
    builder.adjust(2)
    return "\n".join(lines), builder.as_markup()


@router.message(Command("staff"))
async def cmd_staff(
    message: Message, session: AsyncSession, orgs: MemberOrgs, member: MemberView | None
) -> None:
    text, markup = await staff_view(session, orgs, member.language if member else "kk")
    await message.answer(text, reply_markup=markup)


@router.callback_query(StaffCb.filter(F.action == "list"))
async def on_list(
    query: CallbackQuery, session: AsyncSession, orgs: MemberOrgs, member: MemberView | None
) -> None:
    text, markup = await staff_view(session, orgs, member.language if member else "kk")
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


async def _person(session: AsyncSession, staff_id: int) -> Staff | None:
    person = await session.get(Staff, staff_id)
    return person if person is not None and person.active else None


@router.callback_query(StaffCb.filter(F.action == "pick"))
async def on_pick(
    query: CallbackQuery,
    callback_data: StaffCb,
    session: AsyncSession,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    person = await _person(session, callback_data.staff_id)
    if person is None:
        await query.answer(outdated(), show_alert=True)
        return
    held = await held_count(session, person.id)
    text = _("<b>{name}</b>: {role}\nOpen appeals they hold: {held}").format(
        name=escape(_name(person)),
        role=role_text(person.role, person.member_orgs or [], orgs, _lang(member, i18n)),
        held=held,
    )
    if held:
        text += "\n" + _(
            "Appeals of a region the new role does not cover go back to that region's queue, "
            "and their members are told."
        )
    text += "\n\n" + _("Choose the new role:")
    builder = kb.InlineKeyboard()
    for role in StaffRole:
        builder.button(
            text=_(ROLE_TITLES[role]),
            callback_data=StaffCb(action="role", staff_id=person.id, role=role.value),
        )
    if person.role == StaffRole.LAWYER:
        builder.button(
            text=_("🗺 Member organisations"),
            callback_data=RegionsCb(action="open", staff_id=person.id),
        )
        builder.button(
            text=_("✏️ Edits the FAQ: yes") if person.faq_editor else _("✏️ Edits the FAQ: no"),
            callback_data=StaffCb(action="editor", staff_id=person.id),
        )
    builder.button(text=_("⛔ Revoke"), callback_data=StaffCb(action="revoke", staff_id=person.id))
    builder.button(text=_("⬅️ Staff"), callback_data=StaffCb(action="list", staff_id=0))
    builder.adjust(2)
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=builder.as_markup())
    await query.answer()


async def announce(
    changed: Changed,
    *,
    query: CallbackQuery,
    session: AsyncSession,
    outbox: Outbox,
    bot: Bot,
    i18n: I18n,
    orgs: MemberOrgs,
    member: MemberView | None,
    member_directory: MemberDirectory,
    staff_directory: StaffDirectory,
    state: FSMContext,
) -> None:
    """After a change (not yet committed): the members of released appeals and the person
    are told, in the change's transaction; then the admin sees the staff list again."""
    start = outbox.head_start()
    rows = tell_members(session, i18n, changed.released, not_before=start)
    rows += await released_cards(
        [r.appeal_id for r in changed.released], session=session, outbox=outbox, i18n=i18n
    )
    told: list[OutboxMessage] = []
    lang = ""
    if changed.changed:
        told, lang = await tell_person(
            session, i18n, member_directory, orgs, changed.staff, changed.released, not_before=start
        )
    await session.commit()
    staff_directory.invalidate()
    # A region picker left open is done with (its own storage: after the commit, SQLite
    # would wait for this transaction's lock).
    await state.update_data(regions=None)
    text, markup = await staff_view(session, orgs, _lang(member, i18n))
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    done = _("Saved.")
    if changed.released:
        done += "\n" + _("Appeals back in their regions' queues: {count}.").format(
            count=len(changed.released)
        )
    await query.answer(done, show_alert=bool(changed.released))
    await outbox.deliver(bot, (told + rows)[:FIRST_TRY])
    person = changed.staff
    if changed.changed:
        role = person.role if person.active else None
        await refresh_menu(bot, i18n, person.telegram_id, lang, role)


def _refusal(exc: StaffError) -> str:
    if exc.code == "self":
        return _("You cannot change your own role.")
    if exc.code == "lawyer-needs-org":
        return _("A lawyer needs at least one member organisation.")
    return outdated()


@router.callback_query(StaffCb.filter(F.action == "editor"))
async def on_editor_right(
    query: CallbackQuery,
    callback_data: StaffCb,
    session: AsyncSession,
    staff: StaffView,
    staff_directory: StaffDirectory,
    member_directory: MemberDirectory,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
) -> None:
    """A lawyer may edit, publish and sign off FAQ answers (head lawyers may by their role)."""
    person = await _person(session, callback_data.staff_id)
    if person is None or person.role != StaffRole.LAWYER:
        await query.answer(outdated(), show_alert=True)
        return
    person.faq_editor = not person.faq_editor
    await audit(
        session, staff.telegram_id, "faq-editor", staff_id=person.id, editor=person.faq_editor
    )
    lang = await member_directory.language_of(session, person.telegram_id)
    with i18n.context(), i18n.use_locale(lang):
        told = (
            _("An admin gave you the right to edit and sign off FAQ answers: /faqedit")
            if person.faq_editor
            else _("You no longer edit FAQ answers.")
        )
    outbox_store.add(
        session,
        [letter(SendMessage(chat_id=person.telegram_id, text=told))],
        purpose=NOTICE,
        now=utcnow(),
    )
    await session.commit()
    staff_directory.invalidate()
    await outbox.send_due(bot)
    await on_pick(query, callback_data, session, orgs, member, i18n)


@router.callback_query(StaffCb.filter(F.action.in_({"role", "revoke"})))
async def on_change(
    query: CallbackQuery,
    callback_data: StaffCb,
    session: AsyncSession,
    staff: StaffView,
    staff_directory: StaffDirectory,
    member_directory: MemberDirectory,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
    state: FSMContext,
) -> None:
    role = None
    if callback_data.action == "role":
        if callback_data.role not in {r.value for r in StaffRole}:
            await query.answer(outdated(), show_alert=True)
            return
        role = StaffRole(callback_data.role)
        person = await _person(session, callback_data.staff_id)
        if role == StaffRole.LAWYER and person is not None and person.role != role:
            # A lawyer needs their member organisations: picked first, saved together.
            await open_picker(
                query, person, [], staff=staff, state=state, orgs=orgs, lang=_lang(member, i18n)
            )
            return
    try:
        changed = await change_role(session, staff, callback_data.staff_id, role)
    except StaffError as exc:
        await session.rollback()
        await query.answer(_refusal(exc), show_alert=True)
        return
    await announce(
        changed,
        query=query,
        session=session,
        outbox=outbox,
        bot=bot,
        i18n=i18n,
        orgs=orgs,
        member=member,
        member_directory=member_directory,
        staff_directory=staff_directory,
        state=state,
    )


# --- the member organisations of a lawyer --------------------------------------------------


def picker_markup(
    staff_id: int, chosen: list[str], orgs: MemberOrgs, lang: str
) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    for org in orgs.orgs:
        mark = "✅ " if org.id in chosen else "▫️ "
        builder.button(
            text=mark + org.title(lang),
            callback_data=RegionsCb(action="org", staff_id=staff_id, org=org.id),
        )
    builder.adjust(2)
    builder.button(text=_("💾 Save"), callback_data=RegionsCb(action="save", staff_id=staff_id))
    builder.button(text=_("⬅️ Back"), callback_data=StaffCb(action="pick", staff_id=staff_id))
    builder.adjust(2)
    return builder.as_markup()


def picker_text(person: Staff, chosen: list[str]) -> str:
    return _(
        "<b>{name}</b>: the member organisations they handle as a lawyer. Tap to choose, "
        "then save. Chosen: {count}."
    ).format(name=escape(_name(person)), count=len(chosen))


async def open_picker(
    query: CallbackQuery,
    person: Staff,
    chosen: list[str],
    *,
    staff: StaffView,
    state: FSMContext,
    orgs: MemberOrgs,
    lang: str,
) -> None:
    if person.telegram_id == staff.telegram_id:
        await query.answer(_("You cannot change your own role."), show_alert=True)
        return
    # The choice so far lives in the admin's FSM data: the buttons carry one organisation
    # each, never the whole choice.
    await state.update_data(regions={"staff_id": person.id, "orgs": chosen})
    if isinstance(query.message, Message):
        await query.message.edit_text(
            picker_text(person, chosen), reply_markup=picker_markup(person.id, chosen, orgs, lang)
        )
    await query.answer()


@router.callback_query(RegionsCb.filter(F.action == "open"))
async def on_regions(
    query: CallbackQuery,
    callback_data: RegionsCb,
    session: AsyncSession,
    staff: StaffView,
    state: FSMContext,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    person = await _person(session, callback_data.staff_id)
    if person is None:
        await query.answer(outdated(), show_alert=True)
        return
    chosen = list(person.member_orgs or []) if person.role == StaffRole.LAWYER else []
    await open_picker(
        query, person, chosen, staff=staff, state=state, orgs=orgs, lang=_lang(member, i18n)
    )


async def _chosen(state: FSMContext, staff_id: int) -> list[str] | None:
    """The picker's choice for this person, or None for a button of another picker."""
    regions = (await state.get_data()).get("regions")
    if not isinstance(regions, dict) or regions.get("staff_id") != staff_id:
        return None
    return [str(org) for org in regions.get("orgs") or []]


@router.callback_query(RegionsCb.filter(F.action == "org"))
async def on_region_toggle(
    query: CallbackQuery,
    callback_data: RegionsCb,
    session: AsyncSession,
    state: FSMContext,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    chosen = await _chosen(state, callback_data.staff_id)
    person = await _person(session, callback_data.staff_id)
    if chosen is None or person is None or callback_data.org not in orgs.by_id:
        await query.answer(outdated(), show_alert=True)
        return
    if callback_data.org in chosen:
        chosen.remove(callback_data.org)
    else:
        chosen.append(callback_data.org)
    await state.update_data(regions={"staff_id": person.id, "orgs": chosen})
    if isinstance(query.message, Message):
        await query.message.edit_text(
            picker_text(person, chosen),
            reply_markup=picker_markup(person.id, chosen, orgs, _lang(member, i18n)),
        )
    await query.answer()


@router.callback_query(RegionsCb.filter(F.action == "save"))
async def on_regions_save(
    query: CallbackQuery,
    callback_data: RegionsCb,
    session: AsyncSession,
    staff: StaffView,
    state: FSMContext,
    staff_directory: StaffDirectory,
    member_directory: MemberDirectory,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
) -> None:
    chosen = await _chosen(state, callback_data.staff_id)
    if chosen is None:
        await query.answer(outdated(), show_alert=True)
        return
    try:
        changed = await set_regions(
            session, staff, callback_data.staff_id, chosen, known_orgs=set(orgs.by_id)
        )
    except StaffError as exc:
        await session.rollback()
        await query.answer(_refusal(exc), show_alert=True)
        return
    await announce(
        changed,
        query=query,
        session=session,
        outbox=outbox,
        bot=bot,
        i18n=i18n,
        orgs=orgs,
        member=member,
        member_directory=member_directory,
        staff_directory=staff_directory,
        state=state,
    )

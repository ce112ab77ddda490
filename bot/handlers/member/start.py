"""/start onboarding (language → member organisation → workplace → consent), /lang, /help.

A region's start link (`/start org_<id>`, bot/links.py; `/links` gives them) chooses the
member organisation in advance: the member sees it after the language and may choose
another. An unknown id starts the usual onboarding; a registered member gets the menu."""

from __future__ import annotations

from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.access import role_title
from bot.callbacks import ConsentCb, LangCb, OrgCb, WorkplaceCb
from bot.commands import STAFF_COMMANDS, set_chat_commands
from bot.filters import NOT_COMMAND, HasRole, MenuButton, Registered
from bot.handlers.shared.common import outdated
from bot.handlers.shared.states import Onboarding
from bot.links import ORG, payload_after
from bot.services.members import (
    CONSENT_VERSION,
    MemberDirectory,
    MemberView,
    is_registered,
    save_onboarding,
    set_language,
)
from bot.services.staff import StaffDirectory, StaffView, set_staff_language
from bot.storage.models import StaffRole, WorkplaceType
from bot.topics import MemberOrg, MemberOrgs

router = Router(name=__name__)

# The button under the region a start link chose that lists every region instead (no
# organisation id has a "*": bot/topics.py).
ANOTHER_ORG = "*"


def consent_text() -> str:
    return _(
        "<b>Consent to personal data processing</b>\n\n"
        "To pass your appeals to the union's lawyers, Qorgau stores your region, your type "
        "of workplace, your appeals and the files you attach, and your Telegram name, "
        "username and account id (not your phone number) so the lawyer knows whom they "
        "answer and the bot can write to you.\n\n"
        "• The data are kept on the union's own server in Kazakhstan.\n"
        "• Only the union's lawyers of your region and its head lawyers see them.\n"
        "• Nothing is passed to your employer.\n"
        "• You may ask the union to delete your data at any time.\n\n"
        "Without consent you can still read the legal FAQ, but cannot send appeals.\n"
        "Consent version: {version}."
    ).format(version=CONSENT_VERSION)


def language_prompt(i18n: I18n) -> str:
    return "\n".join(
        i18n.gettext("Choose the language of the bot:", locale=lang) for lang in ("kk", "ru")
    )


async def show_main_menu(message: Message, text: str | None = None) -> None:
    await message.answer(
        text
        or _(
            "How can I help? Type your question in your own words, or choose from the menu below."
        ),
        reply_markup=kb.main_menu(),
    )


@router.message(CommandStart(), Registered())
async def cmd_start_registered(message: Message, state: FSMContext) -> None:
    current = await state.get_state()
    if current and current.startswith("AppealDraft"):
        from bot.handlers.member.appeal import ask_keep_or_restart, has_draft

        if has_draft(await state.get_data()):
            # An unfinished appeal is never dropped silently: keep it, or start again.
            await state.update_data(restart={"menu": True})
            await ask_keep_or_restart(message)
            return
    await state.clear()
    await show_main_menu(message)


@router.message(CommandStart())
async def cmd_start(
    message: Message,
    state: FSMContext,
    i18n: I18n,
    orgs: MemberOrgs,
    command: CommandObject | None = None,
) -> None:
    await state.clear()
    await state.set_state(Onboarding.language)
    preset = payload_after(ORG, command.args if command else None)
    if preset in orgs.by_id:  # a region's start link; any other payload is ignored
        await state.update_data(preset_org=preset)
    await message.answer(
        _(
            "Welcome to Qorgau, the legal help bot of the union of education and science "
            "workers of Kazakhstan."
        )
    )
    await message.answer(language_prompt(i18n), reply_markup=kb.languages())


@router.callback_query(StateFilter(Onboarding.language), LangCb.filter(F.code.in_({"kk", "ru"})))
async def on_onboarding_language(
    query: CallbackQuery, callback_data: LangCb, state: FSMContext, i18n: I18n, orgs: MemberOrgs
) -> None:
    await state.update_data(lang=callback_data.code)
    await state.set_state(Onboarding.member_org)
    preset = orgs.by_id.get(str((await state.get_data()).get("preset_org") or ""))
    with i18n.use_locale(callback_data.code):
        if isinstance(query.message, Message):
            if preset is None:
                await ask_member_org(query.message, orgs, callback_data.code)
            else:
                await query.message.edit_text(
                    _(
                        "Your member organisation (region) of the union, from the link you "
                        "opened: <b>{region}</b>. Is it right? If not, choose another."
                    ).format(region=escape(preset.title(callback_data.code))),
                    reply_markup=preset_org_markup(preset, callback_data.code),
                )
    await query.answer()


def preset_org_markup(org: MemberOrg, lang: str) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    builder.button(text="✅ " + org.title(lang), callback_data=OrgCb(id=org.id))
    builder.button(text=_("🗺 Choose another region"), callback_data=OrgCb(id=ANOTHER_ORG))
    builder.adjust(1)
    return builder.as_markup()


async def ask_member_org(message: Message, orgs: MemberOrgs, lang: str) -> None:
    await message.edit_text(
        _("Which member organisation (region) of the union do you belong to?"),
        reply_markup=kb.member_orgs(orgs, lang),
    )


@router.callback_query(StateFilter(Onboarding.member_org), OrgCb.filter(F.id == ANOTHER_ORG))
async def on_another_member_org(
    query: CallbackQuery, state: FSMContext, i18n: I18n, orgs: MemberOrgs
) -> None:
    lang = str((await state.get_data()).get("lang") or i18n.current_locale)
    if isinstance(query.message, Message):
        with i18n.use_locale(lang):
            await ask_member_org(query.message, orgs, lang)
    await query.answer()


@router.callback_query(StateFilter(Onboarding.member_org), OrgCb.filter())
async def on_member_org(
    query: CallbackQuery, callback_data: OrgCb, state: FSMContext, orgs: MemberOrgs
) -> None:
    if callback_data.id not in orgs.by_id:
        await query.answer(outdated())
        return
    await state.update_data(org=callback_data.id)
    await state.set_state(Onboarding.workplace)
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Where do you work?"), reply_markup=kb.workplaces())
    await query.answer()


@router.callback_query(StateFilter(Onboarding.workplace), WorkplaceCb.filter())
async def on_workplace(query: CallbackQuery, callback_data: WorkplaceCb, state: FSMContext) -> None:
    if callback_data.kind not in {w.value for w in WorkplaceType}:
        await query.answer(outdated())
        return
    await state.update_data(workplace=callback_data.kind)
    await state.set_state(Onboarding.consent)
    if isinstance(query.message, Message):
        await query.message.edit_text(consent_text(), reply_markup=kb.consent())
    await query.answer()


@router.callback_query(StateFilter(Onboarding.consent), ConsentCb.filter())
async def on_consent(
    query: CallbackQuery,
    callback_data: ConsentCb,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    member_directory: MemberDirectory,
    staff: StaffView | None,
) -> None:
    data = await state.get_data()
    lang = str(data.get("lang", "kk"))
    saved = await save_onboarding(
        session,
        query.from_user.id,
        language=lang,
        member_org=str(data["org"]),
        workplace_type=WorkplaceType(str(data["workplace"])),
        consent=callback_data.agree,
    )
    await session.commit()
    member_directory.remember(saved.telegram_id, MemberView.of(saved))
    await state.clear()
    await set_chat_commands(bot, query.from_user.id, lang, i18n, staff.role if staff else None)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Thank you, consent recorded.")
            if callback_data.agree
            else _("Understood. You can read the FAQ; I will ask again before you send an appeal.")
        )
        await show_main_menu(
            query.message,
            _(
                "You are registered. Type your question in your own words: I will look for "
                "the answer in the legal FAQ, and if it is not there, pass it to a union lawyer."
            ),
        )
    await query.answer()


@router.message(StateFilter(Onboarding), NOT_COMMAND)
@router.callback_query(StateFilter(Onboarding))
async def on_onboarding_other(event: Message | CallbackQuery) -> None:
    if isinstance(event, CallbackQuery):
        await event.answer(outdated())
        return
    await event.answer(_("Please choose with the buttons in the message above, or send /start."))


# Staff who never onboarded as members get help too (their welcome at /join sends them
# here): registered before the catch-all that starts onboarding; members further down.
@router.message(Command("help"), HasRole(*StaffRole))
async def cmd_help(
    message: Message, staff: StaffView | None, member: MemberView | None = None
) -> None:
    text = _(
        "<b>Qorgau: legal help of the union</b>\n\n"
        "• Type your question in your own words: I will find answers in the legal FAQ.\n"
        "• /faq: browse the FAQ by topic.\n"
        "• /ask: send an appeal to a lawyer of your member organisation.\n"
        "• /my: your appeals and their status; add a message to an open appeal.\n"
        "• /feedback: a suggestion or complaint to the union's leadership.\n"
        "• /news: union news on or off.\n"
        "• /mydata: a file with everything the bot stores about you.\n"
        "• /forget: erase your personal data.\n"
        "• /lang: change the language.\n\n"
        "Answers in the FAQ are general information; a union lawyer looks at your own "
        "case when you send an appeal."
    )
    if staff is None:
        await message.answer(text, reply_markup=kb.main_menu())
        return
    # Staff: their commands first (the welcome at /join sends them here); the members'
    # part and keyboard only for staff who are registered members too.
    lines = [f"• /{name}: {_(description)}" for name, description in STAFF_COMMANDS[staff.role]]
    heading = _("<b>Your commands as {role}</b>").format(role=role_title(staff.role))
    staff_part = heading + "\n" + "\n".join(lines)
    if is_registered(member):
        await message.answer(staff_part + "\n\n" + text, reply_markup=kb.main_menu())
        return
    await message.answer(
        staff_part
        + "\n\n"
        + _(
            "To ask the union's lawyers as a member yourself, register with /start: choose "
            "your member organisation and workplace."
        ),
        reply_markup=ReplyKeyboardRemove(),
    )


@router.message(~Registered(), StateFilter(None), HasRole(*StaffRole), ~CommandStart())
async def on_staff_not_registered(message: Message, staff: StaffView | None) -> None:
    """Staff who are not members: a word or a button outside their own commands gets
    their help, not the members' onboarding (which /start still begins)."""
    await cmd_help(message, staff, None)


@router.message(~Registered(), StateFilter(None))
async def on_not_registered(
    message: Message, state: FSMContext, i18n: I18n, orgs: MemberOrgs
) -> None:
    # Anything before onboarding starts it: the member's first message is never ignored.
    await cmd_start(message, state, i18n, orgs)


router.message.register(cmd_help, Command("help"))
router.message.register(cmd_help, MenuButton(kb.BTN_HELP))


@router.message(Command("lang"))
@router.message(MenuButton(kb.BTN_LANG))
async def cmd_lang(message: Message, i18n: I18n) -> None:
    await message.answer(language_prompt(i18n), reply_markup=kb.languages())


@router.callback_query(
    LangCb.filter(F.code.in_({"kk", "ru"})),
    ~Registered(),
    HasRole(*StaffRole),
    StateFilter(None),
)
async def on_staff_language(
    query: CallbackQuery,
    callback_data: LangCb,
    staff: StaffView,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    staff_directory: StaffDirectory,
) -> None:
    """Staff who are not members change their screens' language without registering."""
    await set_staff_language(session, staff.id, callback_data.code)
    await session.commit()
    staff_directory.invalidate()
    await set_chat_commands(bot, query.from_user.id, callback_data.code, i18n, staff.role)
    with i18n.use_locale(callback_data.code):
        if isinstance(query.message, Message):
            await query.message.edit_text(_("Language changed: Kazakh."))
    await query.answer()


@router.callback_query(LangCb.filter(F.code.in_({"kk", "ru"})), Registered())
async def on_language_switch(
    query: CallbackQuery,
    callback_data: LangCb,
    member: MemberView,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    member_directory: MemberDirectory,
    staff: StaffView | None,
) -> None:
    saved = await set_language(session, member.id, callback_data.code)
    await session.commit()
    member_directory.remember(saved.telegram_id, MemberView.of(saved))
    await set_chat_commands(
        bot, query.from_user.id, callback_data.code, i18n, staff.role if staff else None
    )
    with i18n.use_locale(callback_data.code):
        if isinstance(query.message, Message):
            await query.message.edit_text(_("Language changed: Kazakh."))
            await show_main_menu(query.message)
    await query.answer()

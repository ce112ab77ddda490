"""The union mailbox: each button of the confirmation sends; a member who has not consented
to the storage of personal data can write only anonymously, whatever the buttons say."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiogram.methods import AnswerCallbackQuery
from sqlalchemy import select

from bot.context import Context
from bot.handlers.member.mailbox import anonymous_only
from bot.services.mailbox import MailboxError, send_to_mailbox
from bot.services.members import MemberView, get_member, save_onboarding
from bot.storage.models import Feedback, FeedbackKind, WorkplaceType
from tests.driver import Person, buttons, texts
from tests.test_member_flow import count, onboard

LETTER = "Прошу провести семинар по аттестации в нашем районе."


def russian(ctx: Context, text: Callable[[], str]) -> str:
    """A text of the handlers as a Russian-speaking member reads it."""
    with ctx.i18n.context(), ctx.i18n.use_locale("ru"):
        return text()


async def write(member: Person, kind: str = "suggestion") -> list[tuple[str, str]]:
    """/feedback → a kind → the letter: the buttons of the confirmation."""
    await member.send("/feedback")
    await member.press(f"fb:kind:{kind}")
    await member.send(LETTER)
    return buttons(member.last_message())


async def letters(ctx: Context) -> list[Feedback]:
    async with ctx.session_factory() as session:
        return list(await session.scalars(select(Feedback).order_by(Feedback.id)))


async def test_each_button_sends_with_the_name_or_without(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(170)
    await onboard(member, lang="ru", org="karaganda")
    choices = [data for _, data in await write(member)]
    assert choices == ["fb:send:signed", "fb:send:anonymous", "fb:cancel:"]
    await member.press("fb:send:signed")
    await write(member, "complaint")
    await member.press("fb:send:anonymous")
    signed, anonymous = await letters(ctx)
    async with ctx.session_factory() as session:
        row = await get_member(session, 170)
    assert row is not None
    assert (signed.member_id, signed.anonymous) == (row.id, False)
    assert (anonymous.member_id, anonymous.anonymous) == (None, True)
    assert signed.text == anonymous.text == LETTER
    assert signed.member_org == anonymous.member_org == "karaganda"


async def test_a_confirmation_drawn_with_the_old_switch_sends_nothing(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(171)
    await onboard(member, lang="ru")
    await write(member)
    for legacy in ("fb:anon:", "fb:send:"):  # the switch and the plain "Send" of before
        sent = await member.press(legacy)
        assert [r for r in sent if r.__api_method__ == "editMessageText"]
        assert [d for _, d in buttons(member.last_message())][:2] == [
            "fb:send:signed",
            "fb:send:anonymous",
        ]
    assert await count(ctx, Feedback) == 0


async def test_without_consent_only_anonymously(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(172)
    await onboard(member, lang="ru", org="almaty", consent=False)
    notice = russian(ctx, anonymous_only)
    await member.send("/feedback")
    await member.press("fb:kind:complaint")
    assert notice in member.last_text()  # told before typing a word
    await member.send(LETTER)
    assert notice in member.last_text()
    assert [d for _, d in buttons(member.last_message())] == ["fb:send:anonymous", "fb:cancel:"]

    sent = await member.press("fb:send:signed")  # made up, or from an older screen
    assert not any(isinstance(r, AnswerCallbackQuery) and r.show_alert for r in sent)
    assert notice in texts(sent)  # the screen is drawn again, anonymous only
    assert await count(ctx, Feedback) == 0

    await member.press("fb:send:anonymous")
    (letter,) = await letters(ctx)
    assert (letter.member_id, letter.anonymous, letter.text) == (None, True, LETTER)
    assert letter.member_org == "almaty"  # a region of tens of thousands: not a person


async def test_the_service_refuses_a_signed_letter_without_consent(ctx: Context) -> None:
    async with ctx.session_factory() as session:
        member = MemberView.of(
            await save_onboarding(
                session,
                173,
                language="ru",
                member_org="almaty",
                workplace_type=WorkplaceType.SCHOOL,
                consent=False,
            )
        )
        await session.commit()
        with pytest.raises(MailboxError) as refused:
            await send_to_mailbox(
                session, member, kind=FeedbackKind.THANKS, text=LETTER, anonymous=False
            )
        assert refused.value.code == "consent"
        await session.commit()
    assert await count(ctx, Feedback) == 0

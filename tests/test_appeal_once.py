"""Sending an appeal is idempotent: a Send repeated after an error, a double tap or an
update delivered twice never makes a second appeal (the draft's token is unique)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiogram.fsm.storage.base import BaseStorage
from sqlalchemy import func, select

from bot.context import Context
from bot.storage.models import Appeal
from tests.driver import Person, texts
from tests.test_member_flow import onboard

pytestmark = pytest.mark.asyncio


async def appeals(ctx: Context) -> list[Appeal]:
    async with ctx.session_factory() as session:
        return list(await session.scalars(select(Appeal).order_by(Appeal.id)))


async def ready_to_send(member: Person) -> None:
    await onboard(member, lang="ru")
    await member.send("/ask")
    await member.press("topic:pay")
    await member.send("Не платят за классное руководство.")
    await member.press("draft:files_done")


async def test_send_again_after_the_conversation_failed_to_save_makes_no_second_appeal(
    person: Callable[..., Person], ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = person(900)
    await ready_to_send(member)
    storage = member.dp.storage
    real = type(storage).set_state
    failures = [RuntimeError("the FSM storage is away")]

    async def failing_once(self: BaseStorage, key: Any, state: Any = None) -> None:
        if state is None and failures:  # the draft's end, right after the appeal committed
            raise failures.pop()
        await real(self, key, state)

    monkeypatch.setattr(type(storage), "set_state", failing_once)
    confirm = member.message_with("Проверьте")
    sent = await member.press("draft:send", confirm)
    assert "Извините" in texts(sent)  # the error handler's apology; the draft is still there
    assert len(await appeals(ctx)) == 1
    sent = await member.press("draft:send", confirm)  # the member tries again
    made = await appeals(ctx)
    assert len(made) == 1
    assert f"№ {made[0].id}" in texts(sent)  # the same number, now confirmed


async def test_a_double_tap_on_send_makes_one_appeal(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(901)
    await ready_to_send(member)
    confirm = member.message_with("Проверьте")
    await member.press("draft:send", confirm)
    sent = await member.press("draft:send", confirm)
    assert len(await appeals(ctx)) == 1
    assert not [r for r in sent if "принято" in str(getattr(r, "text", ""))]


async def test_the_token_is_unique_in_the_database(ctx: Context) -> None:
    from sqlalchemy.exc import IntegrityError

    from bot.services.appeals import Draft, create_appeal
    from bot.services.members import MemberView, save_onboarding
    from bot.storage.models import AppealSource, WorkplaceType

    async with ctx.session_factory() as session:
        row = await save_onboarding(
            session,
            902,
            language="kk",
            member_org="karaganda",
            workplace_type=WorkplaceType.SCHOOL,
            consent=True,
        )
        await session.commit()
        member = MemberView.of(row)
        draft = Draft(topic="pay", text="x", source=AppealSource.DIRECT, token="t" * 32)
        first = await create_appeal(session, member, draft, full_name=None, username=None)
        await session.commit()
        again = await create_appeal(session, member, draft, full_name=None, username=None)
        assert again.id == first.id
        session.add(
            Appeal(
                member_id=member.id,
                member_org="karaganda",
                topic="pay",
                text="y",
                source=AppealSource.DIRECT,
                draft_token="t" * 32,
            )
        )
        with pytest.raises(IntegrityError):
            await session.commit()
        await session.rollback()
    async with ctx.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Appeal)) == 1

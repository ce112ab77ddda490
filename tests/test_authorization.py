"""Every staff command and button × every role: only the roles it is meant for get through."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.context import Context
from bot.services.staff import StaffView
from bot.storage.models import Appeal, Member, Staff, StaffInvite, StaffRole, utcnow
from tests.conftest import ADMIN_ID
from tests.driver import Person, buttons, texts
from tests.test_member_flow import onboard, send_appeal

ROLES = ["member", "lawyer", "head-lawyer", "press", "admin"]
DESK = {"lawyer", "head-lawyer"}
ADMIN = {"admin"}
PRESS = {"press", "admin"}
REPORT = {"lawyer", "head-lawyer", "admin"}
EVERYONE = set(ROLES)  # every role here is also a registered member
NOBODY: set[str] = set()

COMMANDS = {
    "/queue": DESK,
    "/mine": DESK,
    "/invite press": ADMIN,
    "/invites": ADMIN,
    "/links": {"head-lawyer", "admin"},
    "/staff": ADMIN,
    "/inbox": ADMIN,
    "/stats": REPORT,
    "/post": PRESS,
    "/posts": PRESS,
    "/approval": ADMIN,
    "/mydata": EVERYONE,
    "/forget": EVERYONE,
    "/join": EVERYONE,  # without a code: how to use it
}
# Buttons that only work inside a dialogue (oc:t, oc:save, draft:…) answer "outdated" to
# everyone outside it: that is state, not role, and is tested with the dialogues.
BUTTONS = {
    "desk:card:{appeal}:": DESK,
    "desk:take:{appeal}:": DESK,
    "desk:queue:0:": DESK,
    "desk:topics:0:": DESK,
    "desk:reply:{appeal}:": DESK,
    "desk:note:{appeal}:": DESK,
    "desk:release:{appeal}:": DESK,
    "oc:open:{appeal}:": DESK,
    "hand:menu:{appeal}:0:": DESK,
    "hand:regions:{appeal}:0:": DESK,
    "st:pick:{staff}:": ADMIN,
    "inbox:0": ADMIN,
    # The region picker's toggles and save work only after an admin opened it for that
    # person (its choice is in their FSM data): pressed first, they do nothing for anyone.
    "reg:org:{staff}:karaganda": NOBODY,
    "reg:save:{staff}:": NOBODY,
    "st:list:0:": ADMIN,
    "reg:open:{staff}:": ADMIN,
    "inv:revoke:{invite}": ADMIN,
    "st:role:{staff}:lawyer": ADMIN,
    "st:revoke:{staff}:": ADMIN,
    "stats:period:c20250301-20250331:": REPORT,
    "post:list:0:": PRESS,
    # /forget's buttons carry the token of the person's latest /forget: a made-up or old
    # one does nothing, whoever presses it (the real flow by role: test_forget_by_role).
    "forget:yes:0123456789abcdef": NOBODY,
    "forget:no:0123456789abcdef": NOBODY,
    # The same for /join's question to staff: the token of the person's latest /join.
    "join:yes:0123456789abcdef": NOBODY,
    "join:no:0123456789abcdef": NOBODY,
}


async def setup_people(
    person: Callable[..., Person], ctx: Context
) -> tuple[dict[str, Person], int, int]:
    member = person(800)
    await onboard(member, lang="ru", org="karaganda")
    await send_appeal(member, "pay", "Матрица прав.")
    people: dict[str, Person] = {"member": member, "admin": person(ADMIN_ID)}
    async with ctx.session_factory() as session:
        for i, role in enumerate(("lawyer", "head-lawyer", "press")):
            session.add(
                Staff(
                    telegram_id=810 + i,
                    role=StaffRole(role),
                    member_orgs=["karaganda"] if role == "lawyer" else [],
                )
            )
            people[role] = person(810 + i)
        await session.commit()
        ctx.staff_directory.invalidate()
        appeal_id = int(await session.scalar(select(Appeal.id)) or 0)
        staff_id = int(await session.scalar(select(Staff.id).where(Staff.telegram_id == 812)) or 0)
        session.add(
            StaffInvite(
                code_hash="0" * 64,
                role=StaffRole.PRESS,
                member_orgs=[],
                created_by=ADMIN_ID,
                expires_at=utcnow() + timedelta(days=1),
            )
        )
        await session.commit()
    for role in ("lawyer", "head-lawyer", "press", "admin"):
        await onboard(people[role], lang="ru", org="karaganda")
    return people, appeal_id, staff_id


FALLBACK_COMMAND = "Неизвестная команда"
OUTDATED = "устарел"


@pytest.mark.parametrize("role", ROLES)
async def test_commands_by_role(person: Callable[..., Person], ctx: Context, role: str) -> None:
    people, _, _ = await setup_people(person, ctx)
    for command, allowed in COMMANDS.items():
        sent = await people[role].send(command)
        reached = FALLBACK_COMMAND not in texts(sent)
        assert reached == (role in allowed), (role, command, texts(sent))


@pytest.mark.parametrize("role", ROLES)
async def test_buttons_by_role(person: Callable[..., Person], ctx: Context, role: str) -> None:
    people, appeal_id, staff_id = await setup_people(person, ctx)
    async with ctx.session_factory() as session:
        invite_id = int(await session.scalar(select(StaffInvite.id)) or 0)
    for template, allowed in BUTTONS.items():
        data = template.format(appeal=appeal_id, staff=staff_id, invite=invite_id)
        sent = await people[role].press(data)
        answers = [r for r in sent if r.__api_method__ == "answerCallbackQuery"]
        assert len(answers) == 1, (role, data)  # every callback is answered, exactly once
        refused = OUTDATED in str(getattr(answers[0], "text", "") or "")
        assert refused == (role not in allowed), (role, data, texts(sent))


@pytest.mark.parametrize("role", ROLES)
async def test_forget_by_role(person: Callable[..., Person], ctx: Context, role: str) -> None:
    """Everyone may erase their own member data; staff keep their role."""
    people, _, _ = await setup_people(person, ctx)
    someone = people[role]
    for action in ("no", "yes"):
        await someone.send("/forget")
        data = next(
            d for _, d in buttons(someone.last_message()) if d.startswith(f"forget:{action}:")
        )
        sent = await someone.press(data)
        answers = [r for r in sent if r.__api_method__ == "answerCallbackQuery"]
        assert len(answers) == 1 and not getattr(answers[0], "show_alert", False), (role, data)
        async with ctx.session_factory() as session:
            row = await session.scalar(select(Member).where(Member.telegram_id == someone.user.id))
        assert (row is None) == (action == "yes"), (role, action)
    for command, allowed in COMMANDS.items():
        if role in allowed and role != "member" and command not in ("/mydata", "/forget"):
            sent = await someone.send(command)
            assert FALLBACK_COMMAND not in texts(sent), (role, command)


def test_staff_view_scope() -> None:
    lawyer = StaffView(1, 1, StaffRole.LAWYER, ("abai",))
    head = StaffView(2, 2, StaffRole.HEAD_LAWYER, ())
    press = StaffView(3, 3, StaffRole.PRESS, ("abai",))
    admin = StaffView(4, 4, StaffRole.ADMIN, ())
    assert lawyer.covers("abai") and not lawyer.covers("atyrau")
    assert head.covers("abai") and head.covers("atyrau")
    assert not press.covers("abai") and not admin.covers("abai")

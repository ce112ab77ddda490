"""Every staff command and button × every role: only the roles it is meant for get through."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.app import Context
from bot.services.staff import StaffView
from bot.storage.models import Appeal, Staff, StaffRole
from tests.conftest import ADMIN_ID
from tests.driver import Person, texts
from tests.test_member_flow import onboard, send_appeal

ROLES = ["member", "lawyer", "head-lawyer", "press", "admin"]
DESK = {"lawyer", "head-lawyer"}
ADMIN = {"admin"}
PRESS = {"press", "admin"}
REPORT = {"lawyer", "head-lawyer", "admin"}

COMMANDS = {
    "/queue": DESK,
    "/mine": DESK,
    "/invite press": ADMIN,
    "/staff": ADMIN,
    "/inbox": ADMIN,
    "/stats": REPORT,
    "/post": PRESS,
    "/posts": PRESS,
    "/approval": ADMIN,
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
    "st:role:{staff}:lawyer": ADMIN,
    "st:revoke:{staff}:": ADMIN,
    "stats:period:c20250301-20250331:": REPORT,
    "post:list:0:": PRESS,
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
    for template, allowed in BUTTONS.items():
        data = template.format(appeal=appeal_id, staff=staff_id)
        sent = await people[role].press(data)
        answers = [r for r in sent if r.__api_method__ == "answerCallbackQuery"]
        assert len(answers) == 1, (role, data)  # every callback is answered, exactly once
        refused = OUTDATED in str(getattr(answers[0], "text", "") or "")
        assert refused == (role not in allowed), (role, data, texts(sent))


def test_staff_view_scope() -> None:
    lawyer = StaffView(1, 1, StaffRole.LAWYER, ("abai",))
    head = StaffView(2, 2, StaffRole.HEAD_LAWYER, ())
    press = StaffView(3, 3, StaffRole.PRESS, ("abai",))
    admin = StaffView(4, 4, StaffRole.ADMIN, ())
    assert lawyer.covers("abai") and not lawyer.covers("atyrau")
    assert head.covers("abai") and head.covers("atyrau")
    assert not press.covers("abai") and not admin.covers("abai")

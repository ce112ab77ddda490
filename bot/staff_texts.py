"""Names of staff roles as people read them."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.storage.models import StaffRole

ROLE_TITLES = {
    StaffRole.ADMIN: N_("admin"),
    StaffRole.HEAD_LAWYER: N_("head lawyer (all regions)"),
    StaffRole.LAWYER: N_("lawyer"),
    StaffRole.PRESS: N_("press secretary"),
}


def role_title(role: StaffRole) -> str:
    return _(ROLE_TITLES[role])

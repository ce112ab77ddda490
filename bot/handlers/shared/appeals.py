"""An appeal's status as members and lawyers read it."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.storage.models import AppealStatus

STATUS_LABELS = {
    AppealStatus.QUEUED: N_("🕓 in the queue"),
    AppealStatus.CLAIMED: N_("👩‍⚖️ a lawyer is working on it"),
    AppealStatus.ANSWERED: N_("💬 answered"),
    AppealStatus.CLOSED: N_("✅ closed"),
    AppealStatus.REOPENED: N_("🔁 reopened"),
}


def status_label(status: AppealStatus) -> str:
    return _(STATUS_LABELS[status])

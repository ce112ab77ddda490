"""The press secretary: /post composes a post step by step, /posts manages them, and
admins approve posts (/approval on|off). The rules live in bot/broadcast/ (composition.py,
lifecycle.py); these routers translate.

- compose.py: the steps of composing (one table, `STEPS`) and the preview they end with;
- confirm.py: the preview's buttons and the confirmation;
- card.py: /posts, a post's card, pause, resume, cancel;
- approval.py: /approval, the admins asked, approve and return to drafts;
- texts.py, keyboards.py: what the screens say and their buttons;
- context.py: `PressContext`, what every handler works with, made once per update.

Only the press secretary and admins get through `router`, the parent of the four.
"""

from __future__ import annotations

from aiogram import Router

from bot.filters import HasRole
from bot.handlers.press import approval, card, compose, confirm
from bot.handlers.press.context import WithPressContext
from bot.storage.models import StaffRole

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.PRESS, StaffRole.ADMIN))
router.callback_query.filter(HasRole(StaffRole.PRESS, StaffRole.ADMIN))
# Inner: made only for an update one of the press handlers takes, after its filters.
router.message.middleware(WithPressContext())
router.callback_query.middleware(WithPressContext())
# In the order of the handlers of the one module they were: the first that matches answers.
router.include_routers(compose.router, confirm.router, card.router, approval.router)
